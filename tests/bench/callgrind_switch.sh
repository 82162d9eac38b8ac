#!/usr/bin/env bash
# tests/bench/callgrind_switch.sh — instructions per switch (two fibers yielding), greenev against
# a raw Boost.Context ping-pong, and per spawn + run + join of an empty fiber (one at a time),
# counted by valgrind's callgrind (deterministic: unlike the timed benchmarks it does not depend
# on the machine's load). Instructions are not time: a mispredicted return costs more than dozens
# of them (docs/core.md), so read these beside the timed rows.
#
# usage: tests/bench/callgrind_switch.sh [BUILD_DIR]     (needs valgrind; scripts/setup.sh has it)
#
# Each program runs twice, with N1 and N2 switches (or spawns); (instructions(N2) - instructions(N1)) / (N2 - N1)
# removes start-up and teardown and leaves the cost of one switch including the benchmark loop.
set -euo pipefail
BUILD="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}"
BIN="$BUILD/bench"
command -v valgrind >/dev/null || { echo "callgrind_switch: valgrind not installed" >&2; exit 1; }
N1=100000
N2=300000
count() {  # EXE ARGS... -> total instructions
  local out
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected :/ {print $4}')
  echo "$out"
}
for impl in greenev boost_context; do
  case $impl in
    greenev) exe="$BIN/greenev_bench_core" ;;
    boost_context) exe="$BIN/peer_boost_context" ;;
  esac
  [ -x "$exe" ] || { echo "callgrind_switch: $exe missing (cmake --build $BUILD --target bench_greenev bench_peers)" >&2; exit 1; }
  a=$(count "$exe" only=switch_pair pair_iters=$N1)
  b=$(count "$exe" only=switch_pair pair_iters=$N2)
  awk -v a="$a" -v b="$b" -v n1=$N1 -v n2=$N2 -v impl=$impl \
    'BEGIN { printf "RESULT switch_pair_instructions.%s %.1f instructions_per_switch\n", impl, (b - a) / (n2 - n1) }'
done
a=$(count "$BIN/greenev_bench_core" only=spawn_join_seq spawn_iters=$N1)
b=$(count "$BIN/greenev_bench_core" only=spawn_join_seq spawn_iters=$N2)
awk -v a="$a" -v b="$b" -v n1=$N1 -v n2=$N2 \
  'BEGIN { printf "RESULT spawn_join_seq_instructions.greenev %.1f instructions_per_spawn_join\n", (b - a) / (n2 - n1) }'
