#!/usr/bin/env python3
# A test HTTP server for greenev-crawl's smoke test (threads, so slow answers overlap):
#   /sleep/MS    answers "slept MS" after MS milliseconds
#   /bytes/N     answers N bytes
#   /status/N    answers with status N
# Binds 127.0.0.1 on a kernel-chosen port and prints "slow-http: listening on 127.0.0.1:PORT".
import http.server, sys, time

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        status, body = 404, b"not found\n"
        try:
            if parts[0] == "sleep":
                time.sleep(int(parts[1]) / 1000.0)
                status, body = 200, b"slept %d\n" % int(parts[1])
            elif parts[0] == "bytes":
                status, body = 200, b"x" * int(parts[1])
            elif parts[0] == "status":
                status, body = int(parts[1]), b"status\n"
        except (IndexError, ValueError):
            status, body = 400, b"bad request\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client that timed out and left

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("slow-http: listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
