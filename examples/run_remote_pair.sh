#!/usr/bin/env bash
# Runs the two-process example: the server on a free port, the client against it, then stops
# the server with SIGTERM. Exits with the client's status (and fails if the server did).
set -euo pipefail
server="$1"
client="$2"
out="$(mktemp)"
trap 'rm -f "$out"; kill "$pid" 2>/dev/null || true' EXIT
"$server" --workers=2 port=0 >"$out" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$out" && break
  sleep 0.1
done
port="$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")"
[ -n "$port" ] || { echo "the server did not start"; cat "$out"; exit 1; }
"$client" --workers=2 port="$port"
kill -TERM "$pid"
wait "$pid"
