// greenev/detail/sync_common.hpp — what every coordination primitive shares.
//
// All primitives park through WaitList::wait() and hand results over *before* unparking: the waker
// writes the item / permit / ownership into the waiter's payload slot (a struct on the waiter's
// stack), then unparks it. A WaitList::wait() that returns WakeReason::woken therefore always
// means "you were handed it", even if the fiber was killed or its Timeout expired after the
// hand-off (the kill is then raised at its next suspension point, after it has taken the item).
// Any other reason means the waiter was unlinked without a hand-off, so nothing is lost.
// Rejected: re-check semantics (wake, then re-test the condition): a woken fiber killed before it
// runs would have to pass its wake-up on, and a barging fiber could steal the item (unfair, and a
// second switch per hand-off).
//
// ChannelClosed is defined here because queues, channels and pools all raise it.
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/detail/deadline.hpp>
#include <greenev/detail/fiber_base.hpp>
#include <greenev/errors.hpp>
#include <greenev/hub.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>

namespace greenev {

// put()/get() on a closed Queue or Channel (get only once it is drained).
class GREENEV_API ChannelClosed : public std::runtime_error {
 public:
  ChannelClosed() : std::runtime_error("greenev: queue or channel is closed") {}
};

// Tag: an Event / AsyncResult that another OS thread may set. Its waits keep the hub's loop
// alive (no LoopExit while waiting), because a wake-up can come from outside the hub.
struct cross_thread_t {
  explicit cross_thread_t() = default;
};
inline constexpr cross_thread_t cross_thread{};

namespace detail {

// Parks on `list` and raises for kill / scope timeout / loop exit. True when woken (handed what
// was waited for), false when `deadline` passed.
inline bool wait_on(WaitList& list, const char* reason, Deadline deadline, void* payload = nullptr) {
  current_fiber();  // a thread's first wait creates its hub here, where a failure can throw
  WakeReason r = list.wait(reason, deadline, payload);
  if (r == WakeReason::woken) return true;
  raise_for(r);
  return false;
}

// The hub a cross-thread primitive belongs to, and the way to reach it from another thread.
// Non-template (runtime/sync/sync_common.cpp) so headers need not see the hub.
class GREENEV_API HubAffinity {
 public:
  HubAffinity();  // the calling thread's hub (created if needed)
  // True on the owning hub's thread.
  bool here() const noexcept;
  // Runs fn on the owning hub (as a fiber). Thread-safe. False if that hub is gone.
  bool post(std::function<void()> fn) const;

 private:
  const void* hub_;
  HubHandle handle_;
};

// Collects the outcomes that end a wait while a primitive must still finish its own work (the
// re-lock of Condition::wait): a kill beats a Timeout, the first Timeout beats later ones, and
// whatever is not raised is re-armed (kill pending again, scope unfired) for the next suspension
// — only once the collecting is over: re-armed earlier, a scope would end the re-lock at once.
class GREENEV_API PendingRaise {
 public:
  PendingRaise() = default;
  PendingRaise(const PendingRaise&) = delete;
  PendingRaise& operator=(const PendingRaise&) = delete;
  ~PendingRaise();  // re-arms whatever raise() did not throw (an exception escaped instead)

  void add(WakeReason r);  // woken / timed_out: nothing; killed, scope_timeout, loop_exit: recorded
  void add_kill() noexcept { killed_ = true; }
  void add_timeout(const Timeout* t) noexcept;
  bool any() const noexcept { return killed_ || timeout_ || loop_exit_; }
  [[noreturn]] void raise();

 private:
  void rearm_deferred(bool include_first) noexcept;

  bool killed_ = false;
  bool loop_exit_ = false;
  bool raised_ = false;
  const Timeout* timeout_ = nullptr;
  const Timeout* later_[8] = {};  // scopes that fired after timeout_ (distinct: each fires once)
  std::size_t n_later_ = 0;
};

// Test-only interleaving points (null in normal runs; one predictable branch, off the hot path).
struct SyncTestHooks {
  void (*after_publish)() = nullptr;  // a cross-thread set() right after its flag became visible
};
GREENEV_API extern SyncTestHooks sync_test_hooks;

// Gives wait_any / wait_all (wait.hpp) access to an object's wait list; specialised per type.
template <class T>
struct WaitableTraits;

}  // namespace detail
}  // namespace greenev
