// runtime/diag/metrics.cpp — snapshots of the per-hub counters (hub_diag.hpp) and their Prometheus
// text form. Reading never stops a hub: every field read here is a relaxed atomic with a single
// writer; a snapshot is therefore not one instant (counters may be a few increments apart).
#include "core/hub.hpp"
#include "diag/registry.hpp"

#include <greenev/metrics.hpp>

#include <atomic>
#include <cstdio>
#include <ostream>
#include <type_traits>

namespace greenev::detail {

namespace {

static_assert(metrics::Histogram::kBounds.size() + 1 == kLatencyBuckets, "one bucket per bound, plus +Inf");
constexpr bool bounds_match() {
  for (std::size_t i = 0; i < metrics::Histogram::kBounds.size(); ++i) {
    // 1e-5 s == 10'000 ns, ...: compare in nanoseconds, rounded.
    if (static_cast<std::int64_t>(metrics::Histogram::kBounds[i] * 1e9 + 0.5) != kLatencyBoundsNs[i]) return false;
  }
  return true;
}
static_assert(bounds_match(), "metrics.hpp and hub_diag.hpp bucket bounds must agree");
static_assert(std::is_trivially_copyable_v<metrics::Snapshot>, "snapshots travel between processes as bytes");

// The thread pool's queue wait: many writers (the worker threads), so real atomic adds.
struct PoolWait {
  std::atomic<std::uint64_t> buckets[kLatencyBuckets] = {};
  std::atomic<std::uint64_t> sum_ns{0};
};
constinit PoolWait g_pool_wait;

metrics::Histogram to_histogram(const LatencyHistogram& h) {
  metrics::Histogram out;
  for (int i = 0; i < kLatencyBuckets; ++i) out.counts[static_cast<std::size_t>(i)] = h.buckets[i];
  out.sum_seconds = static_cast<double>(h.sum_ns.get()) * 1e-9;
  return out;
}

metrics::Snapshot hub_snapshot(const Hub& h) {
  metrics::Snapshot s;
  const HubStats st = h.stats();
  const HubDiag& d = h.diag();
  const Deadline now = now_ns();
  s.hubs = 1;
  s.context_switches = st.switches;
  s.fibers_spawned = h.spawned();
  s.fibers_alive = st.fibers_alive;
  s.loop_iterations = st.loop_iterations;
  std::uint64_t loop_ns = d.loop_ns;
  const Deadline stamp = d.loop_stamp.load(std::memory_order_relaxed);
  if (stamp < 0 && now > -stamp) loop_ns += static_cast<std::uint64_t>(now + stamp);  // inside it now
  const Deadline life = now - d.created;
  s.loop_seconds = static_cast<double>(loop_ns) * 1e-9;
  s.run_seconds = life > static_cast<Deadline>(loop_ns) ? static_cast<double>(life - static_cast<Deadline>(loop_ns)) * 1e-9 : 0;
  s.watchers_active = st.active_watchers;
  s.fds_watched = st.fds_watched;
  s.blocked_episodes = d.blocked_episodes;
  s.timer_lag = to_histogram(d.timer_lag);
  return s;
}

void add_pool(metrics::Snapshot& s) {
  s.threadpool_queued = threadpool_queued_jobs();
  for (int i = 0; i < kLatencyBuckets; ++i)
    s.threadpool_wait.counts[static_cast<std::size_t>(i)] = g_pool_wait.buckets[i].load(std::memory_order_relaxed);
  s.threadpool_wait.sum_seconds = static_cast<double>(g_pool_wait.sum_ns.load(std::memory_order_relaxed)) * 1e-9;
}

void line(std::ostream& o, const char* name, const char* type, const char* help, double v) {
  char num[64];
  std::snprintf(num, sizeof num, "%.17g", v);
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << num << '\n';
}

void histogram(std::ostream& o, const char* name, const char* help, const metrics::Histogram& h) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " histogram\n";
  std::uint64_t cum = 0;
  char num[64];
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cum += h.counts[i];
    if (i < metrics::Histogram::kBounds.size()) std::snprintf(num, sizeof num, "%g", metrics::Histogram::kBounds[i]);
    o << name << "_bucket{le=\"" << (i < metrics::Histogram::kBounds.size() ? num : "+Inf") << "\"} " << cum << '\n';
  }
  std::snprintf(num, sizeof num, "%.17g", h.sum_seconds);
  o << name << "_sum " << num << '\n' << name << "_count " << cum << '\n';
}

}  // namespace

