// tests/server_test.cpp — StreamServer in one process: serving, limits, deadlines, stop, addresses.
// What changes process-wide state (RLIMIT_NOFILE, fd 3, signals) runs in server_child_test.
#include "server_support.hpp"
#include "test_support.hpp"

#include <greenev/server.hpp>

#include <sys/stat.h>

#include <atomic>
#include <cstdio>

using namespace std::chrono_literals;
using greenev::Connection;
using greenev::ServerOptions;
using greenev::StreamServer;

namespace {

void echo(Connection& c) {
  char buf[1024];
  for (;;) {
    c.set_idle(true);
    const ssize_t n = c.read(buf, sizeof buf);
    if (n <= 0) return;
    c.set_idle(false);
    if (c.write(buf, static_cast<size_t>(n)) != n) return;
    c.count_request();
  }
}

std::string roundtrip(const std::string& addr, const std::string& msg) {
  int fd = test::dial(addr);
  if (fd < 0) return "<connect failed>";
  test::send_all(fd, msg);
  std::string back = test::recv_n(fd, msg.size());
  ::close(fd);
  return back;
}

std::string temp_path(const char* tag) {
  return "/tmp/greenev-server-test-" + std::to_string(::getpid()) + "-" + tag + ".sock";
}

}  // namespace

TEST_CASE("a StreamServer on 127.0.0.1:0 serves many concurrent clients, one fiber each") {
  StreamServer srv({.listen = {"127.0.0.1:0"}, .name = "echo"}, echo);
  srv.start();
  REQUIRE(srv.addresses().size() == 1);
  const std::string addr = srv.addresses()[0];
  CHECK(addr.rfind("127.0.0.1:", 0) == 0);
  CHECK(addr != "127.0.0.1:0");
  std::vector<greenev::Fiber<bool>> clients;
  for (int i = 0; i < 50; ++i)
    clients.push_back(greenev::spawn([&addr, i] {
      const std::string m = "hello " + std::to_string(i);
      return roundtrip(addr, m) == m;
    }));
  int ok = 0;
  for (auto& f : clients) ok += f.join();
  CHECK(ok == 50);
  CHECK(srv.counters().accepted == 50);
  CHECK(srv.counters().requests == 50);
  CHECK(srv.stop(1s) == 0);
  CHECK(srv.counters().active == 0);
  test::require_hub_clean();
}

TEST_CASE("the concurrency limit holds: at most max_connections handlers, the rest are served later") {
  int running = 0, max_seen = 0;
  greenev::Event release;
  StreamServer srv({.listen = {"127.0.0.1:0"}, .max_connections = 3}, [&](Connection& c) {
    ++running;
    max_seen = std::max(max_seen, running);
    release.wait();
    c.write("done", 4);
    --running;
  });
  srv.start();
  const auto addr = srv.addresses()[0];
  std::vector<greenev::Fiber<std::string>> clients;
  for (int i = 0; i < 10; ++i)
    clients.push_back(greenev::spawn([&addr] {
      int fd = test::dial(addr);  // completes in the kernel backlog even while the server is full
      std::string r = test::recv_n(fd, 4);
      ::close(fd);
      return r;
    }));
  greenev::sleep(200ms);
  CHECK(running == 3);
  CHECK(srv.counters().accepted == 3);
  CHECK(srv.counters().refused_at_limit >= 1);
  release.set();
  int done = 0;
  for (auto& f : clients) done += f.join() == "done";
  CHECK(done == 10);
  CHECK(max_seen == 3);
  CHECK(srv.counters().accepted == 10);
  srv.stop(1s);
  test::require_hub_clean();
}

TEST_CASE("a handler's exception is logged with peer and fiber name and the server keeps serving") {
  StreamServer srv({.listen = {"127.0.0.1:0"}, .name = "thrower"}, [](Connection& c) {
    char b[16];
    const ssize_t n = c.read(b, sizeof b);
    if (n > 0 && b[0] == 'x') throw std::runtime_error("bad request from test");
    c.write("ok", 2);
  });
  srv.start();
  const auto addr = srv.addresses()[0];
  CHECK(roundtrip(addr, "xx").empty());
  CHECK(roundtrip(addr, "ok") == "ok");
  CHECK(srv.counters().handler_errors == 1);
  srv.stop(1s);
  test::require_hub_clean();
}

