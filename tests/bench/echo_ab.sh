#!/bin/bash
# echo_ab.sh — A/B of two builds' greenev_echo_server on the same load, interleaved rounds.
#
#   tests/bench/echo_ab.sh BUILD_A BUILD_B [rounds=5] [conns=100] [secs=3]
#
# Each round runs A then B: the server pinned to CPU 0, echo_loadgen (from BUILD_A) pinned to CPU 1.
# Prints each run's req/s and the server's CPU time per round trip (utime+stime over the whole
# load, warm-up included, divided by rps x (secs + 0.5 s warm-up)), then medians and B/A ratios.
# Used for the always-on metrics overhead (docs/diagnostics.md): A = the commit before them.
set -u
A=${1:?usage: echo_ab.sh BUILD_A BUILD_B [rounds] [conns] [secs]}
B=${2:?usage: echo_ab.sh BUILD_A BUILD_B [rounds] [conns] [secs]}
rounds=${3:-5} conns=${4:-100} secs=${5:-3}
tck=$(getconf CLK_TCK)
port=27300
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A rps cpu
for round in $(seq "$rounds"); do
  for side in A B; do
    dir=${!side}/bench
    port=$((port + 1))
    taskset -c 0 "$dir/greenev_echo_server" "$port" >/dev/null 2>&1 &
    spid=$!
    sleep 0.3
    t0=$(cpu_ticks "$spid")
    r=$(timeout 60 taskset -c 1 "$A/bench/echo_loadgen" port=$port conns="$conns" secs="$secs" label="$side" 2>&1 |
      awk '/^RESULT/ {print $3}')
    t1=$(cpu_ticks "$spid")
    kill "$spid"
    wait "$spid" 2>/dev/null
    us=$(awk -v r="$r" -v d=$((t1 - t0)) -v t="$tck" -v s="$secs" 'BEGIN { if (r > 0) printf "%.2f", d / t * 1e6 / (r * (s + 0.5)); else print "nan" }')
    echo "round=$round $side req_per_s=$r server_cpu_us_per_req=$us"
    rps[$side]+="$r "
    cpu[$side]+="$us "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ra=$(median <<<"${rps[A]}") rb=$(median <<<"${rps[B]}")
ca=$(median <<<"${cpu[A]}") cb=$(median <<<"${cpu[B]}")
echo "median A: $ra req/s, $ca us CPU/req"
echo "median B: $rb req/s, $cb us CPU/req"
awk -v ra="$ra" -v rb="$rb" -v ca="$ca" -v cb="$cb" 'BEGIN { printf "B/A: req/s %.3f, CPU/req %.3f\n", rb / ra, cb / ca }'
