// examples/greenev-http/conn.cpp — one HTTP/1.1 connection, blocking-style, on http-parser.
//
// Loop: read (idle deadline between requests, --request-timeout once a request has begun), feed
// http-parser, which pauses at the end of each message; answer it into `out`, resume parsing the
// rest of the bytes (pipelined requests are answered in order), and write `out` before the next
// read. A parse error or a limit answers with its status and "Connection: close", then closes
// gracefully (shut the write side, drain what the client still sends for up to 1 s, so the kernel
// does not reset the connection over unread bytes and destroy the answer). After a stop() began,
// the request in hand is answered with "Connection: close" and the connection ends.
#include "http.hpp"

#include <greenev/greenev.hpp>

#include <http_parser.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

namespace http {

namespace {

constexpr int kMaxFields = 100;

class PlainStream final : public Stream {
 public:
  explicit PlainStream(greenev::Connection& c) : c_(c) {}
  ssize_t read(void* buf, std::size_t n) override { return c_.read(buf, n); }
  bool write(const void* buf, std::size_t n) override {
    return c_.write(buf, n) == static_cast<ssize_t>(n);
  }
  bool sendfile_ok() const override { return true; }
  void close_gracefully() override {
    ::shutdown(c_.fd(), SHUT_WR);
    greenev::with_timeout(std::chrono::seconds(1), [this] {
      char sink[4096];
      std::size_t total = 0;
      while (total < (1u << 20)) {
        const ssize_t n = ::read(c_.fd(), sink, sizeof sink);
        if (n <= 0) break;
        total += static_cast<std::size_t>(n);
      }
    });
  }
  // The file goes socket-ward with sendfile(2) on the thread pool (a cold page cache must not
  // stall the hub); EAGAIN from the full socket is waited for on the hub.
  bool send_file(int file_fd, std::size_t len) {
    const int sock = c_.fd();
    off_t off = 0;
    while (static_cast<std::size_t>(off) < len) {
      const std::size_t chunk = std::min<std::size_t>(len - static_cast<std::size_t>(off), 1 << 20);
      auto [n, err] = greenev::run_blocking([sock, file_fd, off, chunk] {
        off_t o = off;
        const ssize_t r = ::sendfile(sock, file_fd, &o, chunk);
        return std::pair<ssize_t, int>(r, errno);
      });
      if (n > 0) {
        off += n;
      } else if (n < 0 && (err == EAGAIN || err == EINTR)) {
        greenev::wait_writable(sock);
      } else {
        return false;  // peer gone, or the file shrank (n == 0): the length promised cannot be kept
      }
    }
    return true;
  }

 private:
  greenev::Connection& c_;
};

// The message being parsed. Reset at each message begin.
struct Parse {
  const Config* cfg = nullptr;
  std::string url, body, field, expect;
  int fields = 0;
  bool in_value = false;      // the last header callback was a value
  bool in_request_line = true;
  bool expect_field = false;  // the current header is Expect
  bool started = false;       // a message has begun and is not complete
  bool begun = false;         // on_message_begin ran during this parse call
  int error_status = 0;       // set by a callback that stopped the parser
  bool continue_due = false;  // "Expect: 100-continue" to answer before the body
  bool keep_alive = true;
  bool head_only = false;
  const char* method = "GET";
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

Parse& st(http_parser* p) { return *static_cast<Parse*>(p->data); }

int on_message_begin(http_parser* p) {
  Parse& s = st(p);
  s.url.clear();
  s.body.clear();
  s.expect.clear();
  s.fields = 0;
  s.in_value = false;
  s.in_request_line = true;
  s.started = true;
  s.begun = true;
  return 0;
}
int on_url(http_parser* p, const char* at, std::size_t n) {
  st(p).url.append(at, n);
  return 0;
}
int on_header_field(http_parser* p, const char* at, std::size_t n) {
  Parse& s = st(p);
  s.in_request_line = false;
  if (s.fields == 0 || s.in_value) {  // a new field (a name may arrive in pieces)
    if (++s.fields > kMaxFields) {
      s.error_status = 431;
      return -1;
    }
    s.field.clear();
    s.in_value = false;
  }
  s.field.append(at, n);
  return 0;
}
int on_header_value(http_parser* p, const char* at, std::size_t n) {
  Parse& s = st(p);
  if (!s.in_value) s.expect_field = iequals(s.field, "expect");
  s.in_value = true;
  if (s.expect_field) s.expect.append(at, n);
  return 0;
}
int on_headers_complete(http_parser* p) {
  Parse& s = st(p);
  s.in_request_line = false;
  if (p->http_major != 1) {
    s.error_status = 505;
    return -1;
  }
  if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX && p->content_length > s.cfg->max_body) {
    s.error_status = 413;
    return -1;
  }
  s.method = http_method_str(static_cast<http_method>(p->method));
  s.head_only = p->method == HTTP_HEAD;
  s.keep_alive = http_should_keep_alive(p) != 0;
  s.continue_due = p->http_minor >= 1 && iequals(s.expect, "100-continue");
  return 0;
}
int on_body(http_parser* p, const char* at, std::size_t n) {
  Parse& s = st(p);
  if (s.body.size() + n > s.cfg->max_body) {
    s.error_status = 413;
    return -1;
  }
  s.body.append(at, n);
  return 0;
}
int on_message_complete(http_parser* p) {
  st(p).started = false;
  http_parser_pause(p, 1);  // answer this one before parsing the next (pipelining, in order)
  return 0;
}

const http_parser_settings kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = on_message_begin;
  s.on_url = on_url;
  s.on_header_field = on_header_field;
  s.on_header_value = on_header_value;
  s.on_headers_complete = on_headers_complete;
  s.on_body = on_body;
  s.on_message_complete = on_message_complete;
  return s;
}();

int status_for(http_errno e, const Parse& s) {
  if (s.error_status) return s.error_status;
  if (e == HPE_HEADER_OVERFLOW) return s.in_request_line ? 414 : 431;
  return 400;
}

void answer_error(Stream& stream, std::string& out, int status) {
  const std::string body = std::to_string(status) + " " + std::string(reason(status)) + "\n";
  append_head(out, status, "text/plain", body.size(), false);
  out += body;
  if (stream.write(out.data(), out.size())) stream.close_gracefully();
}

}  // namespace

