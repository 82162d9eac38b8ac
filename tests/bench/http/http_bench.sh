#!/usr/bin/env bash
# tests/bench/http/http_bench.sh — HTTP hello and KV benchmarks, one command:
#
#   tests/bench/http/http_bench.sh [BUILD_DIR] [--secs S] [--rounds R] [--conns "1 100 1000"]
#                                  [--no-kv] [--no-http] [--idle N] [--syscalls]
#                                  [--servers "hello_conn raw_epoll"]
#
# HTTP: GET / -> "Hello, world!\n" (text/plain), keep-alive, `wrk -t1 -cC -dS --latency` at each C,
# against greenev-http, nginx (1 worker, `return 200` with the same body), Go net/http
# (GOMAXPROCS=1), gevent pywsgi and a raw single-threaded epoll C server (the practical limit),
# plus the runtime-overhead pair: hello_plain and hello_conn (tests/bench/greenev_http_hello.cpp:
# the raw epoll server's exact work in one fiber per connection, with the patched ::read/::write,
# and with StreamServer's Connection::read/write).
# Servers are pinned to CPU 0, wrk to CPU 1. Rounds are interleaved (every server once per round
# and concurrency, order rotated per round); the table shows medians: req/s, p99 latency, and
# server CPU per request = (utime+stime of the server's processes during the run) / requests, and
# its user-space part (utime alone).
# KV: `redis-benchmark -t set,get -c 50 -n N -P 1` and `-P 16` against greenev-kv (if built) and
# redis-server, both pinned to CPU 0, the client to CPU 1. --idle N: RSS per idle keep-alive
# connection with N connections (greenev-http, Go, nginx).
# --servers LIST: run the HTTP rounds against these servers only (names as in the table), e.g. a
# longer A/B of the runtime-overhead pair.
# --syscalls: for greenev, hello_plain, hello_conn and raw_epoll at each C, a longer wrk run with
# `strace -c -f` attached to the server for a window in its middle (steady state: no connection
# set-up or teardown); reports epoll_ctl, read and epoll_wait per response write (sendto/write:
# one per request without pipelining). strace slows the server: only the counts mean anything.
# Output: the table on stdout and in BUILD_DIR/http-bench-summary.md; raw lines in
# BUILD_DIR/http-bench-results.txt; server logs in BUILD_DIR/http-bench-logs/.
set -uo pipefail
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SRC/../../.." && pwd)"
BUILD="" SECS=5 ROUNDS=3 CONNS="1 100 1000" DO_KV=1 DO_HTTP=1 IDLE=0 SYSCALLS=0 SERVERS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --secs) SECS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --no-kv) DO_KV=0 ;;
    --no-http) DO_HTTP=0 ;;
    --idle) IDLE=$2; shift ;;
    --syscalls) SYSCALLS=1 ;;
    --servers) SERVERS=$2; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) BUILD=$1 ;;
  esac
  shift
done
BUILD="$(cd "${BUILD:-$REPO/build}" && pwd)"
OUT="$BUILD/http-bench"
LOGS="$BUILD/http-bench-logs"
RES="$BUILD/http-bench-results.txt"
mkdir -p "$OUT" "$LOGS"
: > "$RES"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
PIDS=()
# Servers run in their own process groups (setsid), so nginx's worker goes with its master.
cleanup() { for p in "${PIDS[@]}"; do kill -9 -- -"$p" "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
note() { echo "NOTE $*" | tee -a "$RES" >&2; }
TCK=$(getconf CLK_TCK)

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# "TOTAL USER": utime+stime and utime ticks of a process and its children (nginx's worker),
# read in one pass
cpu_ticks() {
  local t=0 u=0 p a b
  for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
    [ -r /proc/$p/stat ] && read -r a b < <(awk '{print $14 + $15, $14}' /proc/$p/stat) && t=$((t + a)) && u=$((u + b))
  done
  echo "$t $u"
}
rss_kib() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
    [ -r /proc/$p/status ] && t=$((t + $(awk '/VmRSS/ {print $2}' /proc/$p/status)))
  done
  echo $t
}

