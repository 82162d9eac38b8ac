// Child program for diag_test: fiber dumps. Built -O0 -g so the parking functions below show up
// in the suspended fibers' backtraces.
//   api      fibers parked on an Event, in a sleep, not started, and one on another thread's hub;
//            main prints greenev::diag::fiber_dump() and then cleans everything up
//   signal   GREENEV_DUMP_SIGNAL=USR2 from the test: a parked fiber, then raise(SIGUSR2)
#include <greenev/greenev.hpp>

#include <chrono>
#include <csignal>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

[[gnu::noinline]] void wait_for_the_event(greenev::Event& ev) { ev.wait(); }

[[gnu::noinline]] void nap_for_a_long_time() { greenev::sleep(30s); }

[[gnu::noinline]] void other_thread_waiter(greenev::Event& ev) { ev.wait(); }

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "api") {
    greenev::Event ev;
    auto waiter = greenev::spawn([&] { wait_for_the_event(ev); });
    waiter.set_name("event-waiter");
    auto napper = greenev::spawn([] { nap_for_a_long_time(); });
    napper.set_name("napper");
    greenev::this_fiber::yield();  // both park
    auto unstarted = greenev::spawn([] {});
    unstarted.set_name("never-ran-yet");  // stays unstarted: main does not park before the dump

    // A second thread with its own hub and a parked fiber.
    std::atomic<bool> ready{false}, release{false};
    std::thread other([&] {
      greenev::Event oev;
      auto f = greenev::spawn([&] { other_thread_waiter(oev); });
      f.set_name("other-thread-fiber");
      greenev::this_fiber::yield();
      ready = true;
      while (!release) greenev::sleep(5ms);
      oev.set();
      f.join();
    });
    {
      greenev::patches::Disable real_sleep;  // a thread sleep, not a fiber one: 'never-ran-yet' must not start
      while (!ready) std::this_thread::sleep_for(1ms);
      std::this_thread::sleep_for(50ms);  // the napper has been parked a measurable time
    }

    std::string dump = greenev::diag::fiber_dump();
    std::fwrite(dump.data(), 1, dump.size(), stdout);

    release = true;
    other.join();
    ev.set();
    waiter.join();
    napper.kill();
    unstarted.join();
    std::printf("alive after cleanup %zu\n", greenev::hub_stats().fibers_alive);
  } else if (mode == "signal") {
    (void)greenev::diag::fiber_dump();  // the symbolizer has loaded the debug information
    greenev::Event ev;
    auto waiter = greenev::spawn([&] { wait_for_the_event(ev); });
    waiter.set_name("signal-dumped");
    greenev::this_fiber::yield();
    const auto spawned = greenev::metrics::this_hub().fibers_spawned;
    std::raise(SIGUSR2);
    // The dump thread asks this hub through its inbox (a posted fiber collects the stacks): keep
    // the loop going until that fiber has run; the rest of the dump is printed before exit.
    for (int i = 0; i < 1000 && greenev::metrics::this_hub().fibers_spawned == spawned; ++i) greenev::sleep(10ms);
    ev.set();
    waiter.join();
  } else {
    std::fprintf(stderr, "usage: diag_dump api|signal\n");
    return 2;
  }
  std::printf("done\n");
  return 0;
}