TEST_CASE("graceful stop: listeners close, idle connections close at once, in-flight ones finish") {
  greenev::Event got_request;
  StreamServer srv({.listen = {"127.0.0.1:0"}}, [&](Connection& c) {
    char b[64];
    for (;;) {
      c.set_idle(true);
      const ssize_t n = c.read(b, sizeof b);
      if (n <= 0) return;
      c.set_idle(false);
      got_request.set();
      greenev::sleep(300ms);  // a slow request in flight when stop() comes
      const std::string reply = c.stopping() ? "bye" : "ok!";
      c.write(reply.data(), reply.size());
    }
  });
  srv.start();
  const auto addr = srv.addresses()[0];
  int idle = test::dial(addr);
  int busy = test::dial(addr);
  REQUIRE(idle >= 0);
  REQUIRE(busy >= 0);
  test::send_all(busy, "work");
  got_request.wait();
  auto t0 = std::chrono::steady_clock::now();
  auto idle_eof = greenev::spawn([idle] { return test::recv_all(idle); });
  auto busy_reply = greenev::spawn([busy] { return test::recv_all(busy); });
  const std::size_t cut = srv.stop(5s);
  CHECK(cut == 0);
  CHECK(idle_eof.join().empty());
  CHECK(busy_reply.join() == "bye");  // finished its request, saw stopping(), then closed
  CHECK(test::ms_since(t0) < 4000);   // did not wait for the whole grace period
  CHECK(test::dial(addr) < 0);        // listener closed
  CHECK_FALSE(srv.running());
  ::close(idle);
  ::close(busy);
  test::require_hub_clean();
}

TEST_CASE("stop(grace) kills handlers still running after the grace period and counts them") {
  StreamServer srv({.listen = {"127.0.0.1:0"}}, [](Connection&) { greenev::sleep(60s); });
  srv.start();
  const auto addr = srv.addresses()[0];
  int a = test::dial(addr), b = test::dial(addr);
  greenev::sleep(100ms);
  REQUIRE(srv.counters().active == 2);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(srv.stop(200ms) == 2);
  CHECK(test::ms_since(t0) < 5000);
  CHECK(srv.counters().cut_off_at_stop == 2);
  CHECK(srv.counters().active == 0);
  ::close(a);
  ::close(b);
  test::require_hub_clean();
}

TEST_CASE("serve_forever returns after stop() from another fiber; a second stop() returns 0") {
  StreamServer srv({.listen = {"127.0.0.1:0"}}, echo);
  auto stopper = greenev::spawn([&] {
    while (!srv.running()) greenev::sleep(10ms);
    CHECK(roundtrip(srv.addresses()[0], "ping") == "ping");
    return srv.stop(1s);
  });
  srv.serve_forever();
  CHECK(stopper.join() == 0);
  CHECK(srv.stop(1s) == 0);
  test::require_hub_clean();
}

TEST_CASE("idle_timeout closes a silent connection; request_timeout bounds a slow request") {
  StreamServer srv({.listen = {"127.0.0.1:0"}, .idle_timeout = 200ms, .request_timeout = 300ms}, [](Connection& c) {
    char b[64];
    c.set_idle(true);
    ssize_t n = c.read(b, sizeof b);
    if (n < 0 && errno == ETIMEDOUT) {
      c.write("idle-timeout", 12);
      return;
    }
    c.set_idle(false);
    for (;;) {  // the request ends with '.'
      if (n > 0 && b[n - 1] == '.') break;
      n = c.read(b, sizeof b);
      if (n < 0 && errno == ETIMEDOUT) {
        c.write("request-timeout", 15);
        return;
      }
      if (n <= 0) return;
    }
    c.write("complete", 8);
  });
  srv.start();
  const auto addr = srv.addresses()[0];
  int silent = test::dial(addr);
  CHECK(test::recv_all(silent) == "idle-timeout");
  int slow = test::dial(addr);
  auto dripper = greenev::spawn([slow] {  // one byte every 100 ms: each read is quick, the whole is not
    for (int i = 0; i < 10; ++i) {
      if (!test::send_all(slow, "a")) return;
      greenev::sleep(100ms);
    }
  });
  CHECK(test::recv_all(slow) == "request-timeout");
  dripper.join();
  int quick = test::dial(addr);
  test::send_all(quick, "ab.");
  CHECK(test::recv_all(quick) == "complete");
  for (int fd : {silent, slow, quick}) ::close(fd);
  srv.stop(1s);
  test::require_hub_clean();
}

