#!/usr/bin/env python3
"""Validates a topology dump against docs/topology.schema.json.

usage: validate_topology.py <schema> <dump.json> [--no-tree-required]
Exit 0: valid; 1: invalid (the errors are printed); 77: python3-jsonschema is missing.
"""
import json
import sys

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed: skipped")
    sys.exit(77)

schema_path, dump_path = sys.argv[1], sys.argv[2]
with open(schema_path) as f:
    schema = json.load(f)
with open(dump_path) as f:
    dump = json.load(f)
validator = jsonschema.Draft202012Validator(schema)
errors = sorted(validator.iter_errors(dump), key=lambda e: list(e.path))
for e in errors:
    print("/".join(str(p) for p in e.path), ":", e.message)
# A dump without a tree would check little of the schema, unless the caller checks other parts.
if not dump["supervision"] and "--no-tree-required" not in sys.argv:
    print("the dump has no supervision tree")
    sys.exit(1)
sys.exit(1 if errors else 0)
