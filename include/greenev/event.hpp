// greenev/event.hpp — Event (a flag fibers wait for) and AsyncResult<T> (a one-shot future).
//
// Event: set() wakes every waiter and lets later wait()s through until clear(). A waiter woken by
// set() returns true even if the flag was cleared again before it ran (it saw the set).
// AsyncResult<T>: set once, with a value or an exception; every get() then returns the value or
// rethrows. A second set is a std::logic_error (it is a one-shot, like std::promise). It is a
// cheap shared handle: copies refer to the same result, so a copy can be handed to a thread.
//
// Threads. By default both are confined to the thread (hub) that created them. Constructed with
// greenev::cross_thread, set() / set_exception() may be called from ANY thread (the waiters are
// woken through the owning hub's inbox), and fibers waiting on them keep the hub's loop alive,
// so a wait does not end in LoopExit while the set can still come from outside. Every other
// operation (wait, get, clear, is_set, ready) stays on the owning thread.
// Rejected: making every Event cross-thread (an allocation per Event and the loss of LoopExit's
// "would block forever" report for the common, single-hub case).
#pragma once
#include <greenev/detail/confined.hpp>
#include <greenev/detail/sync_common.hpp>

#include <atomic>
#include <cassert>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace greenev {

class GREENEV_API Event {
 public:
  Event() noexcept = default;
  explicit Event(cross_thread_t);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  bool is_set() const noexcept { return flag_.load(std::memory_order_acquire); }
  // Sets the flag and wakes all waiters. Thread-safe for cross_thread events.
  void set() {
    if (!remote_) GREENEV_CHECK_CONFINED(waiters_, "Event::set");
    set_any();
  }
  // Resets the flag; later wait()s block again. Owning thread only.
  void clear() noexcept {
    GREENEV_CHECK_CONFINED(waiters_, "Event::clear");
    flag_.store(false, std::memory_order_relaxed);
  }

  // Waits until set ("event_wait"). Returns at once when already set.
  void wait() {
    GREENEV_CHECK_CONFINED(waiters_, "Event::wait");
    wait_until_ns(detail::kForever);
  }
  // As wait(), gives up after d: true when the event was set.
  template <class Rep, class Per>
  bool wait(std::chrono::duration<Rep, Per> d) {
    GREENEV_CHECK_CONFINED(waiters_, "Event::wait");
    return is_set() || wait_until_ns(detail::deadline_after(d));
  }
  template <class Clock, class Dur>
  bool wait_until(std::chrono::time_point<Clock, Dur> tp) {
    GREENEV_CHECK_CONFINED(waiters_, "Event::wait_until");
    return is_set() || wait_until_ns(detail::deadline_at(tp));
  }
  bool cross_thread() const noexcept { return remote_ != nullptr; }

 private:
  friend struct detail::WaitableTraits<Event>;
  struct Remote;
  bool wait_until_ns(detail::Deadline d);
  void set_any();  // set() from any thread (cross_thread) or the owner
  void wake_all() noexcept;

  std::atomic<bool> flag_{false};
  detail::WaitList waiters_;
  std::shared_ptr<Remote> remote_;  // cross_thread only: how other threads reach the waiters
};

namespace detail {

// The non-template half of AsyncResult (runtime/sync/sync_event.cpp).
//   state_: empty -> setting (a setter claimed it, writing the value) -> ready. Never back.
class GREENEV_API ResultCore {
 public:
  ResultCore() noexcept = default;
  explicit ResultCore(cross_thread_t);
  ~ResultCore();
  ResultCore(const ResultCore&) = delete;
  ResultCore& operator=(const ResultCore&) = delete;

  bool ready() const noexcept { return state_.load(std::memory_order_acquire) == kReady; }
  bool cross_thread() const noexcept { return affinity_ != nullptr; }
  // Claims the right to set; throws std::logic_error if already set.
  void claim();
  // Marks it ready and wakes the waiters (directly, or through the owning hub from elsewhere).
  static void publish(const std::shared_ptr<ResultCore>& self);
  // Waits until ready ("async_result"): true when ready, false at the deadline.
  bool wait(Deadline d);

