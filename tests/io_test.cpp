// Cooperative I/O and the patched libc calls, in-process: the edge cases of issue 4.
// (Process-wide settings — SIGPIPE, signal storms, static linking, GREENEV_PATCHES — are in
// io_child_test.cpp, which runs tests/progs/io_*.)
#include "test_support.hpp"

#include <greenev/io.hpp>
#include <greenev/patches.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct Pair {
  int a = -1, b = -1;
  explicit Pair(int flags = 0) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | flags, 0, sv) == 0);
    a = sv[0];
    b = sv[1];
  }
  ~Pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    r = p[0];
    w = p[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

std::uint64_t switches() { return greenev::hub_stats().switches; }

}  // namespace

TEST_CASE("read() in a fiber yields until data arrives, and other fibers run meanwhile") {
  Pair p;
  int ticks = 0;
  auto ticker = greenev::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      greenev::sleep(2ms);
      ++ticks;
    }
    CHECK(::write(p.b, "hello", 5) == 5);
  });
  char buf[16];
  const auto s0 = switches();
  CHECK(::read(p.a, buf, sizeof buf) == 5);
  CHECK(ticks == 5);
  CHECK(switches() > s0);
  ticker.join();
  test::require_hub_clean();
}

TEST_CASE("close() wakes a fiber blocked in read() with EBADF within 100 ms") {
  Pair p;
  int fd = p.a;
  int err = 0;
  ssize_t r = 0;
  auto reader = greenev::spawn([&] {
    char c;
    r = ::read(fd, &c, 1);
    err = errno;
  });
  greenev::sleep(10ms);
  auto t0 = std::chrono::steady_clock::now();
  ::close(fd);
  p.a = -1;
  reader.join();
  CHECK(test::ms_since(t0) < 100);
  CHECK(r == -1);
  CHECK(err == EBADF);
  test::require_hub_clean();
}

TEST_CASE("a reused fd number after close does not confuse the old watcher") {
  int old_fd;
  {
    Pipe a;
    old_fd = a.r;
    // Leave a watcher behind: a timed-out wait keeps it registered (lingering).
    CHECK_FALSE(greenev::wait_readable(a.r, 5ms));
  }
  Pipe b;  // gets the lowest free numbers: very likely the same ones
  MESSAGE("old fd ", old_fd, " new read fd ", b.r);
  auto writer = greenev::spawn([&] {
    greenev::sleep(5ms);
    CHECK(::write(b.w, "x", 1) == 1);
  });
  char c = 0;
  CHECK(::read(b.r, &c, 1) == 1);
  CHECK(c == 'x');
  writer.join();
  test::require_hub_clean();
}

