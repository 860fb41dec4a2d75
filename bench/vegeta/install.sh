#!/usr/bin/env bash
# Installs vegeta, the open-loop HTTP load generator the CPU-budget bench drives the stack with, into
# a cache folder outside the repo ($CRM_LAB_CACHE/vegeta-<version>), idempotently, from the Go module
# proxy. Only the benches that need it call this: never `up`, the tests or CI. Prints the binary's path.
set -euo pipefail
version=v12.12.0
cache="${CRM_LAB_CACHE:-$HOME/.cache/crm-event-lab}/vegeta-$version"
bin="$cache/vegeta"
if [ ! -x "$bin" ]; then
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { echo '[vegeta install] needs Go (go install from the module proxy)' >&2; exit 1; }
  echo "[vegeta install] go install github.com/tsenart/vegeta/v12@$version into $cache" >&2
  mkdir -p "$cache"
  GOBIN="$cache" nice -n 10 "$go" install "github.com/tsenart/vegeta/v12@$version" >&2
fi
echo "$bin"
