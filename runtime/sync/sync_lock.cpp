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
  return detail::wait_on(waiters_, "semaphore", d);
}

void Semaphore::release(std::ptrdiff_t n) {
  if (n < 0) throw std::invalid_argument("greenev: Semaphore::release with a negative count");
  if (n > bound_ - count_) throw std::logic_error("greenev: BoundedSemaphore released too many times");
  for (; n > 0 && !waiters_.empty(); --n) waiters_.notify_one();  // the permit goes with it
  count_ += n;
}

// --- Mutex ---

void Mutex::lock() {
  detail::FiberBase* self = detail::current_fiber();
  if (owner_ == nullptr) {
    owner_ = self;
    return;
  }
  if (owner_ == self)
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                            "greenev: Mutex locked twice by its owner");
  lock_until_ns(detail::kForever);
}

bool Mutex::try_lock() noexcept {
  if (owner_ != nullptr) return false;
  owner_ = detail::current_fiber();
  return true;
}

bool Mutex::lock_until_ns(detail::Deadline d) {
  return detail::wait_on(waiters_, "lock", d);  // woken: unlock() made us the owner
}

void Mutex::unlock() {
  if (owner_ != detail::current_fiber())
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            "greenev: Mutex unlocked by a fiber that does not own it");
  if (detail::Waiter* w = waiters_.front()) {
    owner_ = w->fiber;
    waiters_.notify_one();
  } else {
    owner_ = nullptr;
  }
}

bool Mutex::owned_by_current() const noexcept { return owner_ != nullptr && owner_ == detail::current_fiber(); }

// --- RecursiveMutex ---

void RecursiveMutex::lock() {
  if (!try_lock()) lock_until_ns(detail::kForever);
}

bool RecursiveMutex::try_lock() noexcept {
  detail::FiberBase* self = detail::current_fiber();
  if (owner_ == nullptr) {
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

void RecursiveMutex::unlock() {
  if (owner_ != detail::current_fiber() || depth_ == 0)
    throw std::system_error(std::make_error_code(std::errc::operation_not_permitted),
                            "greenev: RecursiveMutex unlocked by a fiber that does not own it");
  if (--depth_ > 0) return;
  if (detail::Waiter* w = waiters_.front()) {
    owner_ = w->fiber;
    depth_ = 1;
    waiters_.notify_one();
  } else {
    owner_ = nullptr;
  }
}

}  // namespace greenev
