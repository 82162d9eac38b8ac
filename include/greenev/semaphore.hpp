// greenev/semaphore.hpp — counting semaphores for fibers (gevent.lock.Semaphore/BoundedSemaphore).
//
// Invariant: count() > 0 implies nobody waits. release() hands its permit straight to the first
// waiter (FIFO) instead of incrementing the count, so a fiber arriving later cannot barge ahead,
// and a waiter woken and then killed before it runs still owns the permit it was handed (its
// RAII guard gives it back when FiberExit unwinds it). A waiter that times out or is killed while
// still queued was never handed anything: no permit is lost.
// BoundedSemaphore: releasing more than was acquired throws std::logic_error (a bug in the caller,
// like gevent's ValueError). A permit handed to a waiter that has not run yet still counts as
// inside the semaphore for that check (as in Python, where the waiter takes it when it runs), so
// the classic double release right after a hand-off is caught. Counts never overflow: a release
// that would take the count past PTRDIFF_MAX throws std::overflow_error. Both are BasicLockable, so std::lock_guard / std::unique_lock work.
// Confined to the hub thread that uses them (no atomics on the hot path).
#pragma once
#include <greenev/detail/confined.hpp>
#include <greenev/detail/sync_common.hpp>

#include <chrono>
#include <cstddef>
#include <limits>

namespace greenev {

class GREENEV_API Semaphore {
 public:
  explicit Semaphore(std::ptrdiff_t initial = 1) : count_(initial) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Takes a permit, waiting for one ("semaphore") if none is free.
  void acquire() {
    GREENEV_CHECK_CONFINED(waiters_, "Semaphore::acquire");
    if (count_ > 0) {
      --count_;
      return;
    }
    acquire_until_ns(detail::kForever);
  }
  bool try_acquire() noexcept {
    GREENEV_CHECK_CONFINED(waiters_, "Semaphore::try_acquire");
    if (count_ <= 0) return false;
    --count_;
    return true;
  }
  template <class Rep, class Per>
  bool try_acquire_for(std::chrono::duration<Rep, Per> d) {
    return try_acquire() || acquire_until_ns(detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  bool try_acquire_until(std::chrono::time_point<Clock, Dur> tp) {
    return try_acquire() || acquire_until_ns(detail::deadline_at(tp));
  }
  // Returns n permits: each goes to the first waiter, or back to the count.
  void release(std::ptrdiff_t n = 1) {
    GREENEV_CHECK_CONFINED(waiters_, "Semaphore::release");
    release_impl(n);
  }

  std::ptrdiff_t count() const noexcept { return count_; }  // free permits
  std::size_t waiting() const noexcept { return waiters_.size(); }

  // BasicLockable / TimedLockable spelling.
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() noexcept { return try_acquire(); }
  template <class Rep, class Per>
  bool try_lock_for(std::chrono::duration<Rep, Per> d) {
    return try_acquire_for(d);
  }
  template <class Clock, class Dur>
  bool try_lock_until(std::chrono::time_point<Clock, Dur> tp) {
    return try_acquire_until(tp);
  }

 protected:
  Semaphore(std::ptrdiff_t initial, std::ptrdiff_t bound) : count_(initial), bound_(bound) {}

 private:
  bool acquire_until_ns(detail::Deadline d);
  void release_impl(std::ptrdiff_t n);

  std::ptrdiff_t count_;
  std::ptrdiff_t bound_ = std::numeric_limits<std::ptrdiff_t>::max();
  std::ptrdiff_t in_flight_ = 0;  // permits handed to waiters that have not resumed yet
  detail::WaitList waiters_;
};

// A semaphore that may never hold more than its initial count.
class GREENEV_API BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::ptrdiff_t initial = 1) : Semaphore(initial, initial) {}
};

}  // namespace greenev
