// greenev_bench_thread_queue.cpp — ThreadQueue<T> throughput against a std::mutex +
// std::condition_variable bounded queue and moodycamel::BlockingConcurrentQueue (when
// libconcurrentqueue-dev is installed), with plain threads on both sides; plus ThreadQueue with a
// plain-thread producer and fibers consuming on a HubThread (what the others cannot do without
// blocking the hub).
//   RESULT thread_queue_<P>p<C>c.<impl> <ops/s> ops_per_s    (impl: greenev, mutex_cv, moodycamel)
//   RESULT thread_queue_thread_to_fibers.greenev <ops/s> ops_per_s
// Usage: greenev_bench_thread_queue [items=300000] [capacity=1024] [reps=5]
// Each figure is the median of `reps` runs, the implementations interleaved run by run (a loaded
// machine drifts; interleaving spreads the drift over all of them).
// moodycamel's queue is unbounded here (its blocking variant has no bounded blocking enqueue):
// it never makes a producer wait, which favours it when consumers are slower.
#include <greenev/greenev.hpp>

#include "bench_common.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#if __has_include(<concurrentqueue/blockingconcurrentqueue.h>)
#include <concurrentqueue/blockingconcurrentqueue.h>
#define HAVE_MOODYCAMEL 1
#endif

namespace {

// The textbook bounded queue: one mutex, two condition variables.
class MutexCvQueue {
 public:
  explicit MutexCvQueue(std::size_t cap) : cap_(cap) {}
  void put(long v) {
    std::unique_lock lk(mu_);
    not_full_.wait(lk, [&] { return q_.size() < cap_; });
    q_.push_back(v);
    lk.unlock();
    not_empty_.notify_one();
  }
  long get() {
    std::unique_lock lk(mu_);
    not_empty_.wait(lk, [&] { return !q_.empty(); });
    long v = q_.front();
    q_.pop_front();
    lk.unlock();
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<long> q_;
  std::size_t cap_;
};

struct GreenevQ {
  greenev::ThreadQueue<long> q;
  explicit GreenevQ(std::size_t cap) : q(cap) {}
  void put(long v) { q.put(v); }
  long get() { return q.get(); }
};

#ifdef HAVE_MOODYCAMEL
struct MoodyQ {
  moodycamel::BlockingConcurrentQueue<long> q;
  explicit MoodyQ(std::size_t cap) : q(cap) {}
  void put(long v) { q.enqueue(v); }
  long get() {
    long v;
    q.wait_dequeue(v);
    return v;
  }
};
#endif

// P producers put items/P each, C consumers take until they have items/C each; returns ops/s.
template <class Q>
double run_threads(long items, std::size_t cap, int P, int C) {
  Q q(cap);
  std::atomic<long> sum{0};
  const uint64_t t0 = bench_now_ns();
  std::vector<std::thread> ts;
  for (int p = 0; p < P; ++p)
    ts.emplace_back([&] {
      for (long i = 0; i < items / P; ++i) q.put(i);
    });
  for (int c = 0; c < C; ++c)
    ts.emplace_back([&] {
      long s = 0;
      for (long i = 0; i < items / C; ++i) s += q.get();
      sum += s;
    });
  for (auto& t : ts) t.join();
  const double secs = (bench_now_ns() - t0) / 1e9;
  if (sum.load() < 0) std::abort();
  return double(items) / secs;
}

double run_thread_to_fibers(long items, std::size_t cap, int fibers) {
  greenev::ThreadQueue<long> q(cap);
  greenev::HubThread hub("bench-hub");
  const uint64_t t0 = bench_now_ns();
  auto done = hub.submit([&] {
    std::vector<greenev::Fiber<void>> fs;
    for (int f = 0; f < fibers; ++f)
      fs.push_back(greenev::spawn([&] {
        for (long i = 0; i < items / fibers; ++i) q.get();
      }));
    for (auto& f : fs) f.join();
  });
  for (long i = 0; i < items; ++i) q.put(i);
  done.get();
  return double(items) / ((bench_now_ns() - t0) / 1e9);
}

}  // namespace

template <class F>
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  const long items = argc > 1 ? std::atol(argv[1]) : 300000;
  const std::size_t cap = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  for (auto [P, C] : {std::pair{1, 1}, std::pair{2, 2}}) {
    char name[64];
    std::snprintf(name, sizeof name, "thread_queue_%dp%dc", P, C);
    std::vector<double> g, m, mc;
    for (int r = 0; r < reps; ++r) {
      g.push_back(run_threads<GreenevQ>(items, cap, P, C));
      m.push_back(run_threads<MutexCvQueue>(items, cap, P, C));
#ifdef HAVE_MOODYCAMEL
      mc.push_back(run_threads<MoodyQ>(items, cap, P, C));
#endif
    }
    const double gm = median_of<void>(g), mm = median_of<void>(m);
    std::printf("RESULT %s.greenev %.0f ops_per_s\n", name, gm);
    std::printf("RESULT %s.mutex_cv %.0f ops_per_s\n", name, mm);
#ifdef HAVE_MOODYCAMEL
    const double mcm = median_of<void>(mc);
    std::printf("RESULT %s.moodycamel %.0f ops_per_s\n", name, mcm);
    std::printf("NOTE %s: greenev/mutex_cv %.2f, greenev/moodycamel %.2f\n", name, gm / mm, gm / mcm);
#else
    std::printf("NOTE %s: greenev/mutex_cv %.2f (moodycamel not installed)\n", name, gm / mm);
#endif
  }
  std::vector<double> f;
  for (int r = 0; r < reps; ++r) f.push_back(run_thread_to_fibers(items, cap, 4));
  std::printf("RESULT thread_queue_thread_to_fibers.greenev %.0f ops_per_s\n", median_of<void>(f));
  return 0;
}
