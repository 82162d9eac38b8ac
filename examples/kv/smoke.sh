#!/usr/bin/env bash
# Smoke test of greenev-kv with the real Redis tools: redis-cli round trips over TCP and a unix
# socket, a 10k-command `redis-cli --pipe`, a short redis-benchmark with no errors and no lost
# INCRs, bad input answered with an error and the connection closed while the server keeps
# serving, --help, and a graceful stop on SIGINT with exit status 0.
#   smoke.sh path/to/greenev-kv
KV=${1:?usage: smoke.sh path/to/greenev-kv}
source "$(dirname "$0")/../common/smoke_apps.sh"
for tool in redis-cli redis-benchmark nc; do
  command -v "$tool" >/dev/null || smoke_fail "$tool not found (scripts/setup.sh installs redis-tools, netcat-openbsd)"
done

"$KV" --help | grep -q -- '--listen' || smoke_fail "--help does not describe --listen"
smoke_ok "--help"

smoke_start kv "$KV" --listen 127.0.0.1:0 --listen "unix:$SMOKE_TMP/kv.sock" --max-bulk 4096
PORT=$(smoke_port "$kv_ADDR")
cli() { timeout 20 redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

[[ $(cli ping) == PONG ]] || smoke_fail "PING"
[[ $(cli set greeting "hello world") == OK ]] || smoke_fail "SET"
[[ $(cli get greeting) == "hello world" ]] || smoke_fail "GET"
[[ $(timeout 20 redis-cli -s "$SMOKE_TMP/kv.sock" get greeting) == "hello world" ]] || smoke_fail "GET over unix socket"
[[ $(cli incrby n 41) == 41 && $(cli incr n) == 42 ]] || smoke_fail "INCRBY/INCR"
[[ $(cli set t v EX 100) == OK && $(cli ttl t) == 100 ]] || smoke_fail "SET EX / TTL"
[[ $(cli nosuchcommand x) == *"unknown command 'nosuchcommand'"* ]] || smoke_fail "unknown command error"
smoke_ok "redis-cli round trips (TCP and unix socket)"

cli flushall >/dev/null
awk 'BEGIN { for (i = 0; i < 10000; i++) { k = "key:" i; v = "val:" i;
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' >"$SMOKE_TMP/pipe.resp"
pipe_out=$(timeout 30 redis-cli -h 127.0.0.1 -p "$PORT" --pipe <"$SMOKE_TMP/pipe.resp" 2>&1) || smoke_fail "redis-cli --pipe: $pipe_out"
[[ $pipe_out == *"errors: 0, replies: 10000"* ]] || smoke_fail "redis-cli --pipe: $pipe_out"
[[ $(cli dbsize) == 10000 && $(cli get key:9999) == val:9999 ]] || smoke_fail "pipe result"
smoke_ok "redis-cli --pipe: 10000 commands, 0 errors"

cli flushall >/dev/null
# redis-benchmark (redis 7) exits non-zero at the first error reply.
bench=$(timeout 60 redis-benchmark -h 127.0.0.1 -p "$PORT" -t set,get,incr,mset -n 20000 -q 2>&1 | tr '\r' '\n') ||
  smoke_fail "redis-benchmark failed: $bench"
for t in SET GET INCR MSET; do
  echo "$bench" | grep "^$t.*requests per second" || smoke_fail "redis-benchmark: no $t result: $bench"
done
# Every INCR counted exactly once: redis-benchmark's INCR test hits one key 20000 times.
[[ $(cli get counter:__rand_int__) == 20000 ]] || smoke_fail "INCR count: $(cli get counter:__rand_int__)"
smoke_ok "redis-benchmark -t set,get,incr,mset -n 20000: 0 errors, 20000 INCRs counted"

bad=$(printf 'PING\r\n*1\r\n$x\r\nPING\r\n' | timeout 10 nc -N 127.0.0.1 "$PORT" | tr -d '\r')
[[ $bad == $'+PONG\n-ERR Protocol error: invalid bulk length' ]] || smoke_fail "bad bulk length: '$bad'"
big=$(head -c 5000 /dev/zero | tr '\0' x)
out=$(cli set big "$big" 2>&1 || true)
[[ $out == *"invalid bulk length"* ]] || smoke_fail "bulk over --max-bulk: $out"
[[ $(cli ping) == PONG ]] || smoke_fail "server stopped serving after bad input"
smoke_ok "bad input: error reply, connection closed, server still serving"

smoke_stop kv INT
grep -q 'stopped after' "$SMOKE_TMP/kv.err" || smoke_fail "no stop report"
smoke_ok "SIGINT: graceful stop, exit status 0"