  std::exception_ptr error_;  // written before publish, read after ready()
  WaitList& waiters() noexcept { return waiters_; }  // for wait_any / wait_all

 private:
  static constexpr std::uint8_t kEmpty = 0, kSetting = 1, kReady = 2;
  std::atomic<std::uint8_t> state_{kEmpty};
  WaitList waiters_;
  std::unique_ptr<HubAffinity> affinity_;  // cross_thread only
};

template <class T>
struct ResultState : ResultCore {
  using ResultCore::ResultCore;
  std::optional<std::conditional_t<std::is_void_v<T>, char, T>> value_;
};

}  // namespace detail

template <class T = void>
class AsyncResult {
 public:
  AsyncResult() : s_(std::make_shared<detail::ResultState<T>>()) {}
  explicit AsyncResult(cross_thread_t ct) : s_(std::make_shared<detail::ResultState<T>>(ct)) {}

  // Sets the value and wakes every waiter; std::logic_error if already set.
  template <class U = T>
    requires(!std::is_void_v<U>)
  void set(U&& v) {
    if (!s_->cross_thread()) GREENEV_CHECK_CONFINED(s_->waiters(), "AsyncResult::set");
    s_->claim();
    s_->value_.emplace(std::forward<U>(v));
    detail::ResultCore::publish(s_);
  }
  void set()
    requires std::is_void_v<T>
  {
    if (!s_->cross_thread()) GREENEV_CHECK_CONFINED(s_->waiters(), "AsyncResult::set");
    s_->claim();
    s_->value_.emplace('\0');
    detail::ResultCore::publish(s_);
  }
  void set_exception(std::exception_ptr e) {
    assert(e && "greenev: AsyncResult::set_exception(nullptr)");
    if (!s_->cross_thread()) GREENEV_CHECK_CONFINED(s_->waiters(), "AsyncResult::set_exception");
    s_->claim();
    s_->error_ = std::move(e);
    detail::ResultCore::publish(s_);
  }

  bool ready() const noexcept { return s_->ready(); }
  bool successful() const noexcept { return s_->ready() && !s_->error_; }
  std::exception_ptr exception() const noexcept { return s_->ready() ? s_->error_ : nullptr; }
  bool cross_thread() const noexcept { return s_->cross_thread(); }

  // Waits until set (a suspension point); returns the value (a reference into the shared
  // result, valid while any copy of this AsyncResult lives) or rethrows the exception.
  decltype(auto) get() {
    GREENEV_CHECK_CONFINED(s_->waiters(), "AsyncResult::get");
    if (!s_->ready()) s_->wait(detail::kForever);
    return value();
  }
  // As get(), gives up after d: std::optional<T> (bool for void).
  template <class Rep, class Per>
  auto get(std::chrono::duration<Rep, Per> d) {
    GREENEV_CHECK_CONFINED(s_->waiters(), "AsyncResult::get");
    bool ok = s_->ready() || s_->wait(detail::deadline_after(d));
    if constexpr (std::is_void_v<T>) {
      if (ok) value();
      return ok;
    } else {
      return ok ? std::optional<T>(value()) : std::optional<T>();
    }
  }
  // Waits without retrieving: true once set.
  void wait() {
    GREENEV_CHECK_CONFINED(s_->waiters(), "AsyncResult::wait");
    if (!s_->ready()) s_->wait(detail::kForever);
  }
  template <class Rep, class Per>
  bool wait(std::chrono::duration<Rep, Per> d) {
    GREENEV_CHECK_CONFINED(s_->waiters(), "AsyncResult::wait");
    return s_->ready() || s_->wait(detail::deadline_after(d));
  }

 private:
  friend struct detail::WaitableTraits<AsyncResult<T>>;
  decltype(auto) value() const {
    if (s_->error_) std::rethrow_exception(s_->error_);
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return static_cast<const T&>(*s_->value_);
    }
  }
  std::shared_ptr<detail::ResultState<T>> s_;
};

}  // namespace greenev

#include <greenev/detail/hub_submit.hpp>  // HubHandle::submit_async (needs AsyncResult complete)
