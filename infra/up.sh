#!/usr/bin/env bash
# The one command that brings the whole system up: installs what is missing, then starts
# Kafka, Toxiproxy, the schema registry, 3 API replicas, workers and nginx as local processes (see infra/up.ts);
# with --avro, the same stack writing and reading Avro (lab 05's replicas and workers);
# with --secure, lab 07's secured stack (labs/07-security/src/up-secure.ts).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bash infra/install.sh --for up
# `npm run up -- --secure`: lab 07's stack instead (TLS, write keys, Redis limits, SASL/ACLs, sealed PII).
if [ "${1:-}" = --secure ]; then exec npx tsx labs/07-security/src/up-secure.ts; fi
# `npm run up -- --avro`: lab 05's API replicas and workers (Avro through the registry) in place of labs 01 and 04's.
exec npx tsx infra/up.ts "$@"
