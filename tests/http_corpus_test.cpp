// tests/http_corpus_test.cpp — greenev-http (the example program, run as a child process) against a
// corpus of malformed and hostile requests: each gets its status and a closed connection, and the
// server keeps serving everyone else. Also pipelining order, slowloris, and a client reset.
// The child is started once per test case with small limits, stopped with SIGTERM (exit 0
// checked) and killed if it does not stop within 10 s.
#include "server_support.hpp"
#include "test_support.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>

using namespace std::chrono_literals;

namespace {

class HttpChild {
 public:
  explicit HttpChild(std::vector<std::string> extra) {
    root_ = "/tmp/greenev-http-corpus-" + std::to_string(::getpid());
    ::mkdir(root_.c_str(), 0755);
    std::ofstream(root_ + "/small.txt") << "small file\n";
    {
      std::ofstream big(root_ + "/big.bin", std::ios::binary);
      std::string chunk(1 << 20, 'x');
      for (int i = 0; i < 32; ++i) big << chunk;
    }
    std::vector<std::string> args{GREENEV_HTTP_BIN, "--listen", "127.0.0.1:0", "--root", root_};
    for (auto& e : extra) args.push_back(e);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    REQUIRE(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    std::string line;
    char c;
    while (line.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) line += c;
    ::close(out[0]);
    const auto at = line.find("listening on ");
    REQUIRE_MESSAGE(at != std::string::npos, "greenev-http did not start: ", line);
    addr_ = line.substr(at + 13);
    addr_ = addr_.substr(0, addr_.find_first_of(",\n"));
  }
  ~HttpChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink((root_ + "/small.txt").c_str());
    ::unlink((root_ + "/big.bin").c_str());
    ::rmdir(root_.c_str());
  }
  // SIGTERM, then the exit status (killed after 10 s).
  int stop() {
    ::kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      greenev::sleep(100ms);
    }
    return -1;
  }
  const std::string& addr() const { return addr_; }

 private:
  pid_t pid_ = -1;
  std::string addr_, root_;
};

// Sends raw bytes, reads until the server closes (bounded by 10 s); "<timeout>" if it never does.
std::string exchange_until_close(const std::string& addr, const std::string& raw) {
  int fd = test::dial(addr);
  REQUIRE(fd >= 0);
  test::send_all(fd, raw);
  std::string got;
  const bool closed = greenev::with_timeout(10s, [&] { got = test::recv_all(fd); });
  ::close(fd);
  return closed ? got : "<timeout>";
}

std::string status_of(const std::string& resp) { return resp.substr(0, resp.find("\r\n")); }

bool hello_ok(const std::string& addr) {
  const auto r = exchange_until_close(addr, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  return status_of(r) == "HTTP/1.1 200 OK" && r.find("\r\n\r\nHello, world!\n") != std::string::npos;
}

}  // namespace

