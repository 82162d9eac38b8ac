#!/usr/bin/env bash
# tests/bench/run.sh — run greenev's benchmarks and its peers side by side, print a table.
#
# usage: tests/bench/run.sh [BUILD_DIR] [--quick] [--rounds N] [--only REGEX] [--no-build]
#                           [--no-cmake] [--echo-secs S] [--echo-conns N]
#
#   BUILD_DIR     the CMake build directory (default: <repo>/build). Executables are looked for in
#                 BUILD_DIR/bench (GREENEV_BENCH_BIN_DIR), then BUILD_DIR/tests/bench.
#   --quick       1 round, 2 s echo runs (about 2 minutes). Default: 5 rounds (under ~10 min).
#   --rounds N    number of rounds; each round runs every implementation of every benchmark
#                 once, implementations interleaved round-robin (order rotated every round).
#                 The 1M-fiber jobs (idle_rss_1m, skynet) run in the first 3 rounds only
#                 (BENCH_HEAVY_ROUNDS).
#   --only REGEX  only groups whose name matches: switch spawn idle skynet sync thread io echo
#   --no-build    do not run cmake --build / go build first (binaries must already exist).
#   --no-cmake    do not run cmake --build (still go build); used by the `bench` CMake target.
#
# BENCH_SKIP=REGEX  skip jobs whose "group/impl" matches (e.g. 'gevent|skynet/boost_fiber$': the
#                   1M-leaf Boost.Fiber skynet needs ~10 GB); the table notes what was skipped.
#
# Every program prints "RESULT <bench>.<impl> <value> <unit>" (see bench_common.h). Single-threaded
# benchmarks run pinned with `taskset -c 1`; the echo servers run on CPU 0, the load generator on
# CPU 1. Missing programs (greenev's own before they exist, Go without a toolchain, gevent without
# the module) are skipped with a note. Raw results go to BUILD_DIR/bench-results.txt, the table
# also to BUILD_DIR/bench-summary.txt, and each run's full output to BUILD_DIR/bench-logs/.
set -uo pipefail

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SRC_DIR/../.." && pwd)"

BUILD=""
ROUNDS=5
QUICK=0
ONLY=""
DO_BUILD=1
DO_CMAKE=1
ECHO_SECS=3
ECHO_CONNS=100
ROUNDS_SET=0
ECHO_SET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS="$2"; ROUNDS_SET=1; shift ;;
    --only) ONLY="$2"; shift ;;
    --no-build) DO_BUILD=0; DO_CMAKE=0 ;;
    --no-cmake) DO_CMAKE=0 ;;
    --echo-secs) ECHO_SECS="$2"; ECHO_SET=1; shift ;;
    --echo-conns) ECHO_CONNS="$2"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) BUILD="$1" ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  [ "$ROUNDS_SET" = 1 ] || ROUNDS=1
  [ "$ECHO_SET" = 1 ] || ECHO_SECS=2
fi
BUILD="${BUILD:-$REPO_DIR/build}"
mkdir -p "$BUILD"
BUILD="$(cd "$BUILD" && pwd)"

RESULTS="$BUILD/bench-results.txt"
SUMMARY="$BUILD/bench-summary.txt"
LOGDIR="$BUILD/bench-logs"
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

log() { printf '%s\n' "$*" >&2; }
note() { printf 'NOTE %s\n' "$*" >>"$RESULTS"; log "note: $*"; }

# ---- CPUs ---------------------------------------------------------------------------------------
NCPU=$(nproc 2>/dev/null || echo 1)
if command -v taskset >/dev/null 2>&1 && [ "$NCPU" -ge 2 ]; then
  PIN1=(taskset -c 1)   # single-threaded benchmarks and the load generator
  PIN0=(taskset -c 0)   # echo servers
else
  PIN1=(); PIN0=()
fi

# ---- results file -------------------------------------------------------------------------------
{
  echo "# greenev bench results $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# host: $(uname -srm), $NCPU CPUs, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
  echo "# rounds=$ROUNDS quick=$QUICK echo_secs=$ECHO_SECS echo_conns=$ECHO_CONNS"
  echo "# format: round=<r> RESULT <bench>.<impl> <value> <unit>   |   NOTE <text>"
} >"$RESULTS"

