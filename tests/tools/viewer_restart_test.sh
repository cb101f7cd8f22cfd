#!/usr/bin/env bash
# Runs viewer_restart_test.py, or reports it skipped (exit 77, with the reason) when Chromium,
# Python or its websocket module (Debian: python3-websocket) is missing: a bare machine runs
# ./troupe.sh test without them.
#   usage: viewer_restart_test.sh <viewer_probe> <screenshot.png>
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "chromium is not installed: skipped"
  exit 77
fi
python=""
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import websocket' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "python3 with the websocket module (python3-websocket) is not installed: skipped"
  exit 77
fi
exec "$python" "$(dirname "${BASH_SOURCE[0]}")/viewer_restart_test.py" "$1" "$browser" "$2"
