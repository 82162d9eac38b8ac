// greenev_http_hello — the HTTP hello benchmark's runtime-overhead server: exactly the work of
// http/http_epoll.c (find "\r\n\r\n", answer each request with the same precomputed bytes, one
// write per batch of pipelined requests), written blocking-style with one fiber per connection.
// Comparing it with http_epoll.c measures what the runtime costs, not what an HTTP library costs
// (greenev-http parses with http-parser and builds every response).
//
// usage: greenev_http_hello PORT [plain|conn]
//   plain  the handler calls ::read/::write (the patched libc): a request costs two reads, the
//          second returning EAGAIN before the fiber parks, as any blocking-style loop does.
//   conn   Connection::read/write (StreamServer): after a short read it waits for readiness
//          first, saving that read (one read per request), as edge-triggered servers do.
#include <greenev/greenev.hpp>
#include <greenev/server.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

char g_resp[256];
std::size_t g_resp_len;
std::time_t g_resp_time;

// The same bytes as http_epoll.c and greenev-http, the Date formatted once per second.
void make_resp() {
  const std::time_t now = std::time(nullptr);
  if (now == g_resp_time) return;
  g_resp_time = now;
  std::tm tm{};
  gmtime_r(&now, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  g_resp_len = static_cast<std::size_t>(std::snprintf(
      g_resp, sizeof g_resp,
      "HTTP/1.1 200 OK\r\nServer: greenev\r\nDate: %s\r\nContent-Type: text/plain\r\n"
      "Content-Length: 14\r\n\r\nHello, world!\n",
      date));
}

template <class Read, class Write>
void serve(Read&& rd, Write&& wr) {
  constexpr std::size_t kBuf = 8192;
  char in[kBuf];
  char out[kBuf * 4];
  std::size_t len = 0;
  for (;;) {
    const ssize_t r = rd(in + len, kBuf - len);
    if (r <= 0) return;
    len += static_cast<std::size_t>(r);
    make_resp();
    std::size_t olen = 0, start = 0;
    while (const void* end = memmem(in + start, len - start, "\r\n\r\n", 4)) {
      start = static_cast<std::size_t>(static_cast<const char*>(end) - in) + 4;
      if (olen + g_resp_len <= sizeof out) {
        std::memcpy(out + olen, g_resp, g_resp_len);
        olen += g_resp_len;
      }
    }
    std::memmove(in, in + start, len - start);
    len -= start;
    if (len == kBuf) len = 0;  // oversized garbage: drop, as http_epoll.c does
    if (olen && wr(out, olen) != static_cast<ssize_t>(olen)) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [plain|conn]\n", argv[0]);
    return 2;
  }
  const bool plain = argc < 3 || std::strcmp(argv[2], "conn") != 0;
  greenev::ServerOptions o;
  o.listen = {std::string("127.0.0.1:") + argv[1]};
  o.max_connections = 20000;
  o.stop_on_signals = true;
  o.name = "hello";
  greenev::StreamServer srv(std::move(o), [plain](greenev::Connection& c) {
    if (plain) {
      const int fd = c.fd();
      serve([fd](char* b, std::size_t n) { return ::read(fd, b, n); },
            [fd](const char* b, std::size_t n) { return ::write(fd, b, n); });
    } else {
      serve([&c](char* b, std::size_t n) { return c.read(b, n); },
            [&c](const char* b, std::size_t n) { return c.write(b, n); });
    }
  });
  srv.serve_forever();
  return 0;
}