TEST_CASE("malformed and oversized requests get their status, Connection: close, and a closed socket") {
  HttpChild srv({"--max-body", "1000"});
  const auto& a = srv.addr();
  struct Case {
    const char* what;
    std::string raw;
    const char* status;
  };
  const std::string many_headers = [] {
    std::string s = "GET / HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < 200; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
    return s + "\r\n";
  }();
  const std::vector<Case> cases = {
      {"bad request line", "GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"space in method", "G T / HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"9 KB request line", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 414 URI Too Long"},
      {"200 header fields", many_headers, "HTTP/1.1 431 Request Header Fields Too Large"},
      {"9 KB header", "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n",
       "HTTP/1.1 431 Request Header Fields Too Large"},
      {"Content-Length with Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      {"negative Content-Length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\nhello",
       "HTTP/1.1 400 Bad Request"},
      {"Content-Length overflowing 64 bits",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"two different Content-Lengths", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       "HTTP/1.1 400 Bad Request"},
      {"huge but valid Content-Length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000000\r\n\r\n",
       "HTTP/1.1 413 Content Too Large"},
      {"body over --max-body", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n" + std::string(1001, 'z'),
       "HTTP/1.1 413 Content Too Large"},
      {"chunked body over --max-body",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + std::string(1001, 'z') + "\r\n0\r\n\r\n",
       "HTTP/1.1 413 Content Too Large"},
      {"bad chunk size", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 400 Bad Request"},
      {"HTTP/2.0 in an HTTP/1 request line", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"},
      {"HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: t\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"},
      {"NUL in header", std::string("GET / HTTP/1.1\r\nHost: t\0x\r\n\r\n", 28), "HTTP/1.1 400 Bad Request"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const std::string r = exchange_until_close(a, c.raw);
    CHECK(status_of(r) == c.status);
    CHECK(r.find("Connection: close\r\n") != std::string::npos);
  }
  CHECK(hello_ok(a));  // still serving
  CHECK(srv.stop() == 0);
}

TEST_CASE("bare LF line endings are accepted (as nginx and http-parser do)") {
  HttpChild srv({});
  const auto r = exchange_until_close(srv.addr(), "GET / HTTP/1.1\nHost: t\nConnection: close\n\n");
  CHECK(status_of(r) == "HTTP/1.1 200 OK");
  CHECK(srv.stop() == 0);
}

TEST_CASE("pipelined requests are answered in order on one connection") {
  HttpChild srv({});
  const std::string raw =
      "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
      "GET /file/small.txt HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfour.\r\n0\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  const std::string r = exchange_until_close(srv.addr(), raw);
  const auto p1 = r.find("Hello, world!\n");
  const auto p2 = r.find("\r\n\r\nsecond");
  const auto p3 = r.find("small file\n");
  const auto p4 = r.find("\r\n\r\nfour.");
  const auto p5 = r.find("HTTP/1.1 404");
  CHECK(p1 != std::string::npos);
  CHECK(p1 < p2);
  CHECK(p2 < p3);
  CHECK(p3 < p4);
  CHECK(p4 < p5);
  CHECK(p5 != std::string::npos);
  CHECK(srv.stop() == 0);
}

TEST_CASE("a 1-byte-per-second client is cut off with 408 at the request deadline while others are served") {
  HttpChild srv({"--request-timeout", "2"});
  const auto& a = srv.addr();
  int slow = test::dial(a);
  auto dripper = greenev::spawn([slow] {
    const std::string req = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for (char ch : req) {
      if (::send(slow, &ch, 1, MSG_NOSIGNAL) != 1) return;
      greenev::sleep(1s);
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  int served = 0;
  while (test::ms_since(t0) < 1500 && served < 200) served += hello_ok(a);  // the slow one does not hold anyone up
  std::string got;
  greenev::with_timeout(10s, [&] { got = test::recv_all(slow); });
  const double ms = test::ms_since(t0);
  CHECK(status_of(got) == "HTTP/1.1 408 Request Timeout");
  CHECK(ms < 8000);  // cut at ~2 s, not after the ~60 s the drip would take
  CHECK(served >= 5);
  dripper.kill();
  ::close(slow);
  CHECK(srv.stop() == 0);
}

TEST_CASE("a client that resets mid-response does not disturb the server") {
  HttpChild srv({});
  const auto& a = srv.addr();
  for (int i = 0; i < 5; ++i) {
    int fd = test::dial(a);
    test::send_all(fd, "GET /file/big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(test::recv_n(fd, 100000).size() == 100000);
    linger lg{1, 0};  // close with RST while 32 MB are still on their way
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
  }
  CHECK(hello_ok(a));
  int fd = test::dial(a);
  test::send_all(fd, "GET /file/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string whole;
  greenev::with_timeout(20s, [&] { whole = test::recv_all(fd); });
  ::close(fd);
  CHECK(whole.size() > (32u << 20));
  CHECK(whole.find("Content-Length: 33554432\r\n") != std::string::npos);
  CHECK(srv.stop() == 0);
}

TEST_CASE("SIGTERM: an idle keep-alive connection is closed at once, an in-flight one gets Connection: close") {
  HttpChild srv({"--grace", "5"});
  const auto& a = srv.addr();
  int idle = test::dial(a);
  test::send_all(idle, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(status_of(test::recv_n(idle, 20)) == "HTTP/1.1 200 OK");
  int busy = test::dial(a);  // half a body sent when the stop comes
  test::send_all(busy, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nfirst");
  greenev::sleep(200ms);
  auto t0 = std::chrono::steady_clock::now();
  auto idle_rest = greenev::spawn([idle] {
    std::string rest;
    greenev::with_timeout(10s, [&] { rest = test::recv_all(idle); });
    return rest;
  });
  auto stopper = greenev::spawn([&srv] { return srv.stop(); });
  const std::string rest = idle_rest.join();
  CHECK(rest.find("HTTP/1.1") == std::string::npos);  // no new response, just the close
  CHECK(test::ms_since(t0) < 4000);
  test::send_all(busy, "half2");
  std::string reply;
  greenev::with_timeout(10s, [&] { reply = test::recv_all(busy); });
  CHECK(status_of(reply) == "HTTP/1.1 200 OK");
  CHECK(reply.find("Connection: close\r\n") != std::string::npos);
  CHECK(reply.find("\r\n\r\nfirsthalf2") != std::string::npos);
  CHECK(stopper.join() == 0);
  ::close(idle);
  ::close(busy);
}
