#!/usr/bin/env bash
# Runs every workload with Troupe and with raw CAF, one process at a time, and prints the JSON
# lines followed by a table of both rates and the troupe/CAF ratio.
#
#   bench/run.sh <build-dir> [workload...]      (SCALE=0.1 for a quick run)
#
# REPEAT=N (default 3) runs each workload N times, alternating the systems; the table shows
# medians. The JSON lines are also written to <build-dir>/bench-results.jsonl.
set -euo pipefail
build="${1:?usage: bench/run.sh <build-dir> [workload...]}"
shift || true
workloads=("$@")
if [ ${#workloads[@]} -eq 0 ]; then
  workloads=(ping_pong ping_pong_coro fan_in spawn actor_churn request_response request_response_coro request_response_timed remote_request_response fan_out_gather fan_out_gather_coro broadcast supervisor_restart worker_pool worker_pool_posted worker_pool_skew introspection events topology_dump idle_cpu)
fi
out="$build/bench-results.jsonl"
: > "$out"
repeat="${REPEAT:-3}"
for w in "${workloads[@]}"; do
  for ((round = 0; round < repeat; ++round)); do
  for system in troupe caf; do
    bin="$build/bench/${system}_benchmarks"
    # A workload Troupe does not implement yet is reported by its absence from the table.
    if "$bin" "$w" >> "$out" 2> "$build/bench-$system-$w.err"; then :; else
      rc=$?
      if [ $rc -ne 2 ]; then
        echo "benchmark $system/$w failed (exit $rc):" >&2
        cat "$build/bench-$system-$w.err" >&2
        exit $rc
      fi
    fi
  done
  done
done
cat "$out"
echo
"$build/bench/report_table" < "$out"
