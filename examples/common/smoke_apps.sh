# examples/common/smoke_apps.sh — for smoke tests that start several servers and clients (kv, chat,
# proxy, crawl): a temp dir, servers started in the background whose bound addresses are read
# from their "listening on A, B" line, a watchdog that bounds the whole script, and cleanup of
# every process started, on every exit path (success, failure, the watchdog, ctest's timeout
# signal). smoke_lib.sh beside it is the one-server version greenev-echo uses.
#
#   source "$(dirname "$0")/../common/smoke_apps.sh"
#   smoke_start kv greenev-kv --listen 127.0.0.1:0     # sets kv_PID, kv_ADDR (first address)
#   smoke_stop kv INT                                  # graceful stop; fails unless exit status 0
set -euo pipefail

SMOKE_LIMIT=${SMOKE_LIMIT:-90}
SMOKE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/greenev-smoke.XXXXXX")
SMOKE_PIDS=()

smoke_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  kill -TERM "$SMOKE_WATCHDOG" 2>/dev/null || true
  local p
  for p in "${SMOKE_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${SMOKE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  wait "$SMOKE_WATCHDOG" 2>/dev/null || true
  [[ -n "${SMOKE_KEEP:-}" ]] || rm -rf "$SMOKE_TMP"  # SMOKE_KEEP=1: keep the logs
  exit "$rc"
}
trap smoke_cleanup EXIT
trap 'echo "smoke: interrupted" >&2; exit 1' INT TERM

# The watchdog: a script stuck anywhere ends (cleanly) after SMOKE_LIMIT seconds.
# It takes its sleep with it when cleanup stops it (no stray `sleep` left behind).
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$SMOKE_LIMIT" &
  sp=$!
  wait "$sp"
  echo "smoke: over the ${SMOKE_LIMIT}s limit" >&2
  kill -TERM $$
) &
SMOKE_WATCHDOG=$!

smoke_fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$SMOKE_TMP"/*.out "$SMOKE_TMP"/*.err; do
    [[ -s "$f" ]] || continue
    echo "--- $(basename "$f") (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
  exit 1
}

smoke_ok() { echo "ok: $*"; }

# smoke_start NAME CMD...: starts CMD in the background (stdout NAME.out, stderr NAME.err) and
# waits until it prints "listening on ADDR[, ADDR...]". Sets NAME_PID and NAME_ADDR (the first
# address); every address is in NAME_ADDRS (one per line).
smoke_start() {
  local name=$1
  shift
  "$@" >"$SMOKE_TMP/$name.out" 2>"$SMOKE_TMP/$name.err" &
  local pid=$!
  SMOKE_PIDS+=("$pid")
  printf -v "${name}_PID" '%s' "$pid"
  local i
  for ((i = 0; i < 200; i++)); do
    if grep -q 'listening on ' "$SMOKE_TMP/$name.out" 2>/dev/null; then
      local addrs
      addrs=$(sed -n 's/.*listening on //p' "$SMOKE_TMP/$name.out" | head -n1 | sed 's/, /\n/g')
      printf -v "${name}_ADDRS" '%s' "$addrs"
      printf -v "${name}_ADDR" '%s' "$(head -n1 <<<"$addrs")"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || smoke_fail "$name exited at start"
    sleep 0.05
  done
  smoke_fail "$name printed no 'listening on' line in 10 s"
}

# smoke_stop NAME [SIGNAL]: sends SIGNAL (default TERM) and requires exit status 0 within 15 s.
smoke_stop() {
  local name=$1 sig=${2:-TERM}
  local pid_var="${name}_PID"
  local pid=${!pid_var}
  kill "-$sig" "$pid" || smoke_fail "$name is not running"
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && smoke_fail "$name still running 15 s after SIG$sig"
  local rc=0
  wait "$pid" || rc=$?
  [[ $rc == 0 ]] || smoke_fail "$name exited with status $rc after SIG$sig"
}

# host and port of "127.0.0.1:41234" / "[::1]:41234"
smoke_host() { local a=${1%:*}; a=${a#[}; echo "${a%]}"; }
smoke_port() { echo "${1##*:}"; }