# ---- build ----------------------------------------------------------------------------------------
if [ "$DO_CMAKE" = 1 ] && [ -f "$BUILD/CMakeCache.txt" ]; then
  log "== cmake --build $BUILD --target bench_peers"
  if ! cmake --build "$BUILD" --target bench_peers >"$LOGDIR/build-peers.log" 2>&1; then
    note "building bench_peers failed (see $LOGDIR/build-peers.log); running what exists"
  fi
  log "== cmake --build $BUILD --target bench_greenev"
  if ! cmake --build "$BUILD" --target bench_greenev >"$LOGDIR/build-greenev.log" 2>&1; then
    note "building bench_greenev failed (see $LOGDIR/build-greenev.log); greenev results may be missing"
  fi
elif [ "$DO_CMAKE" = 1 ]; then
  note "no CMakeCache.txt in $BUILD: C/C++ programs not built by run.sh (configure with cmake first)"
fi

BIN=""
for d in "$BUILD/bench" "$BUILD/tests/bench" "$BUILD"; do
  if [ -d "$d" ] && ls "$d"/peer_* "$d"/greenev_bench_* "$d"/echo_* >/dev/null 2>&1; then BIN="$d"; break; fi
done
BIN="${BIN:-$BUILD/bench}"
mkdir -p "$BIN"
log "== executables from $BIN"

GOBIN_DIR="$BIN/go"
if [ "$DO_BUILD" = 1 ]; then
  if command -v go >/dev/null 2>&1; then
    mkdir -p "$GOBIN_DIR" "$BUILD/go-cache" "$BUILD/go-path"
    log "== go build (Go peers) -> $GOBIN_DIR"
    for p in switch spawn idle skynet sync echo; do
      if ! (cd "$SRC_DIR/go" && env GOCACHE="$BUILD/go-cache" GOPATH="$BUILD/go-path" GOPROXY=off \
              GOFLAGS= GO111MODULE=on GOTOOLCHAIN=local CGO_ENABLED=0 \
              go build -trimpath -o "$GOBIN_DIR/go_$p" "./$p") >>"$LOGDIR/build-go.log" 2>&1; then
        note "go build ./$p failed (see $LOGDIR/build-go.log)"
      fi
    done
  else
    note "no Go toolchain: Go peers skipped"
  fi
fi

PY=""
for p in "${PYTHON:-}" /usr/bin/python3 python3; do
  [ -n "$p" ] || continue
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import gevent' >/dev/null 2>&1; then PY="$p"; break; fi
done
[ -n "$PY" ] || note "no python3 with gevent importable: gevent peers skipped"
SUMPY=""
for p in /usr/bin/python3 python3; do command -v "$p" >/dev/null 2>&1 && { SUMPY="$p"; break; }; done

# ---- job table ------------------------------------------------------------------------------------
# One job = one process. Fields: group | impl | pin (1 = taskset -c 1, 0 = unpinned) |
#   accepted bench names (results for other benches from this process are dropped) |
#   max rounds (heavy jobs — 1M fibers, GBs of RSS — run in the first HEAVY_ROUNDS rounds only) |
#   command.
HEAVY_ROUNDS=${BENCH_HEAVY_ROUNDS:-3}
JOBS=()
MISSING=()
declare -A MISSING_SEEN=()
q() { printf '%q ' "$@"; }
# add GROUP IMPL PIN ACCEPT EXE [ARGS...]: only if EXE exists and is executable.
add() {
  local g="$1" impl="$2" pin="$3" acc="$4" exe="$5"
  shift 5
  if [ -x "$exe" ]; then
    JOBS+=("$g|$impl|$pin|$acc|${MAXR:-999}|$(q "$exe" "$@")")
  elif [ -z "${MISSING_SEEN[$exe]:-}" ]; then
    MISSING_SEEN[$exe]=1
    MISSING+=("$exe")
  fi
}
add_py() {
  local g="$1" impl="$2" acc="$3" script="$4"
  shift 4
  [ -n "$PY" ] || return 0
  JOBS+=("$g|$impl|1|$acc|${MAXR:-999}|$(q env PYTHONDONTWRITEBYTECODE=1 "$PY" "$SRC_DIR/gevent/$script" "$@")")
}
GE="$BIN/greenev_bench_core"
GS="$BIN/greenev_bench_sync"
BC="$BIN/peer_boost_context"
BFC="$BIN/peer_boost_fiber_core"
BFI="$BIN/peer_boost_fiber_idle"
BFS="$BIN/peer_boost_fiber_sync"
GO="$GOBIN_DIR"

