# tests/bench/http/pywsgi_hello.py — gevent peer for the HTTP hello benchmark (gevent.pywsgi, the
# server a gevent user would deploy), one process.   python3 pywsgi_hello.py PORT
from gevent import monkey; monkey.patch_all()
import sys
from gevent.pywsgi import WSGIServer

BODY = b"Hello, world!\n"

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "14")])
    return [BODY]

WSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None, backlog=4096).serve_forever()
