// greenev/mutex.hpp — mutexes owned by fibers (gevent.lock.RLock; std::mutex's shape).
//
// Ownership is per fiber. unlock() hands ownership straight to the first waiter (FIFO), so the
// lock cannot be barged and a waiter woken then killed before it runs owns the lock (its guard
// releases it as FiberExit unwinds). Errors, as std::mutex reports them when it checks:
//   unlock() by a fiber that does not own it     std::system_error(operation_not_permitted)
//   Mutex::lock() by the fiber that holds it      std::system_error(resource_deadlock_would_occur)
// Both satisfy Lockable/TimedLockable: std::lock_guard, std::unique_lock, std::scoped_lock work.
// Confined to one hub thread; they do not block the OS thread (use std::mutex between threads).
// The owner is recorded by fiber id, never by control-block address: blocks are recycled, so a
// new fiber at the address of one that died holding the lock must not count as its owner.
#pragma once
#include <greenev/detail/confined.hpp>
#include <greenev/detail/sync_common.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace greenev {

class GREENEV_API Mutex {
 public:
  Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {  // waits ("lock")
    GREENEV_CHECK_CONFINED(waiters_, "Mutex::lock");
    lock_impl();
  }
  bool try_lock() noexcept {
    GREENEV_CHECK_CONFINED(waiters_, "Mutex::try_lock");
    return try_lock_impl();
  }
  template <class Rep, class Per>
  bool try_lock_for(std::chrono::duration<Rep, Per> d) {
    return try_lock() || lock_until_ns(detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  bool try_lock_until(std::chrono::time_point<Clock, Dur> tp) {
    return try_lock() || lock_until_ns(detail::deadline_at(tp));
  }
  void unlock() {
    GREENEV_CHECK_CONFINED(waiters_, "Mutex::unlock");
    unlock_impl();
  }

  bool locked() const noexcept { return locked_; }
  // True when the calling fiber holds it.
  bool owned_by_current() const noexcept;
  std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  bool lock_until_ns(detail::Deadline d);
  void lock_impl();
  bool try_lock_impl() noexcept;
  void unlock_impl();
  bool locked_ = false;
  std::uint64_t owner_ = 0;  // fiber id, valid while locked_
  detail::WaitList waiters_;
};

// The owner may lock it again; it is released after as many unlock()s.
class GREENEV_API RecursiveMutex {
 public:
  RecursiveMutex() noexcept = default;
  RecursiveMutex(const RecursiveMutex&) = delete;
  RecursiveMutex& operator=(const RecursiveMutex&) = delete;

  void lock() {
    GREENEV_CHECK_CONFINED(waiters_, "RecursiveMutex::lock");
    lock_impl();
  }
  bool try_lock() noexcept {
    GREENEV_CHECK_CONFINED(waiters_, "RecursiveMutex::try_lock");
    return try_lock_impl();
  }
  template <class Rep, class Per>
  bool try_lock_for(std::chrono::duration<Rep, Per> d) {
    return try_lock() || lock_until_ns(detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  bool try_lock_until(std::chrono::time_point<Clock, Dur> tp) {
    return try_lock() || lock_until_ns(detail::deadline_at(tp));
  }
  void unlock() {
    GREENEV_CHECK_CONFINED(waiters_, "RecursiveMutex::unlock");
    unlock_impl();
  }

  bool locked() const noexcept { return depth_ > 0; }
  std::size_t depth() const noexcept { return depth_; }

 private:
  bool lock_until_ns(detail::Deadline d);
  void lock_impl();
  bool try_lock_impl() noexcept;
  void unlock_impl();
  std::uint64_t owner_ = 0;  // fiber id, valid while depth_ > 0
  std::size_t depth_ = 0;
  detail::WaitList waiters_;
};

}  // namespace greenev