# ---- build the peers ------------------------------------------------------------------------------
GREENEV_HTTP="$BUILD/examples/greenev-http/greenev-http"
[ -x "$GREENEV_HTTP" ] || cmake --build "$BUILD" --target greenev-http >/dev/null
HELLO="$BUILD/bench/greenev_http_hello"
[ -x "$HELLO" ] || cmake --build "$BUILD" --target greenev_http_hello >/dev/null || note "greenev_http_hello not built: hello_* rows skipped"
cc -O2 -o "$OUT/http_epoll" "$SRC/http_epoll.c" || note "cc failed: raw epoll peer skipped"
if command -v go >/dev/null; then
  (cd "$SRC" && GOCACHE="$OUT/gocache" GOPATH="$OUT/gopath" GO111MODULE=off GOFLAGS= go build -o "$OUT/http_go" main.go) \
    || note "go build failed: Go peer skipped"
fi
PY=/usr/bin/python3
$PY -c 'import gevent' 2>/dev/null || note "no gevent for $PY: gevent peer skipped"

# ---- HTTP -----------------------------------------------------------------------------------------
declare -A PORT PID
start_http() {  # name port command...
  local name=$1 port=$2; shift 2
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then note "port $port busy: $name skipped"; return 1; fi
  setsid taskset -c 0 "$@" > "$LOGS/$name.out" 2> "$LOGS/$name.err" &
  local p=$!
  PIDS+=("$p")
  if ! wait_port "$port"; then note "$name did not start (see $LOGS/$name.err)"; kill -9 "$p"; return 1; fi
  PORT[$name]=$port PID[$name]=$p
}
nginx_conf() {
  mkdir -p "$OUT/nginx/logs"
  cat > "$OUT/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
error_log $OUT/nginx/logs/error.log warn;
pid $OUT/nginx/nginx.pid;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$1 backlog=4096;
    location / { default_type text/plain; return 200 "Hello, world!\n"; }
  }
}
CONF
}

IMPLS=()
if [ "$DO_HTTP" = 1 ] || [ "$IDLE" -gt 0 ]; then
  start_http greenev 18101 "$GREENEV_HTTP" --listen 127.0.0.1:18101 --max-connections 20000 && IMPLS+=(greenev)
  nginx_conf 18102
  start_http nginx 18102 nginx -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" && IMPLS+=(nginx)
  [ -x "$OUT/http_go" ] && GOMAXPROCS=1 start_http go 18103 env GOMAXPROCS=1 "$OUT/http_go" 18103 && IMPLS+=(go)
  $PY -c 'import gevent' 2>/dev/null && start_http gevent 18104 $PY "$SRC/pywsgi_hello.py" 18104 && IMPLS+=(gevent)
  [ -x "$OUT/http_epoll" ] && start_http raw_epoll 18105 "$OUT/http_epoll" 18105 && IMPLS+=(raw_epoll)
  [ -x "$HELLO" ] && start_http hello_plain 18106 "$HELLO" 18106 plain && IMPLS+=(hello_plain)
  [ -x "$HELLO" ] && start_http hello_conn 18107 "$HELLO" 18107 conn && IMPLS+=(hello_conn)
  if [ -n "$SERVERS" ]; then
    kept=()
    for i in "${IMPLS[@]}"; do [[ " $SERVERS " == *" $i "* ]] && kept+=("$i"); done
    IMPLS=("${kept[@]}")
  fi
  for i in "${IMPLS[@]}"; do  # warm-up (page faults, Go's GC sizing, Python's caches)
    taskset -c 1 wrk -t1 -c100 -d1s "http://127.0.0.1:${PORT[$i]}/" > /dev/null 2>&1
  done
fi

run_http() {  # impl conns round
  local i=$1 c=$2 r=$3 log="$LOGS/wrk-$1-c$2-r$3.txt"
  local t0 t1 u0 u1
  read -r t0 u0 < <(cpu_ticks "${PID[$i]}")
  taskset -c 1 wrk -t1 -c"$c" -d"${SECS}s" --latency "http://127.0.0.1:${PORT[$i]}/" > "$log" 2>&1
  read -r t1 u1 < <(cpu_ticks "${PID[$i]}")
  local rps p99 reqs errs non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$log")
  p99=$(awk '$1 == "99%" {print $2}' "$log")
  reqs=$(awk '/requests in/ {print $1}' "$log")
  errs=$(grep -c 'Socket errors' "$log")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$log")
  echo "HTTP impl=$i conns=$c round=$r rps=${rps:-0} p99=${p99:-NA} requests=${reqs:-0} cpu_ticks=$((t1 - t0)) user_ticks=$((u1 - u0)) tck=$TCK socket_errors=$errs non2xx=${non2xx:-0}" | tee -a "$RES"
}

