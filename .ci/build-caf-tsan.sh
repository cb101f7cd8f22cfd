#!/usr/bin/env bash
# Builds a ThreadSanitizer-instrumented libcaf_core (and libcaf_io) from Debian's own source
# package of the installed libcaf-dev, so that a TSan build can see CAF's internal
# synchronisation. Debian's prebuilt libcaf_core is not instrumented, so TSan reports false races
# on every message.
#
# Usage: .ci/build-caf-tsan.sh [PREFIX]      (default PREFIX: /opt/caf-tsan; run as root)
#   JOBS=N          parallel compile jobs (default 2)
#   CAF_TSAN_IO=0   build only libcaf_core (default 1: core and io; io adds ~1.5 min)
#   KEEP_BUILD=1    keep the temporary source/build directory
#
# Only the libraries go into PREFIX/lib: the headers stay those of /usr/include (libcaf-dev), and
# the build is configured like Debian's (CAF defaults, C++14, CMAKE_BUILD_TYPE=None) so that the
# library matches them. The script fails unless the generated caf/detail/build_config.hpp is
# identical to /usr/include's and the exported (non-weak) symbols equal those of Debian's library.
#
# Link against it with: -L PREFIX/lib -Wl,-rpath,PREFIX/lib -lcaf_core (headers from /usr/include),
# or in CMake: -DCAF_CORE_LIBRARY=PREFIX/lib/libcaf_core.so -DCAF_IO_LIBRARY=PREFIX/lib/libcaf_io.so
# plus an rpath to PREFIX/lib.
set -euo pipefail

prefix="${1:-/opt/caf-tsan}"
jobs="${JOBS:-2}"
with_io="${CAF_TSAN_IO:-1}"
stamp="$prefix/.caf-tsan.stamp"
cxxflags="-std=c++14 -O1 -g1 -fsanitize=thread -fno-omit-frame-pointer"
multiarch_libdir=/usr/lib/x86_64-linux-gnu

log() { printf '[build-caf-tsan] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

libs=(core)
[[ "$with_io" == 1 ]] && libs+=(io)

# -- tools and packages ---------------------------------------------------------------------------
apt_updated=0
apt_update() {
  if [[ $apt_updated == 0 ]]; then
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
}

# deb-src entries mirroring the configured deb entries, unless some deb-src entry already exists.
ensure_deb_src() {
  local list_d=/etc/apt/sources.list.d
  if grep -Eqs '^[[:space:]]*(Types:.*[[:space:]]deb-src([[:space:]]|$)|deb-src[[:space:]])' \
       /etc/apt/sources.list "$list_d"/*.list "$list_d"/*.sources; then
    return 0
  fi
  log "adding deb-src entries for the configured Debian repositories"
  local f
  for f in "$list_d"/*.sources; do
    [[ -e "$f" ]] || continue
    # Copy every deb822 stanza of Types: deb as Types: deb-src.
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         {
           n = split($0, lines, "\n"); out = ""; isdeb = 0
           for (i = 1; i <= n; i++) {
             line = lines[i]
             if (line ~ /^Types:[[:space:]]*/) {
               if (line ~ /[[:space:]]deb([[:space:]]|$)/) isdeb = 1
               line = "Types: deb-src"
             }
             out = out line "\n"
           }
           if (isdeb) { sub(/\n$/, "", out); print out }
         }' "$f"
  done | as_root tee "$list_d/debian-src.sources" >/dev/null
  if [[ ! -s "$list_d/debian-src.sources" ]]; then
    as_root rm -f "$list_d/debian-src.sources"
  fi
  if [[ -f /etc/apt/sources.list ]] && grep -Eq '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
    sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list \
      | as_root tee "$list_d/debian-src.list" >/dev/null
  fi
  apt_updated=0
  apt_update  # the new entries need their index
}

needed=(libcaf-dev dpkg-dev xz-utils cmake make g++ binutils)
missing=()
for p in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The source version must be exactly the one whose headers are installed.
installed_src() { dpkg-query -W -f='${source:Package} ${source:Version}' libcaf-dev 2>/dev/null; }
key_for() {
  printf 'source=%s\ncxxflags=%s\nlibs=%s\nformat=1\n' "$1" "$cxxflags" "${libs[*]}"
}

