# tests/bench/http/pywsgi_hello.py — gevent peer for the HTTP hello benchmark (gevent.pywsgi, the
# server a gevent user would deploy), one process.   python3 pywsgi_hello.py PORT
from gevent import monkey; monkey.patch_all()
import socket
import sys
from gevent.pywsgi import WSGIHandler, WSGIServer

BODY = b"Hello, world!\n"

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "14")])
    return [BODY]

class NoDelayHandler(WSGIHandler):
    # pywsgi writes head and body separately; without TCP_NODELAY, Nagle + delayed ACK add 40 ms
    # per keep-alive request (the other servers all set it).
    def handle(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle()


WSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None, backlog=4096,
           handler_class=NoDelayHandler).serve_forever()
