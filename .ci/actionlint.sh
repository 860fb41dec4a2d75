#!/usr/bin/env bash
# Lints the GitHub Actions workflow (.github/workflows/) with actionlint, installed on first use into
# $CRM_LAB_CACHE/actionlint-<version> from the Go module proxy. .ci/run calls it first; exits non-zero
# on any finding. (actionlint also runs shellcheck over `run:` blocks when shellcheck is on PATH.)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(bash "$repo/infra/go-tool.sh" actionlint github.com/rhysd/actionlint/cmd/actionlint v1.7.12)"
cd "$repo"
"$bin" -no-color "$@"
echo "[actionlint] $(ls .github/workflows/*.yml | wc -l) workflow(s): no findings"