TEST_CASE("user-set O_NONBLOCK gets EAGAIN at once with zero yields, in every spelling") {
  char c;
  SUBCASE("fcntl F_SETFL, and F_GETFL shows the user's view") {
    Pair p;
    CHECK((::fcntl(p.a, F_GETFL) & O_NONBLOCK) == 0);
    auto s0 = switches();
    // Make it cooperative first (greenev sets O_NONBLOCK underneath) ...
    auto w = greenev::spawn([&] { CHECK(::write(p.b, "x", 1) == 1); });
    CHECK(::read(p.a, &c, 1) == 1);
    w.join();
    CHECK((::fcntl(p.a, F_GETFL) & O_NONBLOCK) == 0);  // ... which the user does not see
    CHECK(::fcntl(p.a, F_SETFL, ::fcntl(p.a, F_GETFL) | O_NONBLOCK) == 0);
    CHECK((::fcntl(p.a, F_GETFL) & O_NONBLOCK) != 0);
    s0 = switches();
    CHECK(::read(p.a, &c, 1) == -1);
    CHECK(errno == EAGAIN);
    CHECK(switches() == s0);
    // And back to blocking: the read waits again.
    CHECK(::fcntl(p.a, F_SETFL, ::fcntl(p.a, F_GETFL) & ~O_NONBLOCK) == 0);
    CHECK((::fcntl(p.a, F_GETFL) & O_NONBLOCK) == 0);
    auto w2 = greenev::spawn([&] { CHECK(::write(p.b, "y", 1) == 1); });
    CHECK(::read(p.a, &c, 1) == 1);
    w2.join();
  }
  SUBCASE("ioctl FIONBIO") {
    Pair p;
    int on = 1;
    CHECK(::ioctl(p.a, FIONBIO, &on) == 0);
    auto s0 = switches();
    CHECK(::recv(p.a, &c, 1, 0) == -1);
    CHECK(errno == EAGAIN);
    CHECK(switches() == s0);
  }
  SUBCASE("SOCK_NONBLOCK") {
    Pair p(SOCK_NONBLOCK);
    auto s0 = switches();
    CHECK(::read(p.a, &c, 1) == -1);
    CHECK(errno == EAGAIN);
    CHECK(switches() == s0);
    CHECK((::fcntl(p.a, F_GETFL) & O_NONBLOCK) != 0);
  }
  SUBCASE("MSG_DONTWAIT on one call only") {
    Pair p;
    auto s0 = switches();
    CHECK(::recv(p.a, &c, 1, MSG_DONTWAIT) == -1);
    CHECK(errno == EAGAIN);
    CHECK(switches() == s0);
  }
  SUBCASE("accept4(SOCK_NONBLOCK) on a non-blocking listener, and a non-blocking connect") {
    int l = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(l, 16) == 0);
    socklen_t al = sizeof a;
    ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &al);
    auto s0 = switches();
    CHECK(::accept4(l, nullptr, nullptr, SOCK_NONBLOCK) == -1);
    CHECK(errno == EAGAIN);
    int c1 = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int rc = ::connect(c1, reinterpret_cast<sockaddr*>(&a), sizeof a);
    CHECK((rc == 0 || errno == EINPROGRESS));
    CHECK(switches() == s0);
    greenev::wait_readable(l);
    int s = ::accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    REQUIRE(s >= 0);
    s0 = switches();
    CHECK(::read(s, &c, 1) == -1);
    CHECK(errno == EAGAIN);
    CHECK(switches() == s0);
    ::close(s);
    ::close(c1);
    ::close(l);
  }
  test::require_hub_clean();
}

