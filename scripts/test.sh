#!/usr/bin/env bash
# scripts/test.sh — build greenev and run its tests under every configuration CI uses.
#
#   1. build/       default (RelWithDebInfo) build, whole ctest suite
#   2. build-asan/  ASan+UBSan (-DGREENEV_SANITIZE=address), examples on, benchmarks off, whole suite
#   3. build-tsan/  TSan (-DGREENEV_SANITIZE=thread), only tests labelled `tsan` (ctest -L tsan; only
#                   they and the child programs they name are built: target greenev_tsan_tests);
#                   skipped, without building, when no test carries that label
#
# Each ctest run prints its own summary; the last line is `greenev: N passed, M failed`, summed over
# the runs (a configure or build step that fails counts as one failure). Exit status is non-zero if
# anything failed. Runs scripts/setup.sh first.
#
# Environment:
#   GREENEV_SKIP_SETUP=1        don't run scripts/setup.sh
#   GREENEV_SKIP_SANITIZERS=1   only the default build (quick local run)
#   GREENEV_SKIP_ASAN=1 / GREENEV_SKIP_TSAN=1   skip one sanitizer configuration
#   GREENEV_TEST_TIMEOUT=300    per-test timeout in seconds for tests that set none themselves
#   GREENEV_CMAKE_ARGS="..."    extra arguments for every configure step
#   CTEST_PARALLEL_LEVEL=N      run N tests at once (ctest's own variable; default serial)
#   ASAN_OPTIONS / UBSAN_OPTIONS / TSAN_OPTIONS   override the defaults set below
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

JOBS=$(nproc 2>/dev/null || echo 2)
TIMEOUT=${GREENEV_TEST_TIMEOUT:-300}
read -r -a EXTRA_CMAKE_ARGS <<<"${GREENEV_CMAKE_ARGS:-}"

if [[ "${GREENEV_SKIP_SETUP:-0}" != 1 ]]; then
  bash "$ROOT/scripts/setup.sh" || { echo "test: setup.sh failed" >&2; exit 1; }
fi

RUN_PREFIX=() # e.g. (setarch x86_64 -R): what ctest runs under for the current configuration
TOTAL_PASSED=0
TOTAL_FAILED=0
REPORT=()

# configure NAME DIR [cmake args...] / build NAME DIR — return non-zero (and record a failure) on error.
configure() {
  local name=$1 dir=$2; shift 2
  echo "=== [$name] configure $dir"
  if ! cmake -S "$ROOT" -B "$dir" "$@" "${EXTRA_CMAKE_ARGS[@]}"; then
    REPORT+=("$name: configure FAILED")
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    return 1
  fi
}
build() {
  local name=$1 dir=$2 target=(${3:+--target "$3"})
  echo "=== [$name] build $dir ${3:-all} (-j$JOBS)"
  if ! cmake --build "$dir" --parallel "$JOBS" "${target[@]}"; then
    REPORT+=("$name: build FAILED")
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    return 1
  fi
}

# run_ctest NAME DIR [ctest args...] — runs ctest, adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2; shift 2
  local log="$dir/ctest-$name.log" rc total failed skipped passed
  echo "=== [$name] ${RUN_PREFIX[*]:+${RUN_PREFIX[*]} }ctest $*"
  (cd "$dir" && "${RUN_PREFIX[@]}" ctest --output-on-failure --timeout "$TIMEOUT" "$@") 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if grep -q 'No tests were found' "$log"; then
    REPORT+=("$name: no tests found")
    return 0
  fi
  local summary
  summary=$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
  if [[ -z "$summary" ]]; then
    # ctest itself fell over before printing a summary.
    REPORT+=("$name: ctest exited $rc without a summary")
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    return 0
  fi
  failed=$(awk '{print $1}' <<<"$summary")
  total=$(awk '{print $NF}' <<<"$summary")
  # Tests that ran but asked to be skipped (SKIP_RETURN_CODE / Disabled) are neither passed nor failed.
  skipped=$(grep -Ec '^[[:space:]]*[0-9]+ - .*\((Skipped|Disabled)\)' "$log" || true)
  passed=$((total - failed - skipped))
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  REPORT+=("$name: $passed passed, $failed failed, $skipped skipped")
  if ((rc != 0 && failed == 0)); then
    REPORT+=("$name: ctest exited $rc")
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
  fi
}

