#!/usr/bin/env bash
# Runs validate_topology.py, or reports the check skipped (exit 77, with the reason) when python3
# is not installed: a bare machine runs ./troupe.sh test without Python.
#   usage: validate_topology.sh <schema> <dump.json> [--no-tree-required]
if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 is not installed: skipped"
  exit 77
fi
exec python3 "$(dirname "${BASH_SOURCE[0]}")/validate_topology.py" "$@"
