#!/usr/bin/env bash
# The examples check their arguments strictly (examples/command_line.hpp): each bad argument is
# named on stderr with exit code 2; --help prints the example's arguments and the runtime's
# options on stdout with exit code 0.
#   usage: check_arguments.sh <service_demo> <remote_server>
set -uo pipefail
demo="$1"
server="$2"
fail=0
expect_rejected() { # <needle> <program> <args...>
  local needle="$1"; shift
  local err rc
  err="$("$@" 2>&1 >/dev/null)"; rc=$?
  if [ $rc -ne 2 ] || ! grep -qF -- "$needle" <<<"$err"; then
    echo "FAIL: $* -> rc $rc, stderr: $err (wanted rc 2 and: $needle)"
    fail=1
  fi
}
expect_rejected "run-for='abc' is not a whole number" "$demo" run-for=abc
expect_rejected "run-for='-5' is not a whole number" "$demo" run-for=-5
expect_rejected "unknown argument 'runfor=5'" "$demo" runfor=5
expect_rejected "did you mean --workers?" "$demo" --wrokers=2
expect_rejected "port='99999' is not a whole number in 0..65535" "$server" port=99999
out="$("$demo" --help 2>/dev/null)"; rc=$?
for needle in "run-for=MS" "topology-out=PATH" "--workers=N" "TROUPE_ADMIN_PORT"; do
  if [ $rc -ne 0 ] || ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: service_demo --help -> rc $rc, missing: $needle"
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "every bad argument was named, --help printed the usage"
exit $fail
