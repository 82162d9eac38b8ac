// greenev/metrics.hpp — per-hub runtime metrics, always on, and their Prometheus text form.
//
// Every hub counts as it goes (context switches, fibers spawned, loop iterations, time inside the
// loop, how late timed waits resume, blocked-hub episodes); the counters are single-writer relaxed
// atomics, as cheap as plain integers, and any thread may read them at any time. A Snapshot is a
// plain value (trivially copyable, fixed size: it can travel through a pipe or shared memory
// between processes of the same build) and sums with +=, so a launcher can aggregate its workers.
// Counters only grow; gauges (alive, watchers, queue depth) are instantaneous. Times are seconds.
// Rejected: a registry of named metric objects (allocation and a lookup per update on hot paths).
#pragma once
#include <greenev/detail/config.hpp>

#include <array>
#include <cstdint>
#include <iosfwd>
#include <sys/types.h>
#include <vector>

namespace greenev::metrics {

// Latency histogram with fixed bucket bounds (seconds), Prometheus-style but not cumulative:
// counts[i] counts observations <= kBounds[i] and > kBounds[i-1]; counts.back() is the +Inf bucket.
struct GREENEV_API Histogram {
  static constexpr std::array<double, 11> kBounds = {0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005,
                                                     0.01,    0.05,    0.1,    0.5,    1.0};
  std::array<std::uint64_t, kBounds.size() + 1> counts{};
  double sum_seconds = 0;
  std::uint64_t count() const noexcept;
  Histogram& operator+=(const Histogram& o) noexcept;
};

struct GREENEV_API Snapshot {
  // --- per hub (summed over hubs) ---
  std::uint64_t hubs = 0;                 // gauge: hubs in the snapshot
  std::uint64_t context_switches = 0;
  std::uint64_t fibers_spawned = 0;
  std::uint64_t fibers_alive = 0;         // gauge: spawned and not finished (main excluded)
  std::uint64_t loop_iterations = 0;
  double loop_seconds = 0;                // inside the event loop: polling, waiting, callbacks
  double run_seconds = 0;                 // outside it: running fibers (hub lifetime - loop time)
  std::uint64_t watchers_active = 0;      // gauge: fd waits and timers in progress
  std::uint64_t fds_watched = 0;          // gauge: fds in the hubs' poll sets (waited on or kept armed)
  std::uint64_t blocked_episodes = 0;     // times the monitor saw the hub held past its threshold
  Histogram timer_lag;                    // how late timed waits resumed after their deadline
  // --- process-wide (summed over processes when aggregating) ---
  std::uint64_t threadpool_queued = 0;    // gauge: jobs waiting for a worker thread
  Histogram threadpool_wait;              // time from submit to a worker picking the job up

  Snapshot& operator+=(const Snapshot& o) noexcept;
};

struct HubSnapshot {
  pid_t thread_id = 0;  // the hub's thread (gettid)
  Snapshot metrics;     // hubs == 1, thread-pool fields zero
};

// The calling thread's hub (creating it if needed), thread-pool fields included.
GREENEV_API Snapshot this_hub();
// Every hub of the process, one entry each.
GREENEV_API std::vector<HubSnapshot> hubs();
// Every hub summed, plus the process-wide thread-pool figures.
GREENEV_API Snapshot process();

// Prometheus text exposition format (version 0.0.4), metric names prefixed greenev_, one
// unlabelled series per metric (a launcher sums its workers' snapshots and writes the total).
GREENEV_API void write_prometheus(std::ostream& out, const Snapshot& s);
// write_prometheus(out, process()).
GREENEV_API void write_prometheus(std::ostream& out);

}  // namespace greenev::metrics
