#!/usr/bin/env bash
# Installs vegeta, the open-loop HTTP load generator the CPU-budget bench drives the stack with, into
# a cache folder outside the repo ($CRM_LAB_CACHE/vegeta-<version>), idempotently, from the Go module
# proxy. Only the benches that need it call this: never `up`, the tests or CI. Prints the binary's path.
set -euo pipefail
exec bash "$(dirname "$0")/../../infra/go-tool.sh" vegeta github.com/tsenart/vegeta/v12 v12.12.0