TEST_CASE("SO_RCVTIMEO expires with EAGAIN and getsockopt still reports it") {
  Pair p;
  timeval tv{0, 50'000};
  REQUIRE(::setsockopt(p.a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  char c;
  auto t0 = std::chrono::steady_clock::now();
  CHECK(::recv(p.a, &c, 1, 0) == -1);
  CHECK(errno == EAGAIN);
  double ms = test::ms_since(t0);
  CHECK(ms >= 45);
  CHECK(ms < 500);
  timeval got{};
  socklen_t gl = sizeof got;
  REQUIRE(::getsockopt(p.a, SOL_SOCKET, SO_RCVTIMEO, &got, &gl) == 0);
  CHECK(got.tv_sec == 0);
  CHECK(got.tv_usec >= 50'000);  // the kernel rounds up to its tick
  test::require_hub_clean();
}

TEST_CASE("a 64 MiB write to a slow reader returns 64 MiB") {
  Pair p;
  constexpr std::size_t kSize = 64u << 20;
  std::vector<char> out(kSize);
  for (std::size_t i = 0; i < kSize; ++i) out[i] = static_cast<char>(i * 7);
  std::size_t got = 0;
  bool same = true;
  auto reader = greenev::spawn([&] {
    std::vector<char> buf(256 << 10);
    int n = 0;
    while (got < kSize) {
      ssize_t r = ::read(p.b, buf.data(), buf.size());
      REQUIRE(r > 0);
      if (std::memcmp(buf.data(), out.data() + got, static_cast<std::size_t>(r)) != 0) same = false;
      got += static_cast<std::size_t>(r);
      if (++n % 16 == 0) ::usleep(1000);  // slow: a patched sleep every 16 reads
    }
  });
  ssize_t w = ::write(p.a, out.data(), kSize);
  CHECK(w == static_cast<ssize_t>(kSize));
  reader.join();
  CHECK(got == kSize);
  CHECK(same);
  test::require_hub_clean();
}

TEST_CASE("errno set before a yielding call survives the fibers that ran meanwhile") {
  Pair p;
  auto noisy = greenev::spawn([&] {
    for (int i = 0; i < 5; ++i) {
      errno = EIO;
      greenev::sleep(1ms);
    }
    CHECK(::write(p.b, "z", 1) == 1);
  });
  errno = 4242;
  char c;
  CHECK(::read(p.a, &c, 1) == 1);
  CHECK(errno == 4242);
  noisy.join();
  test::require_hub_clean();
}

TEST_CASE("a Timeout reaching into a patched read returns ETIMEDOUT, then raises TimeoutError") {
  Pair p;
  greenev::Timeout t(30ms);
  char c;
  auto t0 = std::chrono::steady_clock::now();
  CHECK(::read(p.a, &c, 1) == -1);
  CHECK(errno == ETIMEDOUT);
  CHECK(test::ms_since(t0) >= 25);
  // The scope fired once (docs/interrupts.md): a later patched call in it is no longer bounded by
  // it and waits as usual...
  auto writer = greenev::spawn([&] {
    greenev::this_fiber::yield();
    CHECK(::write(p.b, "x", 1) == 1);
  });
  CHECK(::read(p.a, &c, 1) == 1);
  // ... and the next greenev suspension point raises the owed TimeoutError.
  CHECK_THROWS_AS(greenev::sleep(1ms), greenev::TimeoutError);
  writer.join();
  test::require_hub_clean();
}

TEST_CASE("kill() of a fiber inside a patched read returns ECANCELED there, then unwinds it") {
  Pair p;
  int err = 0;
  bool after = false;
  auto f = greenev::spawn([&] {
    char c;
    CHECK(::read(p.a, &c, 1) == -1);
    err = errno;
    greenev::sleep(1ms);  // FiberExit here
    after = true;
  });
  greenev::sleep(5ms);
  f.kill();
  CHECK(err == ECANCELED);
  CHECK_FALSE(after);
  CHECK(f.killed());
  test::require_hub_clean();
}

TEST_CASE("two fibers reading one socket are served in FIFO order, each retrying") {
  Pair p;
  std::vector<int> order;
  auto r1 = greenev::spawn([&] {
    char c;
    CHECK(::read(p.a, &c, 1) == 1);
    order.push_back(1);
  });
  auto r2 = greenev::spawn([&] {
    char c;
    CHECK(::read(p.a, &c, 1) == 1);
    order.push_back(2);
  });
  greenev::sleep(5ms);
  CHECK(::write(p.b, "a", 1) == 1);
  greenev::sleep(5ms);
  CHECK(order == std::vector<int>{1});
  CHECK(::write(p.b, "b", 1) == 1);
  r1.join();
  r2.join();
  CHECK(order == std::vector<int>{1, 2});
  test::require_hub_clean();
}

TEST_CASE("blocking-style TCP: connect, accept, write, read between fibers") {
  int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(l, 128) == 0);
  socklen_t al = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &al);
  constexpr int kClients = 20;
  auto server = greenev::spawn([&] {
    std::vector<greenev::Fiber<void>> conns;
    for (int i = 0; i < kClients; ++i) {
      int s = ::accept(l, nullptr, nullptr);
      REQUIRE(s >= 0);
      conns.push_back(greenev::spawn([s] {
        char buf[64];
        ssize_t n;
        while ((n = ::read(s, buf, sizeof buf)) > 0) CHECK(::write(s, buf, static_cast<size_t>(n)) == n);
        ::close(s);
      }));
    }
    for (auto& c : conns) c.join();
  });
  std::vector<greenev::Fiber<void>> clients;
  int ok = 0;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(greenev::spawn([&, i] {
      int c = ::socket(AF_INET, SOCK_STREAM, 0);
      REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
      for (int k = 0; k < 10; ++k) {
        char msg[16], back[16];
        int n = std::snprintf(msg, sizeof msg, "c%d-%d", i, k);
        REQUIRE(::send(c, msg, static_cast<size_t>(n), 0) == n);
        REQUIRE(::recv(c, back, static_cast<size_t>(n), MSG_WAITALL) == n);
        CHECK(std::memcmp(msg, back, static_cast<size_t>(n)) == 0);
      }
      ::close(c);
      ++ok;
    }));
  for (auto& c : clients) c.join();
  server.join();
  ::close(l);
  CHECK(ok == kClients);
  test::require_hub_clean();
}

TEST_CASE("connect to a closed port fails with ECONNREFUSED") {
  int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t al = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &al);
  ::close(l);  // bound, never listened, closed: nothing there
  int c = ::socket(AF_INET, SOCK_STREAM, 0);
  CHECK(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == -1);
  CHECK(errno == ECONNREFUSED);
  ::close(c);
  test::require_hub_clean();
}

TEST_CASE("poll: timeout 0 never yields, nfds 0 sleeps, duplicates and fds >= 1024 work") {
  Pair p;
  SUBCASE("timeout 0") {
    pollfd f{p.a, POLLIN, 0};
    auto s0 = switches();
    CHECK(::poll(&f, 1, 0) == 0);
    CHECK(switches() == s0);
  }
  SUBCASE("nfds 0 is a sleep, and other fibers run") {
    bool ran = false;
    auto o = greenev::spawn([&] { ran = true; });
    auto t0 = std::chrono::steady_clock::now();
    CHECK(::poll(nullptr, 0, 20) == 0);
    CHECK(test::ms_since(t0) >= 19);
    CHECK(ran);
    o.join();
  }
  SUBCASE("timeout expiry returns 0") {
    pollfd f{p.a, POLLIN, 0};
    auto t0 = std::chrono::steady_clock::now();
    CHECK(::poll(&f, 1, 20) == 0);
    CHECK(test::ms_since(t0) >= 19);
  }
  SUBCASE("duplicate fds in one array") {
    pollfd f[3] = {{p.a, POLLIN, 0}, {p.a, POLLIN, 0}, {p.a, POLLOUT, 0}};
    f[2].fd = -1;  // ignored
    auto w = greenev::spawn([&] {
      greenev::sleep(5ms);
      CHECK(::write(p.b, "x", 1) == 1);
    });
    CHECK(::poll(f, 3, 1000) == 2);
    CHECK((f[0].revents & POLLIN));
    CHECK((f[1].revents & POLLIN));
    CHECK(f[2].revents == 0);
    w.join();
  }
  SUBCASE("fds >= 1024") {
    rlimit rl;
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2100 && rl.rlim_max >= 2100) {
      rl.rlim_cur = 2100;
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    int hi = ::fcntl(p.a, F_DUPFD, 2000);
    REQUIRE(hi >= 2000);
    pollfd f{hi, POLLIN, 0};
    auto w = greenev::spawn([&] {
      greenev::sleep(5ms);
      CHECK(::write(p.b, "x", 1) == 1);
    });
    auto s0 = switches();
    CHECK(::poll(&f, 1, 1000) == 1);
    CHECK(switches() > s0);
    char c;
    CHECK(::read(hi, &c, 1) == 1);
    w.join();
    ::close(hi);
  }
  SUBCASE("a closed fd is POLLNVAL at once") {
    Pipe q;
    int fd = q.r;
    ::close(q.r);
    q.r = -1;
    pollfd f{fd, POLLIN, 0};
    CHECK(::poll(&f, 1, 1000) == 1);
    CHECK((f.revents & POLLNVAL));
  }
  test::require_hub_clean();
}

TEST_CASE("select: waits cooperatively, maps results back, updates the timeval, EBADF") {
  Pair p;
  fd_set r;
  FD_ZERO(&r);
  FD_SET(p.a, &r);
  timeval tv{1, 0};
  auto w = greenev::spawn([&] {
    greenev::sleep(10ms);
    CHECK(::write(p.b, "x", 1) == 1);
  });
  auto s0 = switches();
  CHECK(::select(p.a + 1, &r, nullptr, nullptr, &tv) == 1);
  CHECK(FD_ISSET(p.a, &r));
  CHECK(switches() > s0);
  CHECK(tv.tv_sec == 0);  // time left: about 990 ms
  w.join();
  // timeout
  FD_ZERO(&r);
  char c;
  CHECK(::read(p.a, &c, 1) == 1);
  FD_SET(p.a, &r);
  tv = {0, 20'000};
  CHECK(::select(p.a + 1, &r, nullptr, nullptr, &tv) == 0);
  CHECK_FALSE(FD_ISSET(p.a, &r));
  // invalid fd
  Pipe q;
  int bad = q.w;
  ::close(q.w);
  q.w = -1;
  fd_set wr;
  FD_ZERO(&wr);
  FD_SET(bad, &wr);
  tv = {1, 0};
  CHECK(::select(bad + 1, nullptr, &wr, nullptr, &tv) == -1);
  CHECK(errno == EBADF);
  test::require_hub_clean();
}

TEST_CASE("epoll_wait waits on the epoll fd's readability") {
  Pair p;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = p.a;
  REQUIRE(::epoll_ctl(ep, EPOLL_CTL_ADD, p.a, &ev) == 0);
  auto w = greenev::spawn([&] {
    greenev::sleep(10ms);
    CHECK(::write(p.b, "x", 1) == 1);
  });
  epoll_event out[4];
  auto s0 = switches();
  CHECK(::epoll_wait(ep, out, 4, 1000) == 1);
  const int ready_fd = out[0].data.fd;
  CHECK(ready_fd == p.a);
  CHECK(switches() > s0);
  w.join();
  char c;
  CHECK(::read(p.a, &c, 1) == 1);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(::epoll_wait(ep, out, 4, 20) == 0);
  CHECK(test::ms_since(t0) >= 19);
  ::close(ep);
  test::require_hub_clean();
}

TEST_CASE("the sleep family yields: 20 fibers each sleeping 50 ms take about 50 ms") {
  std::vector<greenev::Fiber<void>> fs;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i)
    fs.push_back(greenev::spawn([i] {
      switch (i % 4) {
        case 0: ::usleep(50'000); break;
        case 1: {
          timespec ts{0, 50'000'000};
          CHECK(::nanosleep(&ts, nullptr) == 0);
          break;
        }
        case 2: {
          timespec ts{0, 50'000'000};
          CHECK(::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr) == 0);
          break;
        }
        case 3: {
          timespec now;
          ::clock_gettime(CLOCK_REALTIME, &now);
          now.tv_nsec += 50'000'000;
          if (now.tv_nsec >= 1'000'000'000) {
            now.tv_nsec -= 1'000'000'000;
            ++now.tv_sec;
          }
          CHECK(::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &now, nullptr) == 0);
          break;
        }
      }
    }));
  for (auto& f : fs) f.join();
  double ms = test::ms_since(t0);
  CHECK(ms >= 49);
  CHECK(ms < 400);
  test::require_hub_clean();
}

