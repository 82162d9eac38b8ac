# examples/common/smoke_lib.sh — helpers the example smoke tests source (bash).
# start_server BIN ARGS...: runs it in the background (stdout to $dir/out, stderr to $dir/err),
#   waits for its "listening on" line; sets $pid. first_addr: the first address it printed.
# stop_server_expect_0 SIG: sends SIG, waits (<= 15 s) and fails unless the exit status is 0.
# Sourcing it sets $dir (a fresh temporary folder) and an EXIT trap that kills the server and
# removes $dir.
set -euo pipefail
dir=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $dir/err ]] && { echo "--- server stderr:" >&2; tail -20 "$dir/err" >&2; }; exit 1; }

start_server() {
  "$@" > "$dir/out" 2> "$dir/err" &
  pid=$!
  for _ in $(seq 100); do
    grep -q "listening on" "$dir/out" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "$1 exited at start"
    sleep 0.1
  done
  fail "$1 did not start listening"
}

first_addr() { sed -n 's/.*listening on \([^,]*\).*/\1/p' "$dir/out" | head -1; }

wait_jobs() { for j in $(jobs -p); do [[ $j == "$pid" ]] || wait "$j" || true; done; }

stop_server_expect_0() {
  kill -"$1" "$pid"
  local rc=0
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "server still running 15 s after SIG$1"
  wait "$pid" || rc=$?
  pid=
  [[ $rc == 0 ]] || fail "exit status $rc after SIG$1 (want 0)"
}
