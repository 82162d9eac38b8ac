// examples/greenev-http/http.hpp — the pieces of greenev-http: byte streams (plain or TLS), the
// per-connection HTTP/1.1 loop, and the routes.
//
// The connection loop is blocking-style: read bytes, feed http-parser, answer every complete
// request in order (pipelining), write, repeat. Responses to pipelined requests are gathered and
// written together before the next read. Limits answer and close: 400 malformed (and Content-Length
// together with Transfer-Encoding), 408 head not complete by --request-timeout, 413 body over
// --max-body, 414 request line over 8 KiB, 431 head over 8 KiB or over 100 fields, 505 not HTTP/1.x.
#pragma once
#include <greenev/server.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace http {

struct Config {
  std::string root;                    // directory for GET /file/<name> ("" = no files)
  std::size_t max_body = 1 << 20;      // request body limit (413 above)
  double handshake_timeout_s = 10;     // TLS only
  SSL_CTX* tls = nullptr;              // null: plain HTTP
};

// A connection's bytes: plain (Connection::read/write, sendfile) or TLS (SSL_read/SSL_write on the
// patched socket). read: > 0 bytes, 0 EOF, -1 error (errno ETIMEDOUT when the deadline passed).
class Stream {
 public:
  virtual ~Stream() = default;
  virtual ssize_t read(void* buf, std::size_t n) = 0;
  virtual bool write(const void* buf, std::size_t n) = 0;  // all or false
  virtual bool sendfile_ok() const { return false; }
  virtual void close_gracefully() {}
};

// Serves one connection until it closes (the StreamServer handler).
void serve_connection(greenev::Connection& c, const Config& cfg);

// Route handling: appends the whole response (head and body) to out, or, for a file sent with
// sendfile, only the head and sets *file_fd / *file_len.
struct RouteResult {
  int file_fd = -1;
  std::size_t file_len = 0;
};
RouteResult route(std::string_view method, std::string_view url, const std::string& body, bool keep_alive,
                  bool head_only, bool can_sendfile, const Config& cfg, std::string& out);

// Appends "HTTP/1.1 <status> ...\r\n" headers with Content-Length and, unless keep_alive,
// "Connection: close".
void append_head(std::string& out, int status, std::string_view content_type, std::size_t len, bool keep_alive);
std::string_view reason(int status);

// TLS: the handshake under a Timeout; null (and the reason logged) when it fails.
std::unique_ptr<Stream> make_tls_stream(greenev::Connection& c, const Config& cfg);
SSL_CTX* make_tls_context(const std::string& cert, const std::string& key);  // throws on error

}  // namespace http
