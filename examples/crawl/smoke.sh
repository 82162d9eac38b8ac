#!/usr/bin/env bash
# Smoke test of greenev-crawl against a local threaded HTTP server with slow endpoints
# (slow_server.py) and greenev-http when given: 20 URLs sleeping 0.1-1.0 s each (11 s in
# sum) take about the slowest one's time, not the sum; a per-URL timeout; 404 and a refused
# connection reported as failures (exit status 1); --input; the progress line on a terminal;
# SIGINT: running transfers finish, nothing new starts, summary, exit status 0.
#   smoke.sh CRAWL [HTTP]
CRAWL=${1:?usage: smoke.sh CRAWL [HTTP]}
HTTP=${2:-}
source "$(dirname "$0")/../common/smoke_apps.sh"
command -v python3 >/dev/null || smoke_fail "python3 not found"

"$CRAWL" --help | grep -q -- '--concurrency' || smoke_fail "--help does not describe --concurrency"
rc=0
"$CRAWL" >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] || smoke_fail "no URLs: exit status $rc, want 2"

smoke_start slow python3 "$(dirname "$0")/slow_server.py"
BASE="http://$slow_ADDR"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

urls=()
for ((i = 1; i <= 20; i++)); do urls+=("$BASE/sleep/$((i % 10 * 100 + 100))"); done
t0=$(now_ms)
timeout 60 "$CRAWL" -c 20 -t 30 "${urls[@]}" >"$SMOKE_TMP/par.txt" || smoke_fail "parallel crawl failed: $(cat "$SMOKE_TMP/par.txt")"
ms=$(($(now_ms) - t0))
[[ $(grep -c '^200 ' "$SMOKE_TMP/par.txt") == 20 ]] || smoke_fail "want 20 x 200: $(cat "$SMOKE_TMP/par.txt")"
grep -q '^20 of 20 URLs fetched, 0 failed' "$SMOKE_TMP/par.txt" || smoke_fail "summary: $(tail -1 "$SMOKE_TMP/par.txt")"
((ms >= 1000 && ms < 6000)) || smoke_fail "20 URLs (slowest 1.0 s, sum 11 s) took $ms ms; want about the slowest"
smoke_ok "20 slow URLs concurrently in $ms ms (slowest 1000 ms, sum 11000 ms)"

t0=$(now_ms)
rc=0
timeout 60 "$CRAWL" -c 4 -t 1 "$BASE/sleep/10000" "$BASE/bytes/100000" "$BASE/status/404" \
  "http://127.0.0.1:1/refused" >"$SMOKE_TMP/err.txt" || rc=$?
ms=$(($(now_ms) - t0))
[[ $rc == 1 ]] || smoke_fail "failures: exit status $rc, want 1: $(cat "$SMOKE_TMP/err.txt")"
grep -q "^ERR .*/sleep/10000: timed out after 1.0 s" "$SMOKE_TMP/err.txt" || smoke_fail "no timeout line: $(cat "$SMOKE_TMP/err.txt")"
grep -q "^200 .*100.0 KB .*/bytes/100000" "$SMOKE_TMP/err.txt" || smoke_fail "bytes line: $(cat "$SMOKE_TMP/err.txt")"
grep -q "^404 .*/status/404" "$SMOKE_TMP/err.txt" || smoke_fail "404 line: $(cat "$SMOKE_TMP/err.txt")"
grep -q "^ERR .*127.0.0.1:1/refused: " "$SMOKE_TMP/err.txt" || smoke_fail "refused line: $(cat "$SMOKE_TMP/err.txt")"
((ms < 8000)) || smoke_fail "a 1 s timeout against a 10 s endpoint took $ms ms"
smoke_ok "per-URL timeout (run took $ms ms), 404 and refused reported, exit status 1"

printf '# comment\n\n%s\n  %s  \n' "$BASE/bytes/10" "$BASE/sleep/10" >"$SMOKE_TMP/urls.txt"
timeout 30 "$CRAWL" -i "$SMOKE_TMP/urls.txt" >"$SMOKE_TMP/in.txt" || smoke_fail "--input: $(cat "$SMOKE_TMP/in.txt")"
grep -q '^2 of 2 URLs fetched, 0 failed' "$SMOKE_TMP/in.txt" || smoke_fail "--input: $(cat "$SMOKE_TMP/in.txt")"
smoke_ok "--input with comments and blank lines"

if [[ -n $HTTP ]]; then
  smoke_start http "$HTTP" --listen 127.0.0.1:0
  timeout 30 "$CRAWL" "http://$http_ADDR/" "http://$http_ADDR/" >"$SMOKE_TMP/http.txt" ||
    smoke_fail "crawl of greenev-http: $(cat "$SMOKE_TMP/http.txt")"
  [[ $(grep -c '^200 .* 14 B ' "$SMOKE_TMP/http.txt") == 2 ]] || smoke_fail "greenev-http: $(cat "$SMOKE_TMP/http.txt")"
  smoke_ok "greenev-http fetched"
fi

if command -v script >/dev/null; then
  timeout 30 script -qefc "'$CRAWL' -c 2 '$BASE/sleep/600' '$BASE/sleep/700' '$BASE/sleep/800'" /dev/null \
    >"$SMOKE_TMP/tty.txt" || smoke_fail "crawl on a terminal: $(cat "$SMOKE_TMP/tty.txt")"
  grep -q 'done, .* running' "$SMOKE_TMP/tty.txt" || smoke_fail "no progress line on a terminal"
  grep -q 'done, .* running' "$SMOKE_TMP/par.txt" && smoke_fail "progress line written to a pipe"
  smoke_ok "progress line on a terminal only"
fi

"$CRAWL" -c 2 "$BASE/sleep/1500" "$BASE/sleep/1500" "$BASE/sleep/1500" "$BASE/sleep/1500" \
  >"$SMOKE_TMP/int.txt" 2>"$SMOKE_TMP/int.err" &
cpid=$!
SMOKE_PIDS+=($cpid)
sleep 0.5
kill -INT $cpid
rc=0
for ((i = 0; i < 200; i++)); do kill -0 $cpid 2>/dev/null || break; sleep 0.05; done
wait $cpid || rc=$?
[[ $rc == 0 ]] || smoke_fail "SIGINT: exit status $rc: $(cat "$SMOKE_TMP/int.txt" "$SMOKE_TMP/int.err")"
grep -q '^2 of 4 URLs fetched, 0 failed.*(interrupted)' "$SMOKE_TMP/int.txt" ||
  smoke_fail "SIGINT summary: $(cat "$SMOKE_TMP/int.txt")"
smoke_ok "SIGINT: running transfers finished, none started, exit status 0"
