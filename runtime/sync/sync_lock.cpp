// runtime/sync/sync_lock.cpp — the slow paths of Semaphore, Mutex and RecursiveMutex.
//
// All three hand over directly: release()/unlock() give the permit or the ownership to the first
// waiter before unparking it, so "woken" means "you have it" (see detail/sync_common.hpp).
#include <greenev/mutex.hpp>
#include <greenev/semaphore.hpp>

#include <stdexcept>
#include <system_error>

namespace greenev {

// --- Semaphore ---

bool Semaphore::acquire_until_ns(detail::Deadline d) {
  const detail::WakeReason r = waiters_.wait("semaphore", d);
  if (r == detail::WakeReason::woken) {
    --in_flight_;  // the handed permit has arrived
    return true;
  }
  detail::raise_for(r);
  return false;
}

void Semaphore::release_impl(std::ptrdiff_t n) {
  if (n < 0) throw std::invalid_argument("greenev: Semaphore::release with a negative count");
  // Permits that would be free after this release (the count, plus hand-offs not yet taken),
  // computed without signed overflow: count_ may be negative (Semaphore(-1)) or near the limits.
  std::ptrdiff_t total;
  if (__builtin_add_overflow(count_, in_flight_, &total) || __builtin_add_overflow(total, n, &total)) {
    if (bound_ != std::numeric_limits<std::ptrdiff_t>::max())
      throw std::logic_error("greenev: BoundedSemaphore released too many times");
    throw std::overflow_error("greenev: Semaphore count would overflow");
  }
  if (total > bound_) throw std::logic_error("greenev: BoundedSemaphore released too many times");
  for (; n > 0 && !waiters_.empty(); --n) {
    ++in_flight_;
    waiters_.notify_one();  // the permit goes with it
  }
  count_ += n;
}

// --- Mutex ---

void Mutex::lock_impl() {
  const std::uint64_t self = detail::current_fiber()->id();
  if (!locked_) {
    locked_ = true;
    owner_ = self;
    return;
  }
  if (owner_ == self)
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "greenev: Mutex locked twice by its owner");
  lock_until_ns(detail::kForever);
}

bool Mutex::try_lock_impl() noexcept {
  if (locked_) return false;
  locked_ = true;
  owner_ = detail::current_fiber()->id();
  return true;
}

bool Mutex::lock_until_ns(detail::Deadline d) {
  return detail::wait_on(waiters_, "lock", d);  // woken: unlock() made us the owner
}

void Mutex::unlock_impl() {
  if (!locked_ || owner_ != detail::current_fiber()->id())
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            "greenev: Mutex unlocked by a fiber that does not own it");
  if (detail::Waiter* w = waiters_.front()) {
    owner_ = w->fiber->id();
    waiters_.notify_one();
  } else {
    locked_ = false;
  }
}

bool Mutex::owned_by_current() const noexcept { return locked_ && owner_ == detail::current_fiber()->id(); }

// --- RecursiveMutex ---

void RecursiveMutex::lock_impl() {
  if (!try_lock_impl()) lock_until_ns(detail::kForever);
}

bool RecursiveMutex::try_lock_impl() noexcept {
  const std::uint64_t self = detail::current_fiber()->id();
  if (depth_ == 0) {
    owner_ = self;
    depth_ = 1;
    return true;
  }
  if (owner_ == self) {
    ++depth_;
    return true;
  }
  return false;
}

bool RecursiveMutex::lock_until_ns(detail::Deadline d) {
  return detail::wait_on(waiters_, "lock", d);  // woken: unlock() made us the owner, depth 1
}

void RecursiveMutex::unlock_impl() {
  if (depth_ == 0 || owner_ != detail::current_fiber()->id())
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            "greenev: RecursiveMutex unlocked by a fiber that does not own it");
  if (--depth_ > 0) return;
  if (detail::Waiter* w = waiters_.front()) {
    owner_ = w->fiber->id();
    depth_ = 1;
    waiters_.notify_one();
  }
}

}  // namespace greenev