if [[ ${#missing[@]} -eq 0 ]]; then
  key="$(key_for "$(installed_src)")"
  if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$key" ]]; then
    ok=1
    for l in "${libs[@]}"; do [[ -e "$prefix/lib/libcaf_$l.so" ]] || ok=0; done
    if [[ $ok == 1 ]]; then
      log "up to date: $prefix ($(installed_src))"
      exit 0
    fi
  fi
fi

ensure_deb_src
if [[ ${#missing[@]} -gt 0 ]]; then
  apt_update
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

read -r src_pkg src_ver <<<"$(installed_src)"
[[ -n "${src_pkg:-}" && -n "${src_ver:-}" ]] || die "cannot determine libcaf-dev's source package"
key="$(key_for "$src_pkg $src_ver")"
log "source package: $src_pkg $src_ver"

if ! apt-cache showsrc "$src_pkg" 2>/dev/null | grep -qx "Version: $src_ver"; then
  apt_update
  apt-cache showsrc "$src_pkg" 2>/dev/null | grep -qx "Version: $src_ver" \
    || die "apt has no source for $src_pkg $src_ver (deb-src entries missing?)"
fi

# -- fetch and unpack -----------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/caf-tsan.XXXXXX")"
cleanup() { if [[ "${KEEP_BUILD:-0}" != 1 ]]; then rm -rf "$work"; else log "kept $work"; fi; }
trap cleanup EXIT
chmod 0755 "$work"
if id _apt >/dev/null 2>&1; then chown _apt "$work" 2>/dev/null || true; fi  # apt's sandbox

cd "$work"
src="$work/src"
log "apt-get source $src_pkg=$src_ver"
if apt-get source --download-only -qq "$src_pkg=$src_ver" >fetch.log 2>&1; then
  # The same unpacking that `apt-get source` does: orig tarball plus Debian's patches.
  dpkg-source -x ./*.dsc "$src" >unpack.log 2>&1 || { cat unpack.log >&2; die "dpkg-source -x failed"; }
  log "unpacked with Debian's patches applied"
else
  # Seen on this workplace's mirror: the .dsc and the .orig tarball download but the
  # .debian.tar.xz is 404. apt checked what it did fetch against the signed Sources index.
  # Fall back to the orig tarball; the header overlay below then supplies Debian's header patch
  # (an #include <limits> that GCC >= 11 needs) and -std=c++14 replaces the CMakeLists patch.
  cat fetch.log >&2
  orig=(./*.orig.tar.*)
  dsc=(./*.dsc)
  [[ -f "${orig[0]}" && -f "${dsc[0]}" ]] || die "apt-get source failed and fetched no orig tarball"
  want="$(awk '/^Checksums-Sha256:/ { f = 1; next } /^[^ ]/ { f = 0 }
               f && $3 ~ /\.orig\.tar\./ { print $1 }' "${dsc[0]}")"
  have="$(sha256sum "${orig[0]}" | cut -d' ' -f1)"
  [[ -n "$want" && "$want" == "$have" ]] || die "orig tarball checksum does not match the .dsc"
  log "WARNING: Debian's debian.tar.xz could not be fetched; building the verified orig tarball"
  mkdir "$src"
  tar -xf "${orig[0]}" -C "$src" --strip-components=1
fi

# Compile against exactly the headers the consumers use: any source header that differs from the
# installed one is replaced by it (with Debian's patches applied this should change nothing).
overlaid=0
for d in libcaf_core libcaf_io; do
  while IFS= read -r -d '' h; do
    rel="${h#"$src/$d/"}"
    inst="/usr/include/$rel"
    if [[ -f "$inst" ]] && ! cmp -s "$h" "$inst"; then
      cp "$inst" "$h"
      log "header taken from /usr/include: $rel"
      overlaid=$((overlaid + 1))
    fi
  done < <(find "$src/$d/caf" -name '*.hpp' -print0)
done
log "$overlaid header(s) replaced by the installed ones"

# -- configure and build --------------------------------------------------------------------------
build="$work/build"
io_flag=()
[[ "$with_io" == 1 ]] || io_flag=(-DCAF_NO_IO=ON)
start=$(date +%s)
# Debian (debhelper's cmake build) uses CMAKE_BUILD_TYPE=None and CAF's defaults for everything
# that goes into build_config.hpp (log level QUIET, memory management and exceptions on).
cmake -S "$src" -B "$build" \
  -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="$cxxflags" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DCAF_LOG_LEVEL=QUIET \
  -DCAF_NO_EXAMPLES=ON -DCAF_NO_UNIT_TESTS=ON -DCAF_NO_TOOLS=ON -DCAF_NO_PYTHON=ON \
  -DCAF_NO_OPENCL=ON -DCAF_NO_OPENSSL=ON -DCAF_NO_SUMMARY=ON \
  "${io_flag[@]}" >"$work/configure.log" 2>&1 \
  || { tail -40 "$work/configure.log" >&2; die "cmake configure failed"; }

cfg="$build/libcaf_core/caf/detail/build_config.hpp"
diff -u /usr/include/caf/detail/build_config.hpp "$cfg" >&2 \
  || die "generated build_config.hpp differs from /usr/include/caf/detail/build_config.hpp"
log "build_config.hpp identical to the installed one"

targets=()
for l in "${libs[@]}"; do targets+=("libcaf_${l}_shared"); done
log "building ${targets[*]} with -j$jobs"
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >"$work/build.log" 2>&1 \
  || { tail -60 "$work/build.log" >&2; die "build failed"; }
log "configure + build took $(( $(date +%s) - start )) s"

# -- check the ABI against Debian's library -------------------------------------------------------
strong_syms() { nm -D --defined-only "$1" | awk '$2 != "W" && $2 != "V" && $2 != "u" { print $2, $3 }' | sort -u; }
for l in "${libs[@]}"; do
  ours="$build/lib/libcaf_$l.so"
  theirs="$multiarch_libdir/libcaf_$l.so"
  [[ -f "$theirs" ]] || theirs="$(find /usr/lib -name "libcaf_$l.so" -print -quit)"
  if ! diff <(strong_syms "$theirs") <(strong_syms "$ours") >"$work/syms-$l.diff"; then
    head -40 "$work/syms-$l.diff" >&2
    die "exported symbols of libcaf_$l differ from Debian's $theirs"
  fi
  log "libcaf_$l: exported symbols identical to Debian's ($(strong_syms "$ours" | wc -l) non-weak)"
done

# -- smoke test: request/response under TSan must run without reports ----------------------------
cat >"$work/smoke.cpp" <<'EOF'
#include <caf/all.hpp>
using namespace caf;
using ping_atom = atom_constant<atom("ping")>;
void step(event_based_actor* self, actor pong, int i, int n, response_promise rp) {
  if (i == n) { rp.deliver(i); return; }
  self->request(pong, infinite, ping_atom::value, i).then([=](int r) { step(self, pong, r, n, rp); });
}
int main() {
  actor_system_config cfg;
  actor_system sys{cfg};
  auto pong = sys.spawn([]() -> behavior { return {[](ping_atom, int x) { return x + 1; }}; });
  auto ping = sys.spawn([pong](event_based_actor* self) -> behavior {
    return {[=](int n) { auto rp = self->make_response_promise(); step(self, pong, 0, n, rp); return rp; }};
  });
  int result = 0;
  scoped_actor self{sys};
  self->request(ping, infinite, 10000).receive([&](int r) { result = r; }, [](error&) {});
  anon_send_exit(ping, exit_reason::user_shutdown);
  anon_send_exit(pong, exit_reason::user_shutdown);
  return result == 10000 ? 0 : 1;
}
EOF
g++ -std=c++20 -fsanitize=thread -O1 -g -I/usr/include "$work/smoke.cpp" -o "$work/smoke" \
  -L"$build/lib" -Wl,-rpath,"$build/lib" -lcaf_core -pthread
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$work/smoke" || die "TSan smoke test failed (exit $?)"
log "TSan smoke test passed (10k request/response, no reports)"

# -- install the libraries only -------------------------------------------------------------------
as_root mkdir -p "$prefix/lib"
for l in "${libs[@]}"; do
  as_root cp -P "$build/lib/libcaf_$l.so" "$build/lib/libcaf_$l.so."* "$prefix/lib/"
done
printf '%s\n' "$key" | as_root tee "$stamp" >/dev/null
log "installed into $prefix/lib: $(find "$prefix/lib" -maxdepth 1 -name 'libcaf_*' -printf '%f ')"
