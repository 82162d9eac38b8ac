#!/usr/bin/env bash
# tests/bench/launcher_http.sh — greenev-http under greenev-launch with 1 and 2 workers against
# nginx (same worker counts) and Go net/http (GOMAXPROCS=1/2), on THIS machine.
#
# CONTENDED: on a 2-core box wrk runs on the same cores as the servers, so absolute numbers and the
# 1->2 scaling understate every server alike; compare rows, not with published figures.
# Usage: tests/bench/launcher_http.sh   (env: DURATION=10s CONNS=64 PORT=18480 BUILD=build)
source "$(dirname "${BASH_SOURCE[0]}")/launcher_common.sh"
[[ -x "$LAUNCH" && -n "$HTTP" ]] || { echo "build greenev-launch and greenev-http first" >&2; exit 1; }
echo "# launcher_http (contended: wrk -t2 -c$CONNS -d$DURATION shares the $(nproc) cores with the servers)"
for n in 1 2; do
  for kind in greenev nginx go; do
    start_server "$kind" "$n"
    run_wrk "$kind" "$n" 2
    stop_server
  done
done
