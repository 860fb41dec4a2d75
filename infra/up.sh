#!/usr/bin/env bash
# The one command that brings the whole system up: installs what is missing, then starts
# Kafka, Toxiproxy, the schema registry, 3 API replicas, workers and nginx as local processes (see infra/up.ts).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bash infra/install.sh --for up
exec npx tsx infra/up.ts
