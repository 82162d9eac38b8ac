// Child program for diag_test: a hub held in different ways, with the blocked-hub monitor on
// (GREENEV_MONITOR from the test, or start_monitor for the callback case). Built -O0 -g so the
// named functions below appear in backtraces with their lines.
//   spin      a fiber named 'spinner' spins for 300 ms
//   rawread   a fiber calls syscall(SYS_read) on an empty pipe; a thread writes 400 ms later
//   fread     a fiber freads a pipe through stdio; a thread writes 400 ms later
//   callback  start_monitor(50ms, callback); a fiber spins 300 ms; prints the report's fields
//   idle      fibers sleep 400 ms in total (no report expected: the hub is in its loop)
#include <greenev/greenev.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

[[gnu::noinline]] void spin_for_a_while(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  volatile unsigned long sink = 0;
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;
}

[[gnu::noinline]] long raw_blocking_read(int fd, char* buf) { return ::syscall(SYS_read, fd, buf, 16); }

[[gnu::noinline]] size_t stdio_blocking_read(FILE* f, char* buf) { return std::fread(buf, 1, 4, f); }

std::thread write_later(int fd) {
  return std::thread([fd] {
    std::this_thread::sleep_for(400ms);
    [[maybe_unused]] ssize_t n = ::write(fd, "ping", 4);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  // Load the debug information before the stall (a dump symbolizes): the monitor's report then
  // comes out in milliseconds instead of after the first, slow, DWARF load. (hub_stats() creates
  // this thread's hub, so the dump has a stack to symbolize and waits for the symbolizer.)
  (void)greenev::hub_stats();
  (void)greenev::diag::fiber_dump();
  if (mode == "spin") {
    auto f = greenev::spawn([] { spin_for_a_while(300ms); });
    f.set_name("spinner");
    f.join();
  } else if (mode == "rawread") {
    int p[2];
    if (::pipe(p) != 0) return 2;
    std::printf("pipe read fd %d\n", p[0]);
    std::fflush(stdout);
    std::thread t = write_later(p[1]);
    auto f = greenev::spawn([&] {
      char buf[16];
      std::printf("raw read returned %ld\n", raw_blocking_read(p[0], buf));
    });
    f.set_name("raw-reader");
    f.join();
    t.join();
  } else if (mode == "fread") {
    int p[2];
    if (::pipe(p) != 0) return 2;
    FILE* in = ::fdopen(p[0], "r");
    std::thread t = write_later(p[1]);
    auto f = greenev::spawn([&] {
      char buf[8];
      std::printf("fread returned %zu\n", stdio_blocking_read(in, buf));
    });
    f.set_name("stdio-reader");
    f.join();
    t.join();
    std::fclose(in);
  } else if (mode == "callback") {
    std::atomic<int> calls{0};
    greenev::diag::BlockedReport seen;
    std::mutex mu;
    greenev::diag::start_monitor(50ms, [&](const greenev::diag::BlockedReport& r) {
      std::lock_guard lk(mu);
      seen = r;
      ++calls;
    });
    auto f = greenev::spawn([] { spin_for_a_while(300ms); });
    f.set_name("cb-spinner");
    f.join();
    greenev::sleep(100ms);  // the monitor notices the episode ended
    greenev::diag::stop_monitor();
    std::lock_guard lk(mu);
    std::printf("calls %d\n", calls.load());
    std::printf("fiber '%s' id_matches %d\n", seen.fiber_name.c_str(), seen.fiber_id == f.id());
    std::printf("blocked_ms_at_least_50 %d\n", seen.blocked_for >= 50ms);
    std::printf("in_syscall %d\n", seen.in_syscall);
    bool has_spin = false;
    for (auto& l : seen.backtrace) has_spin |= l.find("spin_for_a_while") != std::string::npos;
    std::printf("backtrace_has_spin %d\n", has_spin);
    std::printf("caller_object %s\n", seen.caller_object.c_str());
    std::printf("episodes %llu\n", static_cast<unsigned long long>(greenev::metrics::this_hub().blocked_episodes));
  } else if (mode == "idle") {
    auto a = greenev::spawn([] { greenev::sleep(200ms); });
    auto b = greenev::spawn([] {
      for (int i = 0; i < 20; ++i) greenev::sleep(10ms);
    });
    a.join();
    b.join();
    std::printf("idle done\n");
  } else {
    std::fprintf(stderr, "usage: diag_blocked spin|rawread|fread|callback|idle\n");
    return 2;
  }
  // Come back to the loop for a while: the monitor prints its "back in its event loop" line (and
  // finishes any report still being symbolized) before the process exits.
  if (mode != "callback") greenev::sleep(500ms);
  std::printf("done\n");
  return 0;
}
