// greenev/condition.hpp — condition variable for fibers (std::condition_variable_any's shape).
//
// Works with any BasicLockable of fibers (greenev::Mutex, RecursiveMutex held once, Semaphore,
// std::unique_lock of those). wait() releases the lock, parks ("condition_wait"), and always
// re-acquires the lock before it returns or throws, even when it ends by kill or Timeout: the
// caller's guard stays correct. If a fiber that was notified ends up throwing instead (killed or
// timed out while re-acquiring the lock), it passes the notification on to the next waiter, so
// no notify_one() is lost. Waiters are woken in FIFO order. Spurious wake-ups do not happen, but
// use the predicate forms anyway: another fiber may run between notify and the waiter's return.
// When several things end a wait at once (a kill, the wait's Timeout, an outer Timeout firing
// while the lock is re-acquired), the kill is raised; a Timeout that could not be raised fires
// again at the next suspension point.
#pragma once
#include <greenev/detail/confined.hpp>
#include <greenev/detail/sync_common.hpp>

#include <chrono>
#include <condition_variable>  // std::cv_status
#include <exception>

namespace greenev {

class GREENEV_API Condition {
 public:
  Condition() noexcept = default;
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  void notify_one() noexcept {
    GREENEV_CHECK_CONFINED(waiters_, "Condition::notify_one");
    waiters_.notify_one();
  }
  void notify_all() noexcept {
    GREENEV_CHECK_CONFINED(waiters_, "Condition::notify_all");
    waiters_.notify_all();
  }
  std::size_t waiting() const noexcept { return waiters_.size(); }

  template <class Lock>
  void wait(Lock& lk) {
    wait_ns(lk, detail::kForever);
  }
  template <class Lock, class Pred>
  void wait(Lock& lk, Pred pred) {
    while (!pred()) wait_ns(lk, detail::kForever);
  }
  template <class Lock, class Rep, class Per>
  std::cv_status wait_for(Lock& lk, std::chrono::duration<Rep, Per> d) {
    return wait_ns(lk, detail::deadline_after(d));
  }
  template <class Lock, class Rep, class Per, class Pred>
  bool wait_for(Lock& lk, std::chrono::duration<Rep, Per> d, Pred pred) {
    return wait_pred_ns(lk, detail::deadline_after(d), pred);
  }
  template <class Lock, class Clock, class Dur>
  std::cv_status wait_until(Lock& lk, std::chrono::time_point<Clock, Dur> tp) {
    return wait_ns(lk, detail::deadline_at(tp));
  }
  template <class Lock, class Clock, class Dur, class Pred>
  bool wait_until(Lock& lk, std::chrono::time_point<Clock, Dur> tp, Pred pred) {
    return wait_pred_ns(lk, detail::deadline_at(tp), pred);
  }

 private:
  template <class Lock, class Pred>
  bool wait_pred_ns(Lock& lk, detail::Deadline d, Pred& pred) {
    while (!pred())
      if (wait_ns(lk, d) == std::cv_status::timeout) return pred();
    return true;
  }

  template <class Lock>
  std::cv_status wait_ns(Lock& lk, detail::Deadline d) {
    GREENEV_CHECK_CONFINED(waiters_, "Condition::wait");
    lk.unlock();  // never switches: a hand-off only makes the next owner ready
    const detail::WakeReason r = waiters_.wait("condition_wait", d);
    detail::PendingRaise pending;
    pending.add(r);  // consumes a kill (so the re-lock parks normally) or fires the scope
    // Re-acquire whatever happens. A kill or Timeout that lands while we wait for the lock is
    // collected too: a kill always wins, and a Timeout that cannot be raised now is re-armed to
    // fire at the next suspension point, so nothing is lost whatever the order of events.
    for (;;) {
      try {
        lk.lock();
        break;
      } catch (const FiberExit&) {
        pending.add_kill();
      } catch (const TimeoutError& e) {
        pending.add_timeout(e.scope());
      }
    }
    if (pending.any()) {
      if (r == detail::WakeReason::woken) waiters_.notify_one();  // pass the wake-up on
      pending.raise();
    }
    return r == detail::WakeReason::woken ? std::cv_status::no_timeout : std::cv_status::timeout;
  }

  detail::WaitList waiters_;
};

}  // namespace greenev