# sanitizer_prefix FLAG: build and run an empty program with -fsanitize=FLAG; print the command
# prefix tests need under that sanitizer: nothing, or `setarch <arch> -R` where the kernel's mmap
# randomisation (vm.mmap_rnd_bits > 28) breaks gcc 12's sanitizers. Fails if neither runs.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
sanitizer_prefix() {
  local flag=$1
  printf 'int main() { return 0; }\n' >"$probe_dir/p.cpp"
  "${CXX:-g++}" -fsanitize="$flag" "$probe_dir/p.cpp" -o "$probe_dir/p-$flag" 2>/dev/null || return 1
  if "$probe_dir/p-$flag" >/dev/null 2>&1; then
    echo ""
  elif setarch "$(uname -m)" -R "$probe_dir/p-$flag" >/dev/null 2>&1; then
    echo "setarch $(uname -m) -R"
  else
    return 1
  fi
}

# --- 1. default build ---------------------------------------------------------------------------
if configure default build && build default build; then
  run_ctest default build
fi

# --- 2. ASan + UBSan ----------------------------------------------------------------------------
if [[ "${GREENEV_SKIP_SANITIZERS:-0}" != 1 && "${GREENEV_SKIP_ASAN:-0}" != 1 ]]; then
  # Fibers switch stacks; the runtime annotates each switch (__sanitizer_start/finish_switch_fiber).
  asan_defaults="detect_leaks=1:abort_on_error=0:strict_string_checks=1:check_initialization_order=1"
  asan_prefix=$(sanitizer_prefix address) || asan_prefix=""
  # LeakSanitizer needs ptrace-like access to stop the world; some sandboxes forbid it.
  read -r -a probe_prefix <<<"$asan_prefix"
  if ! ASAN_OPTIONS=detect_leaks=1 "${probe_prefix[@]}" "$probe_dir/p-address" >/dev/null 2>&1 &&
    ASAN_OPTIONS=detect_leaks=0 "${probe_prefix[@]}" "$probe_dir/p-address" >/dev/null 2>&1; then
    echo "test: LeakSanitizer does not work here; running ASan with detect_leaks=0" >&2
    asan_defaults=${asan_defaults/detect_leaks=1/detect_leaks=0}
  fi
  export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_defaults}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  if configure asan build-asan -DGREENEV_SANITIZE=address \
    -DGREENEV_BUILD_BENCH=OFF -DGREENEV_BUILD_EXAMPLES=ON &&
    build asan build-asan; then
    read -r -a RUN_PREFIX <<<"$asan_prefix"
    run_ctest asan build-asan
    RUN_PREFIX=()
  fi
fi

# --- 3. TSan (tests labelled `tsan` only) -------------------------------------------------------
if [[ "${GREENEV_SKIP_SANITIZERS:-0}" != 1 && "${GREENEV_SKIP_TSAN:-0}" != 1 ]]; then
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:history_size=4:suppressions=$ROOT/tests/tsan.supp}
  if configure tsan build-tsan -DGREENEV_SANITIZE=thread \
    -DGREENEV_BUILD_BENCH=OFF -DGREENEV_BUILD_EXAMPLES=ON; then
    # Labels are known after configure: don't spend a build on a configuration with no tests.
    n_tsan=$(cd build-tsan && ctest -N -L tsan 2>/dev/null | sed -n 's/^Total Tests: *//p')
    if [[ "${n_tsan:-0}" == 0 ]]; then
      echo "=== [tsan] no test labelled 'tsan'; skipping the TSan build"
      REPORT+=("tsan: skipped (no test labelled tsan)")
    elif build tsan build-tsan greenev_tsan_tests; then
      tsan_prefix=$(sanitizer_prefix thread) || tsan_prefix=""
      read -r -a RUN_PREFIX <<<"$tsan_prefix"
      run_ctest tsan build-tsan -L tsan
      RUN_PREFIX=()
    fi
  fi
fi

echo
for line in "${REPORT[@]}"; do echo "  $line"; done
echo "greenev: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
((TOTAL_FAILED == 0))
