// Interruption semantics of the patched calls (issues 7 and 14; docs/interrupts.md): the Timeout
// contract in-process, and child programs (tests/progs/interrupts.cpp) for what hangs, spins,
// touches signals or resource limits.
#include "test_support.hpp"

#include <greenev/patches.hpp>

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

struct Pair {
  int a = -1, b = -1;
  Pair() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    a = sv[0];
    b = sv[1];
  }
  ~Pair() {
    ::close(a);
    ::close(b);
  }
};

void child_ok(const char* mode, const char* ok, std::vector<std::string> env = {}) {
  auto r = test::run_child("interrupts", {mode}, std::move(env));
  INFO(r.out);
  CHECK_FALSE(r.signaled);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(ok) != std::string::npos);
}

}  // namespace

TEST_CASE("a Timeout fires once in a patched call: ETIMEDOUT, later patched sleeps sleep, then TimeoutError") {
  Pair p;
  auto f = greenev::spawn([&] {
    greenev::Timeout t(50ms);
    char c;
    errno = 0;
    CHECK(::read(p.a, &c, 1) == -1);
    CHECK(errno == ETIMEDOUT);
    CHECK(t.expired());
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(::usleep(60'000) == 0);  // the scope fired: no longer bounds patched calls
    CHECK(test::ms_since(t0) >= 55);
    try {
      greenev::sleep(1ms);  // the next greenev suspension point owes the TimeoutError
      FAIL("no TimeoutError at the next suspension point");
    } catch (const greenev::TimeoutError& e) {
      CHECK(e.is(t));
    }
  });
  f.join();
  test::require_hub_clean();
}

TEST_CASE("a TimeoutError still owed when its scope ends is dropped") {
  Pair p;
  auto f = greenev::spawn([&] {
    {
      greenev::Timeout t(20ms);
      char c;
      CHECK(::read(p.a, &c, 1) == -1);
      CHECK(errno == ETIMEDOUT);
    }
    greenev::sleep(1ms);  // outside the scope: nothing is raised
  });
  CHECK_NOTHROW(f.join());
  test::require_hub_clean();
}

TEST_CASE("an outer Timeout still bounds a patched call after an inner one fired") {
  Pair p;
  auto f = greenev::spawn([&] {
    greenev::Timeout outer(150ms);
    {
      greenev::Timeout inner(20ms);
      char c;
      CHECK(::read(p.a, &c, 1) == -1);
      CHECK(errno == ETIMEDOUT);
    }
    char c;
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(::read(p.a, &c, 1) == -1);  // the outer scope has not fired yet: it bounds this one
    CHECK(errno == ETIMEDOUT);
    CHECK(test::ms_since(t0) < 5000);
    CHECK_THROWS_AS(greenev::this_fiber::yield(), greenev::TimeoutError);
  });
  f.join();
  test::require_hub_clean();
}

TEST_CASE("sleep(0), usleep(0) and nanosleep(0) in a fiber return at once and yield") {
  child_ok("sleep0", "sleep0: ok");
}

TEST_CASE("an accept loop that retries on EMFILE lets the fiber that frees fds run") {
  child_ok("emfile", "emfile: ok");
}

TEST_CASE("kill() returns although the victim retries forever on ECANCELED") {
  child_ok("kill_spin", "kill_spin: ok");
}

TEST_CASE("a signal with a user handler interrupts the main fiber's patched call with EINTR") {
  child_ok("eintr", "eintr: ok");
}

TEST_CASE("SIGPIPE: EPIPE by default; GREENEV_SIGPIPE=posix gives the kernel's SIGPIPE") {
  child_ok("sigpipe", "sigpipe: EPIPE");
  auto r = test::run_child("interrupts", {"sigpipe"}, {"GREENEV_SIGPIPE=posix"});
  INFO(r.out);
  CHECK(r.signaled);
  CHECK(r.signal == SIGPIPE);
  CHECK(r.out.find("sigpipe: pipe write") == std::string::npos);  // died in the first write
}
