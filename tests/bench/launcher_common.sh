# tests/bench/launcher_common.sh — shared by launcher_http.sh and launcher_scaling16.sh (sourced).
# Starts one server at a time on $PORT (greenev-http under greenev-launch, nginx, Go net/http),
# waits until it answers, runs wrk, prints "name workers req/s p99", and stops it again.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PORT=${PORT:-18480}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
LAUNCH=$BUILD/greenev-launch
HTTP=${GREENEV_HTTP:-$(ls "$BUILD"/examples/greenev-http "$BUILD"/examples/greenev-http/greenev-http 2>/dev/null | head -1)}
TMP=$(mktemp -d /tmp/greenev-launch-bench.XXXXXX)
SERVER_PID=
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_up() {
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && return 0; sleep 0.1; done
  echo "bench: server did not come up on $PORT" >&2; return 1
}
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
# start_server KIND WORKERS [CPU_LIST]: the server pinned to CPU_LIST when given.
start_server() {
  local kind=$1 n=$2 cpus=${3:-} pin=()
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  case $kind in
    greenev)
      setsid "${pin[@]}" "$LAUNCH" -w "$n" ${cpus:+--pin} -b "127.0.0.1:$PORT" -- "$HTTP" >"$TMP/server.log" 2>&1 &
      ;;
    nginx)
      mkdir -p "$TMP/nginx"
      cat >"$TMP/nginx.conf" <<NGX
worker_processes $n;
${cpus:+worker_cpu_affinity auto;}
daemon off;
master_process on;
pid $TMP/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx;
  uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
  server { listen 127.0.0.1:$PORT reuseport; location / { default_type text/plain; return 200 "Hello, world!\n"; } }
}
NGX
      setsid "${pin[@]}" nginx -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/server.log" 2>&1 &
      ;;
    go)
      [[ -x "$TMP/httphello" ]] || (cd "$ROOT/tests/bench/go" && GOFLAGS=-mod=mod go build -o "$TMP/httphello" ./httphello)
      GOMAXPROCS=$n setsid "${pin[@]}" "$TMP/httphello" -listen "127.0.0.1:$PORT" >"$TMP/server.log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  wait_up
}
# run_wrk LABEL WORKERS THREADS [CPU_LIST]
run_wrk() {
  local label=$1 n=$2 threads=$3 cpus=${4:-} pin=()
  [[ -n "$cpus" ]] && pin=(taskset -c "$cpus")
  local out
  out=$("${pin[@]}" wrk -t"$threads" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/" 2>&1)
  local rps p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(grep -E "Socket errors|Non-2xx" <<<"$out" | tr '\n' ' ' || true)
  printf "%-10s %3s workers  %12s req/s  p99 %8s  %s\n" "$label" "$n" "$rps" "$p99" "$errs"
}
