#!/usr/bin/env bash
# Troupe's one entry point for a fresh Debian 12 machine (run as root, or with sudo at hand):
#
#   ./troupe.sh demo     install dependencies, build, run the main demo
#   ./troupe.sh test     install dependencies, build, run the whole test suite
#   ./troupe.sh bench    install dependencies, build in Release, run the benchmark suite
#
# Extra arguments after `demo` go to the demo (e.g. ./troupe.sh demo run-for=20000 --admin-port=9100).
# BUILD_DIR (default: build) and JOBS (default: 2) can be set in the environment, and
# TROUPE_CMAKE_ARGS adds configure options (CI passes -DTROUPE_WERROR=ON).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build_dir="${BUILD_DIR:-$root/build}"
jobs="${JOBS:-2}"
packages=(cmake make g++ libcaf-dev libssl-dev nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libbenchmark-dev)

install_dependencies() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "troupe: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# configure_and_build <build type> [target...]: no target builds everything.
configure_and_build() {
  local build_type="$1"; shift
  local extra=()
  read -r -a extra <<< "${TROUPE_CMAKE_ARGS:-}"
  # RelWithDebInfo with line tables only (-g1): backtraces, perf and gdb's `bt` keep files and
  # lines, and the tree builds in about three quarters of the time that full -g takes.
  local flags=()
  [ "$build_type" = RelWithDebInfo ] && flags+=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" "${flags[@]}" "${extra[@]}" >/dev/null
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  demo)
    install_dependencies
    # Only the demo and the libraries it links: a first run builds no test or benchmark.
    configure_and_build RelWithDebInfo service_demo
    # The flagship service demo; its topology dump is written next to the build.
    cd "$build_dir"
    exec "$build_dir/examples/service_demo" "$@"
    ;;
  test)
    install_dependencies
    configure_and_build RelWithDebInfo
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@"
    ;;
  bench)
    install_dependencies
    configure_and_build Release
    exec "$root/bench/run.sh" "$build_dir" "$@"
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