# A. context switch
A=switch_pair,switch_ring1000
add switch greenev 1 "$A" "$GE" only=$A
add switch boost_context 1 "$A" "$BC"
add switch boost_fiber 1 "$A" "$BFC" only=$A
add switch go 1 "$A" "$GO/go_switch"
add_py switch gevent "$A" switch.py
# B. spawn + run + join
B=spawn_join_seq,spawn_join_batch
add spawn greenev 1 "$B" "$GE" only=$B
# Boost's default fixedsize_stack mallocs 128 KiB per fiber; glibc trims and re-faults the heap on
# every batch (~6 us/fiber), so this one runs 300k iterations instead of 1M (same per-op figure).
add spawn boost_fiber 1 "$B" "$BFC" only=$B spawn_iters=300000
add spawn boost_fiber_pooled 1 "$B" "$BFC" only=$B alloc=pooled impl=boost_fiber_pooled
add spawn go 1 "$B" "$GO/go_spawn"
add_py spawn gevent "$B" spawn.py
# C. idle memory (one process per size)
add idle greenev 1 idle_rss_100k "$GE" only=idle_rss_100k
MAXR=$HEAVY_ROUNDS add idle greenev 1 idle_rss_1m "$GE" only=idle_rss_1m
add idle boost_fiber 1 idle_rss_100k "$BFI" n=100000 label=100k
MAXR=$HEAVY_ROUNDS add idle boost_fiber 1 idle_rss_1m "$BFI" n=1000000 label=1m
add idle boost_fiber_protected 1 idle_rss_100k "$BFI" n=100000 label=100k alloc=protected impl=boost_fiber_protected
add idle go 1 idle_rss_100k "$GO/go_idle" n=100000 label=100k
MAXR=$HEAVY_ROUNDS add idle go 1 idle_rss_1m "$GO/go_idle" n=1000000 label=1m
# D. skynet, two formulations, each in its own process (VmHWM is process-wide): join (parents
# join their children; Go: sync.WaitGroup) and chan (children send on the parent's unbuffered
# channel; Go's own skynet)
D=skynet_ms,skynet_rss
DC=skynet_chan_ms,skynet_chan_rss
MAXR=$HEAVY_ROUNDS add skynet greenev 1 "$D" "$GE" only=skynet
MAXR=$HEAVY_ROUNDS add skynet boost_fiber 1 "$D" "$BFC" only=skynet
MAXR=$HEAVY_ROUNDS add skynet go 1 "$D" "$GO/go_skynet" mode=join
MAXR=$HEAVY_ROUNDS add skynet greenev 1 "$DC" "$GE" only=skynet_chan
# Boost.Fiber's channel skynet at 1M leaves needs >10 GB and minutes (128 KiB malloc'd stacks,
# breadth-first): 100k leaves, labelled so
MAXR=$HEAVY_ROUNDS add skynet boost_fiber_100k 1 "$DC" "$BFC" only=skynet_chan skynet_leaves=100000 impl=boost_fiber_100k
MAXR=$HEAVY_ROUNDS add skynet go 1 "$DC" "$GO/go_skynet" mode=chan
# E + F. wake-up round trip, bounded queue
E=event_pingpong,queue_spsc
add sync greenev 1 "$E" "$GS" only=$E
add sync boost_fiber 1 "$E" "$BFS"
add sync go 1 "$E" "$GO/go_sync"
# G. thread hand-off floor (multi-threaded: unpinned; plus a same-CPU variant)
add thread greenev 0 thread_roundtrip "$GS" only=thread_roundtrip
add thread eventfd 0 thread_roundtrip "$BIN/peer_eventfd_roundtrip" iters=100000 impl=eventfd
add thread eventfd_samecpu 1 thread_roundtrip "$BIN/peer_eventfd_roundtrip" iters=100000 impl=eventfd_samecpu
# run_blocking against an eventfd floor of the same shape, in the same process, interleaved:
# unpinned (threads on either CPU) and pinned to one CPU
add thread greenev 0 run_blocking,run_blocking_x8 "$BIN/greenev_bench_threadpool" only=run_blocking,run_blocking_x8
add thread greenev_samecpu 1 run_blocking_samecpu "$BIN/greenev_bench_threadpool" only=run_blocking suffix=_samecpu
# I/O fast path: patched read() vs the raw syscall (greenev's own program reports both)
add io greenev 1 patched_read "$BIN/greenev_bench_io" only=patched_read

