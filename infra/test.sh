#!/usr/bin/env bash
# Runs every test against real Kafka, nginx and Toxiproxy (installed first if missing).
# Usage: bash infra/test.sh [vitest args...]   e.g. bash infra/test.sh labs/01-ingest
# LAB_RUNTIME=containers runs the components as containers (docs/containers.md); their images are built first.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bash infra/install.sh --for test
if [ "${LAB_RUNTIME:-native}" = containers ]; then bash infra/images/build.sh; fi
npx tsc --noEmit
report="$(mktemp -d)/vitest.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line that any CI log reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$report" || status=1
exit "$status"