if [ "$DO_HTTP" = 1 ]; then
  for r in $(seq "$ROUNDS"); do
    for c in $CONNS; do
      n=${#IMPLS[@]}
      for k in $(seq 0 $((n - 1))); do run_http "${IMPLS[$(((k + r) % n))]}" "$c" "$r"; done
    done
  done
fi

# ---- syscalls per request, steady state -----------------------------------------------------------
if [ "$SYSCALLS" = 1 ] && [ "$DO_HTTP" = 1 ]; then
  if ! command -v strace >/dev/null; then
    note "strace not installed: --syscalls skipped"
  else
    for c in $CONNS; do
      for i in greenev hello_plain hello_conn raw_epoll; do
        [ -n "${PID[$i]:-}" ] || continue
        log="$LOGS/strace-$i-c$c.txt"
        taskset -c 1 wrk -t1 -c"$c" -d6s "http://127.0.0.1:${PORT[$i]}/" > /dev/null 2>&1 &
        w=$!
        sleep 2
        timeout -s INT 2 strace -c -f -p "${PID[$i]}" -o "$log" 2>/dev/null
        wait "$w"
        awk -v i="$i" -v c="$c" '
          $NF == "epoll_ctl" || $NF == "read" || $NF == "epoll_wait" || $NF == "sendto" || $NF == "write" || $NF == "writev" {
            calls[$NF] = $4 }  # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
          END { w = calls["sendto"] + calls["write"] + calls["writev"];
                printf "SYSCALLS impl=%s conns=%d writes=%d epoll_ctl=%d read=%d epoll_wait=%d\n",
                       i, c, w, calls["epoll_ctl"], calls["read"], calls["epoll_wait"] }' "$log" | tee -a "$RES"
      done
    done
  fi
fi

# ---- idle connections -----------------------------------------------------------------------------
if [ "$IDLE" -gt 0 ]; then
  for i in greenev go nginx; do
    [ -n "${PID[$i]:-}" ] || continue
    before=$(rss_kib "${PID[$i]}")
    taskset -c 1 $PY "$SRC/idle_conns.py" "${PORT[$i]}" "$IDLE" > "$LOGS/idle-$i.txt" 2>&1 &
    holder=$!
    PIDS+=("$holder")
    for _ in $(seq 600); do grep -q READY "$LOGS/idle-$i.txt" && break; sleep 0.1; done
    after=$(rss_kib "${PID[$i]}")
    echo "IDLE impl=$i conns=$IDLE rss_before_kib=$before rss_after_kib=$after $(grep READY "$LOGS/idle-$i.txt")" | tee -a "$RES"
    kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
    sleep 1
  done
fi

# ---- KV -------------------------------------------------------------------------------------------
if [ "$DO_KV" = 1 ]; then
  KVN=${KV_REQUESTS:-300000}
  KV_IMPLS=()
  if command -v redis-server >/dev/null; then
    setsid taskset -c 0 redis-server --port 18201 --save '' --appendonly no --bind 127.0.0.1 > "$LOGS/redis.out" 2>&1 &
    PIDS+=($!); wait_port 18201 && KV_IMPLS+=("redis:18201")
  fi
  KV_BIN=${GREENEV_KV:-$(find "$BUILD/examples" -name greenev-kv -type f -perm -u+x 2>/dev/null | head -1)}
  if [ -n "$KV_BIN" ] && [ -x "$KV_BIN" ]; then
    setsid taskset -c 0 "$KV_BIN" --listen 127.0.0.1:18202 > "$LOGS/greenev-kv.out" 2> "$LOGS/greenev-kv.err" &
    PIDS+=($!); wait_port 18202 && KV_IMPLS+=("greenev-kv:18202")
  else
    note "greenev-kv not built: KV rows for greenev skipped"
  fi
  for r in $(seq "$ROUNDS"); do
    for P in 1 16; do
      for k in "${KV_IMPLS[@]}"; do
        name=${k%%:*} port=${k##*:}
        taskset -c 1 redis-benchmark -p "$port" -t set,get -c 50 -n "$KVN" -P "$P" --csv > "$LOGS/kv-$name-P$P-r$r.csv" 2>&1
        awk -F'"' -v n="$name" -v P="$P" -v r="$r" '/^"(SET|GET)"/ {printf "KV impl=%s test=%s P=%s round=%s rps=%s p99=%s\n", n, $2, P, r, $4, $14}' \
          "$LOGS/kv-$name-P$P-r$r.csv" | tee -a "$RES"
      done
    done
  done
fi

$PY "$SRC/summarize_http.py" "$RES" | tee "$BUILD/http-bench-summary.md"
