#!/usr/bin/env bash
# tests/consumer/pkg_config_test.sh BUILD_DIR — the `pkg_config_consumer` test (a few seconds).
#
# Installs BUILD_DIR into a scratch prefix, then, as a user would with nothing but pkg-config:
#   1. g++ tiny_app.cpp $(pkg-config --cflags --libs greenev)    (no -std flag: Cflags carries it)
#   2. the same against libgreenev.a with the dynamic libc, through
#      pkg-config --static --define-variable=greenevlib=:libgreenev.a --libs greenev
#      (the binary must not need libgreenev.so)
#   3. a fully -static link: must fail to link, or (forced through) stop at start-up with the
#      one-line message, never run.
# Also checks the installed docs (share/doc/greenev). Exit 77 (ctest: skipped) when the install
# itself or pkg-config is impossible here; any other failure exits 1.
set -uo pipefail
build=${1:?usage: pkg_config_test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cxx=${CXX:-c++}
work=$(mktemp -d "${TMPDIR:-/tmp}/greenev-pc.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
if ! cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1; then
  tail -5 "$work/install.log"; echo "SKIP: cmake --install failed"; exit 77
fi
pc=$(find "$work/prefix" -name greenev.pc | head -1)
[[ -n $pc ]] || fail "no greenev.pc installed"
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH=$(dirname "$pc")

doc="$work/prefix/share/doc/greenev"
for f in README.md docs/sync.md docs/design.md examples/hello_fibers.cpp; do
  [[ -f $doc/$f ]] || fail "not installed: share/doc/greenev/$f"
done

cflags=$(pkg-config --cflags greenev) || fail "pkg-config --cflags"
[[ " $cflags " == *" -std=c++20 "* ]] || fail "Cflags lacks -std=c++20: $cflags"

# 1. shared: one full compile+link as a user writes it; the other variants relink its object.
# shellcheck disable=SC2046
$cxx "$here/tiny_app.cpp" -o "$work/app-shared" $(pkg-config --cflags --libs greenev) ||
  fail "compile with pkg-config --cflags --libs"
# shellcheck disable=SC2086
$cxx -c "$here/tiny_app.cpp" -o "$work/app.o" $cflags || fail "compile with pkg-config --cflags"
LD_LIBRARY_PATH=$libdir "$work/app-shared" || fail "app-shared did not run"

# 2. libgreenev.a + dynamic libc
static_libs=$(pkg-config --static --define-variable=greenevlib=:libgreenev.a --libs greenev) ||
  fail "pkg-config --static --libs"
# shellcheck disable=SC2086
$cxx "$work/app.o" -o "$work/app-static" $static_libs ||
  fail "link libgreenev.a with: $static_libs"
ldd "$work/app-static" | grep -q libgreenev && fail "app-static still needs libgreenev.so"
"$work/app-static" || fail "app-static did not run"

# 3. fully static: no binary may run past start-up
# shellcheck disable=SC2086
if $cxx -static "$work/app.o" -o "$work/app-full" $static_libs >"$work/full.log" 2>&1; then
  fail "a fully -static link succeeded"
fi
echo "fully -static link refused by the linker, as expected ($(grep -c 'multiple definition' "$work/full.log") multiple definitions)"
# Forced through: the start-up check must stop it with one line.
# shellcheck disable=SC2086
if $cxx -static "$work/app.o" -o "$work/app-forced" $static_libs -lbacktrace \
    -Wl,--allow-multiple-definition >"$work/forced.log" 2>&1; then
  out=$("$work/app-forced" 2>&1); rc=$?
  [[ $rc -eq 127 ]] || fail "forced -static binary exited $rc (want 127): $out"
  [[ $(printf '%s\n' "$out" | wc -l) -eq 1 && $out == *"linked fully static"* ]] ||
    fail "forced -static binary did not print the one-line message: $out"
  echo "forced -static binary stopped at start-up: $out"
else
  echo "forced -static link also refused by the linker: $(grep -m1 -i error "$work/forced.log")"
fi
echo "pkg_config_consumer: shared, libgreenev.a and -static checks passed"
