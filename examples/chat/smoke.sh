#!/usr/bin/env bash
# Smoke test of greenev-chat with socat clients: two clients set nicks and exchange lines; a third
# connects with a 2 KiB receive buffer and never reads; a flood of 20000 lines from the first
# (2 MB) is delivered whole and in order to the second while the stalled one is dropped (outbox
# full);
# the room keeps working; SIGTERM stops the server (exit status 0) after telling the clients.
#   smoke.sh path/to/greenev-chat
CHAT=${1:?usage: smoke.sh path/to/greenev-chat}
source "$(dirname "$0")/../common/smoke_apps.sh"
command -v socat >/dev/null || smoke_fail "socat not found (scripts/setup.sh installs it)"

"$CHAT" --help | grep -q -- '--outbox' || smoke_fail "--help does not describe --outbox"

smoke_start chat "$CHAT" --listen 127.0.0.1:0 --outbox 16
HOST=$(smoke_host "$chat_ADDR")
PORT=$(smoke_port "$chat_ADDR")

# A client: socat between a fifo (our fd writes its lines) and an output file.
client() {  # NAME [socat address options]
  local name=$1 opts=${2:-}
  mkfifo "$SMOKE_TMP/$name.in"
  exec {fd}<>"$SMOKE_TMP/$name.in"
  printf -v "${name}_FD" '%s' "$fd"
  socat - "TCP:$HOST:$PORT$opts" <"$SMOKE_TMP/$name.in" >"$SMOKE_TMP/$name.txt" 2>"$SMOKE_TMP/$name.socat.err" &
  SMOKE_PIDS+=($!)
}
say() { local fd_var="${1}_FD"; printf '%s\n' "$2" >&"${!fd_var}"; }
# await FILE PATTERN [COUNT]: until FILE has COUNT (default 1) lines matching PATTERN, 30 s at most.
await() {
  local i
  for ((i = 0; i < 600; i++)); do
    (($(grep -c -- "$2" "$SMOKE_TMP/$1.txt" 2>/dev/null || true) >= ${3:-1})) && return 0
    sleep 0.05
  done
  smoke_fail "$1 never got ${3:-1} x '$2' (has $(grep -c -- "$2" "$SMOKE_TMP/$1.txt" || true))"
}

client a
await a 'you are guest1'
client b
await b 'you are guest2'
say a "/nick alice"
await b 'guest1 is now alice'
say b "/nick bob"
await a 'guest2 is now bob'
say a "hello bob"
await b '^alice: hello bob$'
say b "hi alice"
await a '^bob: hi alice$'
say a "/who"
await a '2 here: alice bob'
smoke_ok "two clients exchange lines"

# The stalled client: a 2 KiB receive buffer, and it never reads (socat -u: fifo -> socket only).
mkfifo "$SMOKE_TMP/c.in"
exec {c_fd}<>"$SMOKE_TMP/c.in"
socat -u "OPEN:$SMOKE_TMP/c.in" "TCP:$HOST:$PORT,rcvbuf=2048" 2>"$SMOKE_TMP/c.socat.err" &
SMOKE_PIDS+=($!)
await a 'guest3 joined'

# The flood goes in rounds of 500 lines, each one delivered to bob before the next: a client
# that reads slower than the room talks is dropped like a stalled one (see main.cpp), and this
# 2-core CI box must not make bob look slow.
N=20000
for ((r = 0; r < N / 500; r++)); do
  awk -v from=$((r * 500 + 1)) -v to=$((r * 500 + 500)) 'BEGIN { for (i = from; i <= to; i++)
      printf "flood %05d %s\n", i, "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz" }' >&"$a_FD"
  await b '^alice: flood ' $((r * 500 + 500))
done
await b 'guest3 dropped (outbox full: not reading)'
grep -q 'dropped guest3' "$SMOKE_TMP/chat.err" || smoke_fail "server did not log the drop"
grep '^alice: flood ' "$SMOKE_TMP/b.txt" | awk '{ if ($3 != sprintf("%05d", NR)) { print "out of order at " NR; exit 1 } }' ||
  smoke_fail "flood lines lost or reordered"
grep -q 'bob dropped' "$SMOKE_TMP/a.txt" && smoke_fail "a reading client was dropped"
smoke_ok "stalled client dropped; $N lines delivered whole and in order to the reading client"

say b "still here"
await a '^bob: still here$'
say a "/who"
await a '2 here: alice bob'
smoke_ok "room keeps working after the drop"

smoke_stop chat TERM
await a 'server shutting down'
smoke_ok "SIGTERM: clients told, exit status 0"
