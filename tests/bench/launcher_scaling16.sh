#!/usr/bin/env bash
# tests/bench/launcher_scaling16.sh — scaling of greenev-http under greenev-launch at 1, 2, 4, 8
# and 14 workers against nginx with the same worker counts, for a machine with >= 16 cores.
# Servers are pinned to cores 0..N-1 (greenev-launch --pin, nginx worker_cpu_affinity auto inside
# the same taskset), wrk to the remaining cores (at least 2), so the two never share a core.
# Target (issue 10): greenev >= 0.9*N x its 1-worker rate, and >= 1.0 x nginx at every N.
# Usage: tests/bench/launcher_scaling16.sh   (env: DURATION=10s CONNS=256 COUNTS="1 2 4 8 14")
source "$(dirname "${BASH_SOURCE[0]}")/launcher_common.sh"
CONNS=${CONNS:-256}
CORES=$(nproc)
(( CORES >= 16 )) || echo "warning: $CORES cores; this script is meant for >= 16" >&2
[[ -x "$LAUNCH" && -n "$HTTP" ]] || { echo "build greenev-launch and greenev-http first" >&2; exit 1; }
echo "# launcher_scaling16 on $CORES cores; servers on cores 0..N-1, wrk on N..$((CORES - 1))"
declare -A rate
for n in ${COUNTS:-1 2 4 8 14}; do
  server_cpus="0-$((n - 1))"
  wrk_first=$n; (( CORES - n < 2 )) && wrk_first=$((CORES - 2))
  wrk_cpus="$wrk_first-$((CORES - 1))"
  threads=$((CORES - wrk_first))
  for kind in greenev nginx; do
    start_server "$kind" "$n" "$server_cpus"
    line=$(run_wrk "$kind" "$n" "$threads" "$wrk_cpus")
    echo "$line"
    rate[$kind,$n]=$(awk '{print $3}' <<<"$line")
    stop_server
  done
done
echo "# summary: speed-up vs 1 worker (target >= 0.9*N) and ratio to nginx (target >= 1.0)"
for n in ${COUNTS:-1 2 4 8 14}; do
  awk -v n="$n" -v g="${rate[greenev,$n]}" -v g1="${rate[greenev,1]:-0}" -v x="${rate[nginx,$n]}" \
    'BEGIN { printf "N=%-3d greenev %.2fx of 1 worker (target %.1f)  greenev/nginx %.2f\n", n, (g1>0?g/g1:0), 0.9*n, (x>0?g/x:0) }'
done