void diag_pool_job_started(std::int64_t waited_ns) noexcept {
  if (waited_ns < 0) waited_ns = 0;
  g_pool_wait.buckets[latency_bucket(waited_ns)].fetch_add(1, std::memory_order_relaxed);
  g_pool_wait.sum_ns.fetch_add(static_cast<std::uint64_t>(waited_ns), std::memory_order_relaxed);
}

}  // namespace greenev::detail

namespace greenev {
HubStats hub_stats() { return detail::Hub::current().stats(); }
}  // namespace greenev

namespace greenev::metrics {

std::uint64_t Histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (auto c : counts) n += c;
  return n;
}

Histogram& Histogram::operator+=(const Histogram& o) noexcept {
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  sum_seconds += o.sum_seconds;
  return *this;
}

Snapshot& Snapshot::operator+=(const Snapshot& o) noexcept {
  hubs += o.hubs;
  context_switches += o.context_switches;
  fibers_spawned += o.fibers_spawned;
  fibers_alive += o.fibers_alive;
  loop_iterations += o.loop_iterations;
  loop_seconds += o.loop_seconds;
  run_seconds += o.run_seconds;
  watchers_active += o.watchers_active;
  fds_watched += o.fds_watched;
  blocked_episodes += o.blocked_episodes;
  timer_lag += o.timer_lag;
  threadpool_queued += o.threadpool_queued;
  threadpool_wait += o.threadpool_wait;
  return *this;
}

Snapshot this_hub() {
  Snapshot s = detail::hub_snapshot(detail::Hub::current());
  detail::add_pool(s);
  return s;
}

std::vector<HubSnapshot> hubs() {
  std::vector<HubSnapshot> out;
  detail::for_each_hub([&](const detail::HubEntry& e) {
    out.push_back({e.hub->diag().tid, detail::hub_snapshot(*e.hub)});
  });
  return out;
}

Snapshot process() {
  Snapshot s;
  detail::for_each_hub([&](const detail::HubEntry& e) { s += detail::hub_snapshot(*e.hub); });
  detail::add_pool(s);
  return s;
}

void write_prometheus(std::ostream& o, const Snapshot& s) {
  using detail::line;
  line(o, "greenev_hubs", "gauge", "Hubs (event-loop threads) in this snapshot.", static_cast<double>(s.hubs));
  line(o, "greenev_context_switches_total", "counter", "Fiber context switches.", static_cast<double>(s.context_switches));
  line(o, "greenev_fibers_spawned_total", "counter", "Fibers spawned.", static_cast<double>(s.fibers_spawned));
  line(o, "greenev_fibers_alive", "gauge", "Fibers spawned and not finished.", static_cast<double>(s.fibers_alive));
  line(o, "greenev_loop_iterations_total", "counter", "Event-loop polls.", static_cast<double>(s.loop_iterations));
  line(o, "greenev_loop_seconds_total", "counter", "Time hubs spent inside their event loop (polling, waiting, callbacks).",
       s.loop_seconds);
  line(o, "greenev_run_seconds_total", "counter", "Time hubs spent outside their event loop, running fibers.",
       s.run_seconds);
  line(o, "greenev_watchers_active", "gauge", "fd waits and timers in progress.", static_cast<double>(s.watchers_active));
  line(o, "greenev_fds_watched", "gauge", "fds in the hubs' poll sets (waited on or kept armed between waits).", static_cast<double>(s.fds_watched));
  line(o, "greenev_blocked_episodes_total", "counter", "Times the monitor saw a hub held past its threshold.",
       static_cast<double>(s.blocked_episodes));
  detail::histogram(o, "greenev_timer_lag_seconds", "How late timed waits resumed after their deadline.", s.timer_lag);
  line(o, "greenev_threadpool_queued_jobs", "gauge", "Thread-pool jobs waiting for a worker.",
       static_cast<double>(s.threadpool_queued));
  detail::histogram(o, "greenev_threadpool_wait_seconds", "Time thread-pool jobs waited for a worker.",
                    s.threadpool_wait);
}

void write_prometheus(std::ostream& o) { write_prometheus(o, process()); }

}  // namespace greenev::metrics