TEST_CASE("unix:/path serves, removes a stale socket file, refuses a live one, unlinks on stop") {
  const std::string path = temp_path("unix");
  {  // a stale socket file: bound, then its owner died
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path.c_str(), sizeof sun.sun_path - 1);
    ::unlink(path.c_str());
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    ::close(s);
  }
  StreamServer srv({.listen = {"unix:" + path}}, echo);
  srv.start();
  CHECK(srv.addresses()[0] == "unix:" + path);
  CHECK(roundtrip("unix:" + path, "over unix") == "over unix");
  StreamServer second({.listen = {"unix:" + path}}, echo);
  CHECK_THROWS_AS(second.start(), std::system_error);
  CHECK(roundtrip("unix:" + path, "still mine") == "still mine");  // the live socket was not stolen
  srv.stop(1s);
  struct stat st;
  CHECK(::stat(path.c_str(), &st) != 0);  // unlinked
  {  // a regular file in the way is an error, never removed
    FILE* f = std::fopen(path.c_str(), "w");
    std::fclose(f);
    StreamServer third({.listen = {"unix:" + path}}, echo);
    CHECK_THROWS_AS(third.start(), std::system_error);
    CHECK(::stat(path.c_str(), &st) == 0);
    ::unlink(path.c_str());
  }
  test::require_hub_clean();
}

TEST_CASE("fd:N adopts a listening socket; a non-listening fd is refused with its address in the message") {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(s, 16) == 0);
  StreamServer srv({.listen = {"fd:" + std::to_string(s)}}, echo);
  srv.start();
  const auto addr = srv.addresses()[0];
  CHECK(addr.rfind("127.0.0.1:", 0) == 0);
  CHECK(roundtrip(addr, "adopted") == "adopted");
  srv.stop(1s);  // closes the adopted fd
  CHECK(::fcntl(s, F_GETFD) < 0);

  int p[2];
  REQUIRE(::pipe(p) == 0);
  StreamServer bad({.listen = {"fd:" + std::to_string(p[0])}}, echo);
  try {
    bad.start();
    FAIL("adopting a pipe must fail");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).find("fd:" + std::to_string(p[0])) != std::string::npos);
  }
  ::close(p[0]);
  ::close(p[1]);
  test::require_hub_clean();
}

TEST_CASE("[::1]:0 listens on IPv6; bad addresses are rejected naming the address") {
  StreamServer srv({.listen = {"[::1]:0", "127.0.0.1:0"}}, echo);
  try {
    srv.start();
  } catch (const std::system_error& e) {
    MESSAGE("no IPv6 loopback here: " << e.what());
    return;
  }
  auto addrs = srv.addresses();
  REQUIRE(addrs.size() == 2);
  CHECK(addrs[0].rfind("[::1]:", 0) == 0);
  CHECK(roundtrip(addrs[0], "six") == "six");
  CHECK(roundtrip(addrs[1], "four") == "four");
  srv.stop(1s);
  for (const char* badspec : {"127.0.0.1", "127.0.0.1:99999", "[::1:80", "fd:x"}) {
    StreamServer b({.listen = {badspec}}, echo);
    try {
      b.start();
      FAIL("accepted " << badspec);
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()).find(badspec) != std::string::npos);
    }
  }
  test::require_hub_clean();
}

TEST_CASE("a failed start closes what it had opened; the first address stays free") {
  StreamServer holder({.listen = {"127.0.0.1:0"}}, echo);
  holder.start();
  const auto taken = holder.addresses()[0];
  StreamServer srv({.listen = {"127.0.0.1:0", taken}}, echo);
  CHECK_THROWS_AS(srv.start(), std::system_error);
  CHECK(srv.addresses().empty());
  holder.stop(1s);
  test::require_hub_clean();
}

TEST_CASE("a void(int fd, peer) handler works as gevent's handle(socket, address)") {
  std::string seen_peer;
  StreamServer srv({.listen = {"127.0.0.1:0"}}, [&seen_peer](int fd, const std::string& peer) {
    seen_peer = peer;
    char b[16];
    const ssize_t n = ::read(fd, b, sizeof b);
    if (n > 0) ::write(fd, b, static_cast<size_t>(n));
  });
  srv.start();
  CHECK(roundtrip(srv.addresses()[0], "fd-style") == "fd-style");
  CHECK(seen_peer.rfind("127.0.0.1:", 0) == 0);
  srv.stop(1s);
  test::require_hub_clean();
}
