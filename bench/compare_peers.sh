#!/usr/bin/env bash
# Runs the public workloads with Troupe, raw CAF and the peer harnesses (Tokio, Erlang/OTP) on
# this machine, one process at a time, and prints one table: each system's median rate, Troupe /
# raw CAF and Troupe / best peer.
#
#   bench/compare_peers.sh <build-dir> <peers-dir> [workload...]
#
# <build-dir> is a Release build (bench/run.sh's); <peers-dir> holds the harnesses (tokio/ and
# erlang/, each with its run.sh). The peers are copied into <build-dir>/peers first, because
# their run.sh build inside their own directory. A peer whose toolchain is missing is left out of
# the table (its run.sh says why on stderr). REPEAT=N (default 3) runs of each; SCALE as for
# bench/run.sh. All the JSON lines go to <build-dir>/compare-results.jsonl.
set -euo pipefail
build="${1:?usage: bench/compare_peers.sh <build-dir> <peers-dir> [workload...]}"
peers="${2:?usage: bench/compare_peers.sh <build-dir> <peers-dir> [workload...]}"
shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workloads=("$@")
if [ ${#workloads[@]} -eq 0 ]; then
  # The workloads of the public benchmark specification: the ones every peer implements.
  workloads=(ping_pong fan_in spawn request_response fan_out_gather broadcast supervisor_restart
             worker_pool actor_churn)
fi
repeat="${REPEAT:-3}"
out="$build/compare-results.jsonl"
# Troupe's own variants of a public workload, run in the same rounds and compared with the
# peers' rows of that workload (their lines name it in "peer_bench", see report_table).
declare -A troupe_variants=([worker_pool]="worker_pool_posted")

# The peers' sources are copied in first; a peer whose run.sh is missing is left out.
mkdir -p "$build/peers"
peer_list=()
for peer in tokio erlang; do
  [ -x "$peers/$peer/run.sh" ] || { echo "no $peers/$peer/run.sh: $peer left out" >&2; continue; }
  rm -rf "$build/peers/$peer.src"
  cp -a "$peers/$peer" "$build/peers/$peer.src"
  # Keep an earlier build of the peer (its target/ or ebin/) when the sources did not change.
  if [ -d "$build/peers/$peer" ] && diff -rq -x target -x ebin "$build/peers/$peer.src" \
                                           "$build/peers/$peer" >/dev/null 2>&1; then
    rm -rf "$build/peers/$peer.src"
  else
    rm -rf "$build/peers/$peer"
    mv "$build/peers/$peer.src" "$build/peers/$peer"
  fi
  peer_list+=("$peer")
done

# Interleaved: each round runs one workload on every system back to back. A shared machine's
# speed can change threefold within minutes; runs of one system first and another's ten minutes
# later would compare the machine's moods, not the systems.
: > "$out"
for w in "${workloads[@]}"; do
  for ((round = 0; round < repeat; ++round)); do
    REPEAT=1 "$here/run.sh" "$build" "$w" >/dev/null
    cat "$build/bench-results.jsonl" >> "$out"
    for variant in ${troupe_variants[$w]:-}; do
      "$build/bench/troupe_benchmarks" "$variant" >> "$out"
    done
    for peer in "${peer_list[@]}"; do
      if ! "$build/peers/$peer/run.sh" "$w" >> "$out" 2> "$build/peers/$peer.err"; then
        echo "$peer: $w failed or could not run (see $build/peers/$peer.err)" >&2
        tail -n 5 "$build/peers/$peer.err" >&2
      fi
    done
  done
done

echo "machine: $(nproc) cores, $(uname -srm); $(g++ --version | head -n 1)"
grep -h -o '"rustc":"[^"]*"' "$out" | sort -u | head -n 1 || true
"$build/bench/report_table" < "$out"
