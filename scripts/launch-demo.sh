#!/usr/bin/env bash
# scripts/launch-demo.sh — greenev-http under greenev-launch, one worker per core, end to end:
# start, a short real load (wrk, or curl when wrk is missing), what each worker served, one
# zero-downtime reload (SIGHUP) under load, a graceful stop (SIGTERM). Ends by itself; exits non-zero
# if any step fails. Expects a build in $BUILD (default build/, as scripts/run-main.sh makes).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LAUNCH=$BUILD/greenev-launch
HTTP=$BUILD/examples/greenev-http/greenev-http
[[ -x "$LAUNCH" && -x "$HTTP" ]] || { echo "launch-demo: build greenev-launch and greenev-http first" >&2; exit 1; }
TMP=$(mktemp -d /tmp/greenev-launch-demo.XXXXXX)
MASTER=
cleanup() {
  if [[ -n "$MASTER" ]] && kill -0 "$MASTER" 2>/dev/null; then kill -KILL -- "-$MASTER" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
say() { printf '\n=== %s\n' "$*"; }
wait_log() {  # wait_log PATTERN SECONDS
  for _ in $(seq $(( $2 * 10 ))); do grep -q -- "$1" "$TMP/launch.log" && return 0; sleep 0.1; done
  echo "launch-demo: timed out waiting for '$1'" >&2; cat "$TMP/launch.log" >&2; return 1
}
load() {  # load SECONDS
  if command -v wrk >/dev/null; then
    wrk -t2 -c32 -d"$1"s "http://127.0.0.1:$PORT/"
  else
    local ok=0 end=$((SECONDS + $1))
    while (( SECONDS < end )); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && ok=$((ok + 1)); done
    echo "curl: $ok requests"
  fi
}

say "starting greenev-http under greenev-launch, one worker per core ($(nproc) here)"
setsid "$LAUNCH" -b 127.0.0.1:0 -c "$TMP/control.sock" --boot-time 0.5 -- "$HTTP" >"$TMP/launch.log" 2>&1 &
MASTER=$!
wait_log "worker(s) ready" 30
PORT=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/launch.log" | head -1)
cat "$TMP/launch.log"
curl -s "http://127.0.0.1:$PORT/"

say "load: 3 s"
load 3
sleep 1.2  # one heartbeat tick: the counters reach the master
say "what each worker served (greenev-launch status)"
"$LAUNCH" status -c "$TMP/control.sock"

say "zero-downtime reload (SIGHUP) in the middle of 4 s of load: expect no socket errors, no non-2xx"
load 4 >"$TMP/load.txt" & LOAD=$!
sleep 1
kill -HUP "$MASTER"
wait "$LOAD"
cat "$TMP/load.txt"
if grep -qE "Socket errors|Non-2xx" "$TMP/load.txt"; then echo "launch-demo: the reload disturbed clients" >&2; exit 1; fi
wait_log "reload 1 done" 20
sleep 1.2
"$LAUNCH" status -c "$TMP/control.sock"

say "graceful stop (SIGTERM)"
kill -TERM "$MASTER"
status=0
wait "$MASTER" || status=$?
MASTER=
echo "--- greenev-launch log"
cat "$TMP/launch.log"
echo "--- master exit status: $status"
exit "$status"
