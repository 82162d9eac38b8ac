#!/usr/bin/env bash
# Smoke test of greenev-proxy with real clients through it: curl (keep-alive, two requests on one
# connection) to an HTTP server, nc -N (send, half-close, read the answer) to greenev-echo, a 1 MB
# round trip, redis-cli to greenev-kv over a unix-socket upstream, an upstream that never answers
# the handshake (--connect-timeout), and SIGTERM with a tunnel still open (cut off after --grace,
# exit status 0).
#   smoke.sh PROXY ECHO KV [HTTP]   (HTTP: greenev-http; without it, python3 -m http.server)
PROXY=${1:?usage: smoke.sh PROXY ECHO KV [HTTP]}
ECHO=${2:?}
KV=${3:?}
HTTP=${4:-}
source "$(dirname "$0")/../common/smoke_apps.sh"
for tool in curl nc redis-cli python3; do command -v "$tool" >/dev/null || smoke_fail "$tool not found"; done

"$PROXY" --help | grep -q -- '--upstream' || smoke_fail "--help does not describe --upstream"
"$PROXY" --listen 127.0.0.1:0 >/dev/null 2>&1 && smoke_fail "runs without --upstream"

smoke_start echo "$ECHO" --listen 127.0.0.1:0
smoke_start kv "$KV" --listen "unix:$SMOKE_TMP/kv.sock"
if [[ -n $HTTP ]]; then
  smoke_start http "$HTTP" --listen 127.0.0.1:0
  HTTP_PATH=/ HTTP_BODY='Hello, world!'
else
  mkdir "$SMOKE_TMP/www" && echo 'Hello, world!' >"$SMOKE_TMP/www/hello.txt"
  # http.server announces "Serving HTTP on HOST port N (...)" on stdout.
  python3 -u -m http.server --protocol HTTP/1.1 --bind 127.0.0.1 --directory "$SMOKE_TMP/www" 0 \
    >"$SMOKE_TMP/http.out" 2>"$SMOKE_TMP/http.err" &
  SMOKE_PIDS+=($!)
  for ((i = 0; i < 200; i++)); do grep -q '^Serving HTTP on' "$SMOKE_TMP/http.out" && break; sleep 0.05; done
  http_ADDR=$(sed -n 's/^Serving HTTP on \([^ ]*\) port \([0-9]*\).*/\1:\2/p' "$SMOKE_TMP/http.out")
  [[ -n $http_ADDR ]] || smoke_fail "python3 -m http.server did not start"
  HTTP_PATH=/hello.txt HTTP_BODY='Hello, world!'
fi

smoke_start pecho "$PROXY" --listen 127.0.0.1:0 --upstream "$echo_ADDR" --grace 1
smoke_start phttp "$PROXY" --listen 127.0.0.1:0 --listen "unix:$SMOKE_TMP/proxy.sock" --upstream "$http_ADDR"
smoke_start pkv "$PROXY" --listen 127.0.0.1:0 --upstream "unix:$SMOKE_TMP/kv.sock"

url="http://$phttp_ADDR$HTTP_PATH"
body=$(timeout 20 curl -sS --fail "$url") || smoke_fail "curl through the proxy"
[[ $body == "$HTTP_BODY" ]] || smoke_fail "curl body: '$body'"
two=$(timeout 20 curl -sS --fail -v "$url" "$url" 2>&1) || smoke_fail "curl, two requests: $two"
[[ $(grep -c "$HTTP_BODY" <<<"$two") == 2 ]] || smoke_fail "curl, two requests: $two"
grep -q 'Re-using existing connection' <<<"$two" || smoke_fail "curl did not keep the connection alive: $two"
body=$(timeout 20 curl -sS --fail --unix-socket "$SMOKE_TMP/proxy.sock" "http://localhost$HTTP_PATH") ||
  smoke_fail "curl through the proxy's unix socket"
[[ $body == "$HTTP_BODY" ]] || smoke_fail "curl body over unix socket: '$body'"
smoke_ok "curl through the proxy (TCP and unix listeners, keep-alive)"

PE_HOST=$(smoke_host "$pecho_ADDR") PE_PORT=$(smoke_port "$pecho_ADDR")
got=$(printf 'half-close me' | timeout 10 nc -N "$PE_HOST" "$PE_PORT") || smoke_fail "nc -N timed out (half-close not propagated?)"
[[ $got == 'half-close me' ]] || smoke_fail "nc -N through the proxy: '$got'"
head -c 1000000 /dev/urandom >"$SMOKE_TMP/big"
timeout 20 nc -N "$PE_HOST" "$PE_PORT" <"$SMOKE_TMP/big" >"$SMOKE_TMP/big.back" || smoke_fail "1 MB round trip"
cmp -s "$SMOKE_TMP/big" "$SMOKE_TMP/big.back" || smoke_fail "1 MB round trip differs ($(stat -c %s "$SMOKE_TMP/big.back") bytes back)"
smoke_ok "half-close propagated (nc -N), 1 MB round trip intact"

PK_PORT=$(smoke_port "$pkv_ADDR")
[[ $(timeout 10 redis-cli -p "$PK_PORT" set via proxy) == OK && $(timeout 10 redis-cli -p "$PK_PORT" get via) == proxy ]] ||
  smoke_fail "redis-cli through the proxy to a unix-socket upstream"
smoke_ok "redis-cli through the proxy (unix socket upstream)"

# An upstream whose accept queue is full: the kernel drops further SYNs, so connect() hangs.
cat >"$SMOKE_TMP/blackhole.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
filler = socket.create_connection(s.getsockname())  # fills the queue of a backlog-0 listener
print("blackhole: listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
time.sleep(120)
PY
smoke_start hole python3 "$SMOKE_TMP/blackhole.py"
smoke_start phole "$PROXY" --listen 127.0.0.1:0 --upstream "$hole_ADDR" --connect-timeout 1
start=$(date +%s%N)
got=$(timeout 15 nc -N "$(smoke_host "$phole_ADDR")" "$(smoke_port "$phole_ADDR")" </dev/null) ||
  smoke_fail "client not released after the connect timeout"
ms=$((($(date +%s%N) - start) / 1000000))
[[ -z $got ]] || smoke_fail "unexpected data: '$got'"
grep -q 'connect timed out' "$SMOKE_TMP/phole.err" || smoke_fail "no 'connect timed out' in the proxy's log"
((ms >= 900)) || smoke_fail "released after $ms ms, before the 1 s connect timeout"
smoke_ok "upstream connect timeout (client released after $ms ms, want ~1000)"

# SIGTERM with a tunnel open: the proxy waits --grace (1 s), cuts it off, exits 0.
mkfifo "$SMOKE_TMP/hold.in"
exec {hold_fd}<>"$SMOKE_TMP/hold.in"
nc "$PE_HOST" "$PE_PORT" <"$SMOKE_TMP/hold.in" >"$SMOKE_TMP/hold.out" &
SMOKE_PIDS+=($!)
echo ping >&"$hold_fd"
for ((i = 0; i < 200; i++)); do grep -q ping "$SMOKE_TMP/hold.out" && break; sleep 0.05; done
grep -q ping "$SMOKE_TMP/hold.out" || smoke_fail "held tunnel does not echo"
smoke_stop pecho TERM
grep -q '(1 cut off)' "$SMOKE_TMP/pecho.err" || smoke_fail "stop report: $(cat "$SMOKE_TMP/pecho.err")"
for p in phttp pkv phole; do smoke_stop "$p" INT; done
smoke_ok "SIGTERM/SIGINT: graceful stop, open tunnel cut off after the grace, exit status 0"
