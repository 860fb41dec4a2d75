#!/usr/bin/env bash
# Lints the GitHub Actions workflow (.github/workflows/) with actionlint, installed on first use into
# $CRM_LAB_CACHE/actionlint-<version> from the Go module proxy. .ci/run calls it first; exits non-zero
# on any finding. (actionlint also runs shellcheck over `run:` blocks when shellcheck is on PATH.)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
version=v1.7.12
cache="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}/actionlint-$version"
bin="$cache/actionlint"
if [ ! -x "$bin" ]; then
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { echo '[actionlint] needs Go (go install from the module proxy)' >&2; exit 1; }
  echo "[actionlint] go install github.com/rhysd/actionlint/cmd/actionlint@$version into $cache" >&2
  mkdir -p "$cache"
  GOBIN="$cache" "$go" install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
fi
cd "$repo"
"$bin" -no-color "$@"
echo "[actionlint] $(ls .github/workflows/*.yml | wc -l) workflow(s): no findings"