void serve_connection(greenev::Connection& c, const Config& cfg) {
  std::unique_ptr<Stream> stream;
  if (cfg.tls) {
    stream = make_tls_stream(c, cfg);
    if (!stream) return;
  } else {
    stream = std::make_unique<PlainStream>(c);
  }
  Parse ps;
  ps.cfg = &cfg;
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &ps;
  std::string out;
  out.reserve(512);
  char buf[8192];
  for (;;) {
    c.set_idle(!ps.started);  // between requests a stop may close us; the idle deadline applies
    const ssize_t n = stream->read(buf, sizeof buf);
    if (n < 0) {
      if (errno == ETIMEDOUT && ps.started) answer_error(*stream, out, 408);
      return;
    }
    if (n == 0) return;  // the client closed (mid-request: nothing to answer)
    c.set_idle(false);   // a request has begun: --request-timeout runs from here
    const char* p = buf;
    std::size_t left = static_cast<std::size_t>(n);
    while (left > 0) {
      ps.begun = false;
      const std::size_t used = http_parser_execute(&parser, &kSettings, p, left);
      const auto err = HTTP_PARSER_ERRNO(&parser);
      if (ps.begun && ps.started) c.begin_request();  // a pipelined request: its own deadline
      p += used;
      left -= used;
      if (ps.continue_due) {  // the client waits for this before sending the body
        ps.continue_due = false;
        static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!out.empty() && !stream->write(out.data(), out.size())) return;
        out.clear();
        if (!stream->write(k100.data(), k100.size())) return;
      }
      if (err == HPE_OK) continue;
      if (err != HPE_PAUSED) {
        answer_error(*stream, out, status_for(err, ps));
        return;
      }
      // One complete request: answer it.
      const bool keep = ps.keep_alive && !c.stopping();
      const RouteResult rr =
          route(ps.method, ps.url, ps.body, keep, ps.head_only, stream->sendfile_ok(), cfg, out);
      c.count_request();
      if (rr.file_fd >= 0) {
        const bool ok = stream->write(out.data(), out.size()) &&
                        static_cast<PlainStream*>(stream.get())->send_file(rr.file_fd, rr.file_len);
        ::close(rr.file_fd);
        out.clear();
        if (!ok) return;
      } else if (rr.file_len == static_cast<std::size_t>(-1)) {  // a body shorter than promised
        stream->write(out.data(), out.size());
        return;
      }
      if (!keep) {
        if (!out.empty() && !stream->write(out.data(), out.size())) return;
        stream->close_gracefully();
        return;
      }
      http_parser_pause(&parser, 0);
    }
    if (!out.empty()) {
      if (!stream->write(out.data(), out.size())) return;  // the client went away
      out.clear();
    }
  }
}

}  // namespace http
