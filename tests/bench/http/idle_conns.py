"""tests/bench/http/idle_conns.py PORT N — opens N keep-alive connections, makes one GET / on each
(so the server has set up its per-connection state), prints "READY open=<n>" and holds them."""
import selectors
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
req = b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"
socks = []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port))
    except OSError as e:
        print("connect failed after", i, e, flush=True)
        break
    s.sendall(req)
    socks.append(s)
    if len(socks) % 500 == 0:  # drain replies in batches so no server stalls on a full buffer
        for t in socks[-500:]:
            t.recv(4096)
for t in socks[len(socks) - len(socks) % 500:]:
    t.recv(4096)
print(f"READY open={len(socks)}", flush=True)
time.sleep(3600)
