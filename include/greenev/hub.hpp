// greenev/hub.hpp — the per-thread hub seen from outside: cross-thread posting, stats, settings.
//
// Each thread gets its own hub (libev loop + ready queue + timers) the first time it uses greenev.
// Fibers never migrate; threads talk to another thread's hub through HubHandle::post(), which is
// thread-safe (a mutex-protected inbox drained by an ev_async watcher) and runs the function as a
// new fiber on the target hub. A HubHandle outliving its hub makes post() return false.
#pragma once
#include <greenev/detail/config.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace greenev {

namespace detail {
struct Inbox;
}

class GREENEV_API HubHandle {
 public:
  // The calling thread's hub (created if needed).
  static HubHandle current();
  // Runs fn as a fiber on the target hub. Thread-safe. False if that hub has shut down.
  bool post(std::function<void()> fn) const;
  // Keeps the target hub's loop from "would block forever" until release_keepalive(): for a
  // thread that will post later. Thread-safe.
  void add_keepalive() const;
  void release_keepalive() const;

 private:
  explicit HubHandle(std::shared_ptr<detail::Inbox> in) : inbox_(std::move(in)) {}
  std::shared_ptr<detail::Inbox> inbox_;
};

struct HubStats {
  std::uint64_t switches = 0;        // context switches performed by this hub
  std::uint64_t loop_iterations = 0; // libev loop polls
  std::size_t fibers_alive = 0;      // spawned and not finished (main excluded)
  std::size_t active_watchers = 0;   // libev watchers greenev started and has not stopped
  std::size_t fds_watched = 0;       // fds in the loop's poll set (waited on, or kept armed between waits)
};
GREENEV_API HubStats hub_stats();

// Default stack size for new fibers (rounded up to pages). Default 256 KiB: virtual space only
// (pages are touched on demand), enough for third-party C libraries (TLS handshakes, libpq) that
// were written for 8 MiB thread stacks, and an idle fiber still costs ~one 4 KiB page.
GREENEV_API void set_default_stack_size(std::size_t bytes);
GREENEV_API std::size_t default_stack_size() noexcept;

// Prints every fiber of this thread's hub (id, name, state, wait reason) to stderr.
GREENEV_API void dump_fibers();

}  // namespace greenev