TEST_CASE("a plain std::thread passes through, even on an fd greenev made non-blocking") {
  Pair p;
  // Cooperative use first: the real fd becomes O_NONBLOCK underneath.
  auto w = greenev::spawn([&] { CHECK(::write(p.b, "1", 1) == 1); });
  char c;
  CHECK(::read(p.a, &c, 1) == 1);
  w.join();
  ssize_t r = 0;
  std::thread t([&] {
    char d;
    r = ::read(p.a, &d, 1);  // blocks its thread (the blocking view), not EAGAIN
    ::usleep(1000);          // the real usleep
  });
  ::usleep(20'000);          // cooperative: the hub idles, the thread is blocked
  CHECK(::write(p.b, "2", 1) == 1);
  t.join();
  CHECK(r == 1);
  test::require_hub_clean();
}

TEST_CASE("patches::Disable makes one call site blocking and unpatched") {
  Pair p;
  CHECK(greenev::patches::enabled());
  CHECK(::write(p.b, "x", 1) == 1);
  auto s0 = switches();
  {
    greenev::patches::Disable off;
    ::usleep(2000);  // the real one: no switch
    char c;
    CHECK(::read(p.a, &c, 1) == 1);
  }
  CHECK(switches() == s0);
  test::require_hub_clean();
}

TEST_CASE("wait_readable / wait_writable: timeout, readiness, EBADF on close") {
  Pair p;
  CHECK_FALSE(greenev::wait_readable(p.a, 10ms));
  CHECK(greenev::wait_writable(p.a, 10ms));
  auto closer = greenev::spawn([&] {
    greenev::sleep(5ms);
    ::close(p.a);
    p.a = -1;
  });
  int fd = p.a;
  CHECK_THROWS_AS(greenev::wait_readable(fd, 1s), std::system_error);
  closer.join();
  test::require_hub_clean();
}
