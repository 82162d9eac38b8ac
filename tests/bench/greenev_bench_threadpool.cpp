// greenev_bench_threadpool.cpp — run_blocking round trip: fiber -> worker thread -> fiber, against
// a floor of the same shape measured in the same process on the same CPUs.
//
//   run_blocking.greenev  ns per run_blocking([]{}) from the main fiber, one call at a time:
//                         submit (pool mutex, wake an idle worker), park, worker runs the empty
//                         job and posts it on the hub's completion list (one ev_async_send), the
//                         hub drains it and resumes the fiber.
//   run_blocking.eventfd_floor  the same shape without greenev: the main thread writes an eventfd,
//                         a worker thread blocked in read() wakes and writes a second eventfd, the
//                         main thread blocked in epoll_wait() on it (as the hub is) wakes and
//                         reads it. Two kernel wake-ups, what any "run this on a thread and wait"
//                         costs at least. Run interleaved with the greenev rounds (10 chunks
//                         each, alternating; medians of the chunks), so both see the same CPUs
//                         and the same neighbours. Where the two threads land decides the number
//                         (cross-CPU wake-ups cost a hypervisor IPI on a VM): the runner runs this
//                         program unpinned (bench run_blocking) and pinned to one CPU
//                         (suffix=_samecpu: bench run_blocking_samecpu).
//   run_blocking_x8.greenev  ns per call with 8 fibers calling concurrently (throughput view).
//
// args: iters=100000 only=run_blocking,run_blocking_x8 suffix=
#include "bench_common.h"

#include <greenev/greenev.hpp>
#include <greenev/threadpool.hpp>

#include <algorithm>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

// The floor: a raw thread pair over two eventfds, the caller waiting in epoll_wait like a hub.
struct EventfdFloor {
  int req = eventfd(0, EFD_CLOEXEC);
  int resp = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::thread worker;
  EventfdFloor() {
    epoll_event e{};
    e.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, resp, &e);
    worker = std::thread([this] {
      for (;;) {
        std::uint64_t v;
        if (read(req, &v, sizeof v) != sizeof v) continue;
        if (v > 1) return;  // stop
        v = 1;
        while (write(resp, &v, sizeof v) != sizeof v) {}
      }
    });
  }
  ~EventfdFloor() {
    std::uint64_t v = 2;
    while (write(req, &v, sizeof v) != sizeof v) {}
    worker.join();
    close(req);
    close(resp);
    close(ep);
  }
  void roundtrip() {
    std::uint64_t v = 1;
    while (write(req, &v, sizeof v) != sizeof v) {}
    epoll_event e;
    while (epoll_wait(ep, &e, 1, -1) != 1) {}
    while (read(resp, &v, sizeof v) != sizeof v) {}
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const long long iters = bench_arg_ll(argc, argv, "iters", 100000);
  const char* sfx = bench_arg(argc, argv, "suffix");
  const std::string bench = std::string("run_blocking") + (sfx ? sfx : "");
  if (bench_selected(argc, argv, "run_blocking")) {
    constexpr int kChunks = 10;
    const long long per = iters / kChunks + 1;
    std::uint64_t sink = 0;
    EventfdFloor floor;
    for (long long i = 0; i < per; ++i) sink += greenev::run_blocking([] { return 1; });  // warm
    for (long long i = 0; i < per; ++i) floor.roundtrip();
    std::vector<double> ge, fl;
    for (int c = 0; c < kChunks; ++c) {
      std::uint64_t t0 = bench_now_ns();
      for (long long i = 0; i < per; ++i) sink += greenev::run_blocking([] { return 1; });
      std::uint64_t t1 = bench_now_ns();
      ge.push_back(double(t1 - t0) / double(per));
      t0 = bench_now_ns();
      for (long long i = 0; i < per; ++i) floor.roundtrip();
      t1 = bench_now_ns();
      fl.push_back(double(t1 - t0) / double(per));
    }
    bench_sink(sink);
    bench_result(bench.c_str(), "greenev", median(ge), "ns_per_roundtrip");
    bench_result(bench.c_str(), "eventfd_floor", median(fl), "ns_per_roundtrip");
  }
  if (bench_selected(argc, argv, "run_blocking_x8")) {
    constexpr int kFibers = 8;
    const long long per = iters / kFibers + 1;
    const std::uint64_t t0 = bench_now_ns();
    std::vector<greenev::Fiber<void>> fs;
    for (int f = 0; f < kFibers; ++f)
      fs.push_back(greenev::spawn([per] {
        for (long long i = 0; i < per; ++i) greenev::run_blocking([] {});
      }));
    for (auto& f : fs) f.join();
    const std::uint64_t t1 = bench_now_ns();
    bench_result("run_blocking_x8", "greenev", double(t1 - t0) / double(per * kFibers), "ns_per_call");
  }
  return 0;
}
