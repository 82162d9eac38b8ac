#!/bin/bash
# A/B: greenev_echo_server with the blocked-hub monitor off vs GREENEV_MONITOR=100ms, interleaved.
cd "${1:?usage: echo_monitor_ab.sh BUILD}/bench"
port=27100
for round in 1 2 3 4; do
  for mode in off on; do
    port=$((port+1))
    if [ $mode = on ]; then env GREENEV_MONITOR=100ms taskset -c 0 ./greenev_echo_server $port & else taskset -c 0 ./greenev_echo_server $port & fi
    spid=$!
    sleep 0.3
    r=$(timeout 30 taskset -c 1 ./echo_loadgen port=$port conns=100 secs=3 label=$mode 2>&1 | grep RESULT)
    echo "round=$round $mode $r"
    kill $spid; wait $spid 2>/dev/null
  done
done
