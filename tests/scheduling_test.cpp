// Scheduling order of the hub's ready queue (runtime/core/hub.hpp, ReadyQueue): work-first for what
// a running fiber spawns or wakes, yield()'s "everything ready runs first" contract, and the
// starvation bound. Counts and orders only: nothing here depends on timing.
#include "test_support.hpp"

#include <string>
#include <vector>

namespace {

std::size_t g_peak_alive = 0;

void note_alive() {
  const std::size_t n = greenev::hub_stats().fibers_alive;
  if (n > g_peak_alive) g_peak_alive = n;
}

// Go's skynet: each child sends its sum on its parent's unbuffered channel.
void skynet_chan(greenev::Channel<long long>& out, long long num, long long size) {
  note_alive();
  if (size == 1) {
    out.put(num);
    return;
  }
  greenev::Channel<long long> rc;
  const long long sub = size / 10;
  for (int i = 0; i < 10; ++i)
    greenev::spawn([&rc, n = num + i * sub, sub] { skynet_chan(rc, n, sub); }).detach();
  long long sum = 0;
  for (int i = 0; i < 10; ++i) sum += rc.get();
  out.put(sum);
}

}  // namespace

TEST_CASE("skynet written with channels runs depth-first: a few hundred fibers alive, not the whole tree") {
  g_peak_alive = 0;
  greenev::Channel<long long> top;
  greenev::spawn([&top] { skynet_chan(top, 0, 10000); }).detach();
  CHECK(top.get() == 10000LL * 9999 / 2);
  MESSAGE("peak fibers alive: ", g_peak_alive);
  // Breadth-first (a FIFO queue) has every node of a level alive at once: > 10000 here (11111
  // fibers in all). Depth-first keeps ~10 per level; the starvation bound's demotions add some.
  CHECK(g_peak_alive < 1000);
  test::require_hub_clean();
}

TEST_CASE("fibers a running fiber spawns run in spawn order, ahead of fibers that were already ready") {
  std::vector<std::string> order;
  greenev::Event hold, q_ran;
  auto p = greenev::spawn([&] {
    order.push_back("p");
    for (const char* n : {"a", "b", "c"}) greenev::spawn([&order, n] { order.push_back(n); }).detach();
    hold.wait();
  });
  auto q = greenev::spawn([&] {
    order.push_back("q");
    q_ran.set();
  });
  q_ran.wait();  // not join(): joining q would run it next (join hand-off)
  CHECK(order == std::vector<std::string>{"p", "a", "b", "c", "q"});
  hold.set();
  p.join();
  q.join();
  test::require_hub_clean();
}

TEST_CASE("fibers woken by a running fiber run in wake-up order when it suspends") {
  std::vector<int> order;
  greenev::Event ev;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 5; ++i)
    fs.push_back(greenev::spawn([&order, &ev, i] {
      ev.wait();
      order.push_back(i);
    }));
  greenev::this_fiber::yield();  // all five wait on ev
  ev.set();
  for (auto& f : fs) f.join();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  test::require_hub_clean();
}

TEST_CASE("yield lets every fiber that was ready run before the caller continues, spawned ones included") {
  int ran = 0;
  std::vector<greenev::Fiber<void>> fs;
  for (int i = 0; i < 3000; ++i) fs.push_back(greenev::spawn([&ran] { ++ran; }));
  greenev::this_fiber::yield();  // 3000 > the run-next streak bound: the bound must not cut in
  CHECK(ran == 3000);
  for (auto& f : fs) f.join();
  test::require_hub_clean();
}

TEST_CASE("two fibers handing a value back and forth do not starve a fiber queued behind them") {
  greenev::Channel<int> ch;
  bool stop = false;
  long long handoffs_before_third_ran = -1;
  long long handoffs = 0;
  auto a = greenev::spawn([&] {
    for (int i = 0; !stop && i < 1000000; ++i) ch.put(i);
    ch.close();
  });
  auto b = greenev::spawn([&] {
    try {
      for (;;) {
        ch.get();
        ++handoffs;
      }
    } catch (const greenev::ChannelClosed&) {
    }
  });
  auto c = greenev::spawn([&] {
    handoffs_before_third_ran = handoffs;
    stop = true;
  });
  a.join();
  b.join();
  c.join();
  MESSAGE("hand-offs before the third fiber ran: ", handoffs_before_third_ran);
  CHECK(handoffs_before_third_ran >= 0);
  CHECK(handoffs_before_third_ran < 10000);  // bounded by the streak limit (256 dispatches), not by the loop
  test::require_hub_clean();
}
