// When a busy hub polls its loop (runtime/core/hub.hpp, poll_due): once per round of the fibers
// the last poll woke, not every 64 switches — a poll in the middle of the round only re-reports
// the fds of fibers still queued — and at the latest every 10 ms, so fibers that keep each other
// ready never starve I/O. Each fiber spins 10 us: a round of 300 takes ~3 ms; the bound allows
// one more poll per 10 ms the round really took.
#include "test_support.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <vector>

namespace {

using namespace std::chrono_literals;

void spin_for(std::chrono::microseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace

TEST_CASE("fibers woken by one poll all run before the next poll") {
  constexpr int kConns = 300;  // 300 x 10 us = 3 ms: under the 10 ms cap, far over 64 switches
  std::vector<std::array<int, 2>> pairs(kConns);
  for (auto& p : pairs) REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p.data()) == 0);
  int ran = 0, measured = 0;
  std::uint64_t first_iter = 0, last_iter = 0;
  std::chrono::steady_clock::time_point t_first, t_last;
  greenev::Event warmed;
  greenev::Group g;
  for (auto& p : pairs) {
    g.spawn([&, fd = p[0]] {
      char c;
      // Round 1 grows libev's epoll event buffer (64 entries at first) to hold every reader.
      REQUIRE(::read(fd, &c, 1) == 1);
      if (++ran == kConns) warmed.set();
      // Round 2, measured: one poll wakes every reader.
      REQUIRE(::read(fd, &c, 1) == 1);
      const std::uint64_t it = greenev::hub_stats().loop_iterations;
      if (measured++ == 0) {
        first_iter = it;
        t_first = std::chrono::steady_clock::now();
      }
      last_iter = it;
      t_last = std::chrono::steady_clock::now();
      spin_for(10us);
    });
  }
  greenev::sleep(20ms);  // every reader has started and parked
  for (auto& p : pairs) REQUIRE(::write(p[1], "x", 1) == 1);
  warmed.wait();
  greenev::sleep(20ms);  // every reader is parked again
  for (auto& p : pairs) REQUIRE(::write(p[1], "y", 1) == 1);
  g.join();
  CHECK(measured == kConns);
  // Every 64 switches (the old rule) would be 4 polls inside the round; once per round is 0,
  // plus a spare for a reader a later poll found, plus one per 10 ms the round took (the cap: a
  // sanitizer build or a loaded machine can stretch the 3 ms round past it).
  const auto round_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t_last - t_first).count();
  CHECK(last_iter - first_iter <= 1 + static_cast<std::uint64_t>(round_ms / 10));
  for (auto& p : pairs) {
    ::close(p[0]);
    ::close(p[1]);
  }
  test::require_hub_clean();
}

TEST_CASE("fibers that keep each other ready do not starve a timer") {
  // Two fibers waking each other forever keep the ready queue non-empty; a timer must still fire.
  greenev::Channel<int> a, b;
  bool stop = false;
  auto ping = greenev::spawn([&] {
    while (!stop) {
      a.put(1);
      b.get();
    }
  });
  auto pong = greenev::spawn([&] {
    while (!stop) {
      a.get();
      b.put(1);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto sleeper = greenev::spawn([] { greenev::sleep(5ms); });
  sleeper.join();
  CHECK(test::ms_since(t0) < 1000);
  stop = true;
  ping.kill();
  pong.kill();
  test::require_hub_clean();
}
