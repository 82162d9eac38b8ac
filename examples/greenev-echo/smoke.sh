#!/usr/bin/env bash
# Smoke test for greenev-echo, driven by netcat (nc -N: send stdin, half-close, print the reply).
# Usage: smoke.sh path/to/greenev-echo. Every process it starts is stopped on exit.
bin=$1
. "$(dirname "$0")/../common/smoke_lib.sh"

"$bin" --help | grep -q -- --listen
start_server "$bin" --listen 127.0.0.1:0 --listen "unix:$dir/echo.sock"
port_addr=$(first_addr)
host=${port_addr%:*}; port=${port_addr##*:}

got=$(printf 'hello greenev\n' | timeout 10 nc -N "$host" "$port")
[[ $got == "hello greenev" ]] || fail "tcp echo: got '$got'"
got=$(printf 'over unix\n' | timeout 10 nc -N -U "$dir/echo.sock")
[[ $got == "over unix" ]] || fail "unix echo: got '$got'"
big=$(head -c 300000 /dev/urandom | base64 -w0)
got=$(printf '%s' "$big" | timeout 10 nc -N "$host" "$port")
[[ $got == "$big" ]] || fail "300 KB echo differs (${#got} bytes back)"
# 20 clients at once
for i in $(seq 20); do (printf 'client %s\n' "$i" | timeout 10 nc -N "$host" "$port" > "$dir/c$i") & done
wait_jobs
for i in $(seq 20); do [[ $(cat "$dir/c$i") == "client $i" ]] || fail "client $i: '$(cat "$dir/c$i")'"; done

stop_server_expect_0 TERM
[[ ! -e $dir/echo.sock ]] || fail "unix socket file left behind"
echo "greenev-echo smoke: ok"
