#!/usr/bin/env bash
# Smoke test for greenev-http, driven by real clients: curl (plain, and HTTPS with --cacert over a
# certificate made here with `openssl req`), and a 3 s wrk run that must show 0 socket errors and
# 0 non-2xx responses. Usage: smoke.sh path/to/greenev-http. Every process is stopped on exit.
bin=$1
. "$(dirname "$0")/../common/smoke_lib.sh"

"$bin" --help | grep -q -- --cert
mkdir "$dir/www"
printf 'static file\n' > "$dir/www/hello.txt"
head -c 3000000 /dev/urandom > "$dir/www/big.bin"

# --- plain HTTP -----------------------------------------------------------------------------------
start_server "$bin" --listen 127.0.0.1:0 --root "$dir/www"
addr=$(first_addr)
base="http://$addr"
[[ $(curl -fsS "$base/") == "Hello, world!" ]] || fail "GET /"
[[ $(curl -fsS -o /dev/null -w '%{content_type}' "$base/") == text/plain ]] || fail "GET / content type"
[[ $(curl -fsS "$base/file/hello.txt") == "static file" ]] || fail "GET /file/hello.txt"
curl -fsS "$base/file/big.bin" | cmp -s - "$dir/www/big.bin" || fail "3 MB file differs"
[[ $(curl -sS -o /dev/null -w '%{http_code}' --path-as-is "$base/file/../smoke.sh") == 404 ]] || fail "path traversal"
[[ $(curl -fsS --data-binary 'echo me' "$base/echo") == "echo me" ]] || fail "POST /echo"
[[ $(curl -fsS -H 'Transfer-Encoding: chunked' --data-binary 'chunky' "$base/echo") == "chunky" ]] || fail "chunked POST"
# keep-alive: three requests, one connection
n=$(curl -fsS -v "$base/" "$base/" "$base/" 2>&1 | grep -c 'Re-using existing connection' || true)
[[ $n -ge 2 ]] || fail "keep-alive not reused ($n)"

out=$(wrk -t1 -c20 -d3s "$base/" 2>&1)
echo "$out" | sed 's/^/  wrk: /'
echo "$out" | grep -q 'Socket errors' && fail "wrk saw socket errors"
echo "$out" | grep -q 'Non-2xx' && fail "wrk saw non-2xx responses"
echo "$out" | grep -Eq '^ +[0-9]+ requests in' || fail "wrk made no requests"
stop_server_expect_0 TERM

# --- HTTPS ----------------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 1 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
start_server "$bin" --listen 127.0.0.1:0 --root "$dir/www" --cert "$dir/cert.pem" --key "$dir/key.pem" \
  --tls-handshake-timeout 1
addr=$(first_addr)
port=${addr##*:}
tbase="https://localhost:$port"
res=(--resolve "localhost:$port:127.0.0.1" --cacert "$dir/cert.pem")
[[ $(curl -fsS "${res[@]}" "$tbase/") == "Hello, world!" ]] || fail "HTTPS GET /"
curl -fsS "${res[@]}" "$tbase/file/big.bin" | cmp -s - "$dir/www/big.bin" || fail "HTTPS 3 MB file differs"
[[ $(curl -fsS "${res[@]}" --data-binary 'secret' "$tbase/echo") == "secret" ]] || fail "HTTPS POST /echo"
# a client that connects and never says hello is cut off after the handshake timeout, alone
exec 7<>/dev/tcp/127.0.0.1/"$port"
[[ $(curl -fsS "${res[@]}" "$tbase/") == "Hello, world!" ]] || fail "HTTPS while a handshake stalls"
sleep 1.5
grep -q "handshake timed out" "$dir/err" || fail "stalled handshake not timed out"
exec 7>&-
stop_server_expect_0 INT
echo "greenev-http smoke: ok"
