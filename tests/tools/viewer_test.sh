#!/usr/bin/env bash
# Renders a topology dump with the viewer in headless Chromium and checks that its nodes are
# on the page.  usage: viewer_test.sh <troupe-viewer.html> <dump.json>
# Exit 77 (skipped, with the reason) when Chromium or python3 is not installed.
set -euo pipefail
viewer="$1"
dump="$2"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "chromium is not installed: skipped"
  exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 is not installed: skipped"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
page="$work/view.html"
# The dump goes in as a script, so the page needs no file or network access.
python3 - "$viewer" "$dump" "$page" <<'PY'
import sys
viewer, dump, page = sys.argv[1:4]
html = open(viewer).read()
data = open(dump).read()
html = html.replace("<!-- TROUPE_DUMP -->", "<script>window.TROUPE_DUMP = " + data + ";</script>")
open(page, "w").write(html)
PY
dom="$work/dom.html"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --user-data-dir="$work/profile" --dump-dom "file://$page" > "$dom" 2> "$work/stderr" || {
  cat "$work/stderr" >&2
  exit 1
}
fail=0
for needle in 'data-node="root"' 'data-node="metrics"' 'data-node="pipeline"' \
              'data-node="parser"' 'data-node="writer"' 'id="runtime"' 'restarts 1' 'restarts 2'; do
  if ! grep -q -- "$needle" "$dom"; then
    echo "missing in the rendered page: $needle" >&2
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "viewer rendered the dump"
exit $fail
