#!/usr/bin/env bash
# Runs scenario 5 (the partition leader crashes) N times in a row, each run with a fresh 3-broker
# cluster, prints each run's summary line and a final tally:
#   runs=N lost_runs=… producer_duplicate_runs=… failed_runs=…
# lost_runs: runs where an acked event was missing; producer_duplicate_runs: runs where the producer
# stored an event more often than its client sent it (dup_server > 0); failed_runs: runs whose test
# failed or printed no summary line. Exits non-zero if any of the three is not 0.
#
# Usage: bash labs/03-failure/failover-loop.sh [N]        (default 20)
#        LAB03_FAILOVER_IDEMPOTENT=true|false bash labs/03-failure/failover-loop.sh 5
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
runs="${1:-20}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [runs]   (a positive number, default 20; got '$runs')" >&2
  exit 2
fi
npx tsc --noEmit || exit 1
log_dir="$(mktemp -d)"
lost_runs=0 producer_duplicate_runs=0 failed_runs=0
for i in $(seq 1 "$runs"); do
  log="$log_dir/run-$i.log"
  npx vitest run --config labs/03-failure/failover-loop.vitest.config.ts >"$log" 2>&1
  status=$?
  # The summary line, without vitest's colour codes.
  line="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o '\[broker-failover\] sent=.*' | tail -1)"
  if [[ -z "$line" ]]; then
    echo "run $i/$runs: no summary line (exit $status); log: $log"
    failed_runs=$((failed_runs + 1))
    continue
  fi
  echo "run $i/$runs: $line"
  lost="$(grep -o ' lost=[0-9]*' <<<"$line" | cut -d= -f2)"
  dup_server="$(grep -o ' dup_server=[0-9]*' <<<"$line" | cut -d= -f2)"
  [[ "${lost:-1}" != 0 ]] && lost_runs=$((lost_runs + 1))
  [[ "${dup_server:-1}" != 0 ]] && producer_duplicate_runs=$((producer_duplicate_runs + 1))
  if [[ $status -ne 0 ]]; then
    echo "run $i/$runs: the test failed (exit $status); log: $log"
    failed_runs=$((failed_runs + 1))
  fi
done
echo "runs=$runs lost_runs=$lost_runs producer_duplicate_runs=$producer_duplicate_runs failed_runs=$failed_runs (logs: $log_dir)"
[[ $lost_runs -eq 0 && $producer_duplicate_runs -eq 0 && $failed_runs -eq 0 ]]