GROUPS_ALL=(switch spawn idle skynet sync thread io echo)
GROUPS_RUN=()
for g in "${GROUPS_ALL[@]}"; do
  if [ -z "$ONLY" ] || [[ "$g" =~ $ONLY ]]; then GROUPS_RUN+=("$g"); fi
done

# H. echo servers: impl | pinned server command (port appended)
ECHO_SERVERS=()
add_server() {
  local impl="$1" exe="$2"
  shift 2
  if [ -x "$exe" ]; then
    ECHO_SERVERS+=("$impl|$(q "$@" "$exe")")
  elif [ -z "${MISSING_SEEN[$exe]:-}" ]; then
    MISSING_SEEN[$exe]=1
    MISSING+=("$exe")
  fi
}
add_server greenev "$BIN/greenev_echo_server"
add_server libev "$BIN/echo_libev"
add_server epoll "$BIN/echo_epoll"
add_server go "$GO/go_echo" env GOMAXPROCS=1
LOADGEN="$BIN/echo_loadgen"
[ -x "$LOADGEN" ] || MISSING+=("$LOADGEN")

for m in "${MISSING[@]}"; do note "missing $m: skipped"; done

# ---- cleanup: servers we started are always killed -------------------------------------------------
SERVER_PIDS=()
cleanup() {
  local p
  for p in "${SERVER_PIDS[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${SERVER_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  SERVER_PIDS=()
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# ---- running ---------------------------------------------------------------------------------------
JOB_TIMEOUT=${BENCH_JOB_TIMEOUT:-240}
declare -A IGNORED_NOTED=()

# record ROUND LOGFILE ACCEPT JOBNAME: copy accepted RESULT lines and NOTE lines into $RESULTS;
# sets GOT to the number of results kept.
GOT=0
record() {
  local round="$1" logf="$2" acc="$3" name="$4" got=0 line key bench
  while IFS= read -r line; do
    case "$line" in
      RESULT\ *)
        key=$(awk '{print $2}' <<<"$line")
        bench="${key%%.*}"
        if [ -z "$acc" ] || [[ ",$acc," == *",$bench,"* ]]; then
          echo "round=$round $line" >>"$RESULTS"
          got=$((got + 1))
        elif [ -z "${IGNORED_NOTED[$name]:-}" ]; then
          IGNORED_NOTED[$name]=1
          note "$name printed results outside its group (e.g. $bench); ignored — does it honour only=?"
        fi
        ;;
      NOTE\ *)
        echo "$line" >>"$RESULTS"
        ;;
    esac
  done <"$logf"
  GOT=$got
}

