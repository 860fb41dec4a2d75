#!/usr/bin/env bash
# Runs every test against real Kafka, nginx and Toxiproxy (installed first if missing).
# Usage: bash infra/test.sh [vitest args...]   e.g. bash infra/test.sh labs/01-ingest
# LAB_RUNTIME=containers runs the components as containers (docs/containers.md); their images are built first.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
bash infra/install.sh --for test
containers=0; [ "${LAB_RUNTIME:-native}" = containers ] && containers=1
# The containers the container runtime starts carry these labels (infra/runtime/containers/images.ts);
# the run id keeps another test run on the same engine (its containers are not this run's) out of the check.
export CRM_LAB_RUN_ID="${CRM_LAB_RUN_ID:-$(date +%s)-$$}"
owned() { docker ps -aq --no-trunc --filter label=crm-event-lab.runtime --filter "label=crm-event-lab.run=$CRM_LAB_RUN_ID" | sort; }
if [ "$containers" = 1 ]; then bash infra/images/build.sh; before="$(owned)"; fi
npx tsc --noEmit
report="$(mktemp -d)/vitest.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# Every test process has exited: a container of this run still there is a leak, whatever the tests said.
if [ "$containers" = 1 ]; then
  left="$(comm -13 <(printf '%s\n' "$before") <(owned) | grep . || true)"
  if [ -n "$left" ]; then
    echo "[runtime] $(echo "$left" | wc -l) container(s) labelled crm-event-lab.runtime left behind by this run (removed now):" >&2
    # shellcheck disable=SC2086
    docker inspect -f '  {{.Name}} {{.Config.Image}} {{.State.Status}}' $left >&2
    # shellcheck disable=SC2086
    docker rm -f $left >/dev/null
    status=1
  fi
fi
# One plain closing line that any CI log reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$report" || status=1
exit "$status"
