#!/usr/bin/env bash
# The live view: starts the service demo with its admin endpoint, loads GET / (the viewer) in
# headless Chromium and checks that the page fetched /topology and drew the running tree, with
# the restarts of the workers the demo crashes on purpose.
# usage: live_viewer_test.sh <service_demo>
# Exit 77 (skipped, with the reason) when Chromium is not installed.
set -euo pipefail
demo="$1"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "chromium is not installed: skipped"
  exit 77
fi
work="$(mktemp -d)"
"$demo" run-for=110000 topology-out="$work/topology.json" --admin-port=0 > "$work/demo.out" 2>&1 &
demo_pid=$!
# The demo may have ended already (its run-for elapsed while a slow browser started): under
# set -e a failing kill or wait in the trap would turn a passing check into a failure.
trap 'kill -TERM $demo_pid 2>/dev/null || true; wait $demo_pid 2>/dev/null || true; rm -rf "$work"' EXIT
# The demo prints its endpoint once it listens; the loop only bounds a broken demo.
port=""
for _ in $(seq 1 300); do
  port="$(grep -o 'http://127.0.0.1:[0-9]*/topology' "$work/demo.out" | head -1 | sed 's/.*:\([0-9]*\)\/.*/\1/' || true)"
  [ -n "$port" ] && break
  kill -0 $demo_pid 2>/dev/null || { cat "$work/demo.out" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "the demo printed no endpoint" >&2; cat "$work/demo.out" >&2; exit 1; }
# Virtual time: the page's first fetch and two refreshes run before the DOM is dumped.
dom="$work/dom.html"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --user-data-dir="$work/profile" --virtual-time-budget=2500 --dump-dom \
  "http://127.0.0.1:$port/" > "$dom" 2> "$work/stderr" || {
  cat "$work/stderr" >&2
  exit 1
}
fail=0
for needle in 'id="runtime"' 'data-node="service"' 'data-node="workers"' 'live · updated'; do
  if ! grep -q -- "$needle" "$dom"; then
    echo "missing in the live page: $needle" >&2
    fail=1
  fi
done
if ! grep -Eq 'restarts [1-9]' "$dom"; then
  echo "the live page shows no worker restart" >&2
  fail=1
fi
[ $fail -eq 0 ] && echo "the live viewer drew the running service" || head -c 3000 "$dom" >&2
exit $fail
