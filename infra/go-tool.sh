#!/usr/bin/env bash
# Installs one Go command, idempotently, into a cache folder outside the repo
# ($CRM_LAB_CACHE/<name>-<version>/<name>) with `go install <package>@<version>` from the Go module
# proxy, niced; prints the binary's path on stdout (logs on stderr).
# Usage: bash infra/go-tool.sh <name> <package> <version>
#   e.g. bash infra/go-tool.sh vegeta github.com/tsenart/vegeta/v12 v12.12.0
set -euo pipefail
[ $# -eq 3 ] || { echo 'usage: bash infra/go-tool.sh <name> <package> <version>' >&2; exit 2; }
name=$1 package=$2 version=$3
cache="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}/$name-$version"
bin="$cache/$name"
if [ ! -x "$bin" ]; then
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { echo "[$name install] needs Go (go install from the module proxy)" >&2; exit 1; }
  echo "[$name install] go install $package@$version into $cache" >&2
  mkdir -p "$cache"
  GOBIN="$cache" nice -n 10 "$go" install "$package@$version" >&2
fi
echo "$bin"