run_job() {
  local round="$1" job="$2"
  local g impl pin acc maxr cmd
  IFS='|' read -r g impl pin acc maxr cmd <<<"$job"
  [ "$round" -le "$maxr" ] || return 0
  if [ -n "${BENCH_SKIP:-}" ] && [[ "$g/$impl" =~ $BENCH_SKIP ]]; then
    [ "$round" = 1 ] && note "skipped $g/$impl (BENCH_SKIP)"
    return 0
  fi
  local logf="$LOGDIR/r${round}_${g}_${impl}_$(echo "$acc" | tr ',' '+').log"
  local pre=()
  [ "$pin" = 1 ] && pre=("${PIN1[@]}")
  local t0 t1 rc
  t0=$(date +%s.%N)
  eval "timeout -k 5 $JOB_TIMEOUT ${pre[*]:-} env GOMAXPROCS=1 $cmd" >"$logf" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  record "$round" "$logf" "$acc" "$g/$impl"
  local got=$GOT
  local dt
  dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
  if [ "$rc" -ne 0 ] || [ "$got" -eq 0 ]; then
    local why="exit $rc"
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out after ${JOB_TIMEOUT}s (exit $rc)"
    note "round $round: $g/$impl ($acc): $why, $got result(s) (log: $logf)"
  fi
  log "   [$round] $g/$impl ($acc): ${dt}s"
}

run_echo() {
  local round="$1" entry="$2" idx="$3"
  local impl cmd
  IFS='|' read -r impl cmd <<<"$entry"
  local port=$((ECHO_PORT_BASE + round * 10 + idx))
  local slog="$LOGDIR/r${round}_echo_server_${impl}.log"
  local llog="$LOGDIR/r${round}_echo_${impl}.log"
  # exec: $! must be the server itself (not a subshell around it) so that cleanup's kill reaches it.
  eval "exec ${PIN0[*]:-} $cmd $port" >"$slog" 2>&1 &
  local spid=$!
  SERVER_PIDS+=("$spid")
  local t0
  t0=$(date +%s.%N)
  timeout -k 5 $((ECHO_SECS + 30)) "${PIN1[@]}" "$LOADGEN" port="$port" conns="$ECHO_CONNS" \
    secs="$ECHO_SECS" warmup=0.5 label="c${ECHO_CONNS}.$impl" server_pid="$spid" >"$llog" 2>&1
  local rc=$?
  if ! kill -0 "$spid" 2>/dev/null; then
    note "round $round: echo server $impl exited early (log: $slog)"
  fi
  cleanup
  record "$round" "$llog" "echo_c${ECHO_CONNS},echo_cpu_c${ECHO_CONNS}" "echo/$impl"
  local got=$GOT
  [ "$rc" -ne 0 ] || [ "$got" -eq 0 ] && note "round $round: echo/$impl: loadgen exit $rc (log: $llog)"
  log "   [$round] echo/$impl: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
}

# Rotate a list by N: prints the elements of the remaining args starting at index N mod count.
rotate() {
  local n="$1"
  shift
  local a=("$@") c=$#
  [ "$c" -gt 0 ] || return 0
  local i
  for ((i = 0; i < c; i++)); do printf '%s\n' "${a[$(((i + n) % c))]}"; done
}

# Below the ephemeral range (32768+), so no client socket of ours can be sitting on the port.
ECHO_PORT_BASE=$((20000 + (RANDOM % 120) * 100))
START=$(date +%s)
log "== running ${#GROUPS_RUN[@]} group(s) x $ROUNDS round(s), results -> $RESULTS"
for ((r = 1; r <= ROUNDS; r++)); do
  for g in "${GROUPS_RUN[@]}"; do
    if [ "$g" = echo ]; then
      [ -x "$LOADGEN" ] || continue
      mapfile -t order < <(rotate "$((r - 1))" "${ECHO_SERVERS[@]}")
      i=0
      for e in "${order[@]}"; do
        run_echo "$r" "$e" "$i"
        i=$((i + 1))
      done
      continue
    fi
    gj=()
    for j in "${JOBS[@]}"; do [ "${j%%|*}" = "$g" ] && gj+=("$j"); done
    [ ${#gj[@]} -gt 0 ] || continue
    mapfile -t order < <(rotate "$((r - 1))" "${gj[@]}")
    for j in "${order[@]}"; do run_job "$r" "$j"; done
  done
done
log "== done in $(($(date +%s) - START))s"

# ---- table -------------------------------------------------------------------------------------------
if [ -n "$SUMPY" ]; then
  "$SUMPY" "$SRC_DIR/summarize.py" "$RESULTS" | tee "$SUMMARY"
else
  log "no python3 for the summary table; raw results are in $RESULTS"
  grep '^round=' "$RESULTS"
fi
