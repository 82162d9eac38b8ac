// greenev/thread_queue.hpp — ThreadQueue<T>: a bounded MPMC queue shared by OS threads and fibers.
//
//   greenev::ThreadQueue<Job> q(1024);
//   std::thread producer([&] { q.put(make_job()); q.close(); });  // blocks this thread when full
//   while (auto job = q.get(1s)) handle(*job);                     // a fiber: parks when empty
//
// Any thread may call any operation. A caller on a thread that has a hub (a fiber, or the thread's
// main stack once it has a hub) *parks* while it waits — the hub runs its other fibers; a caller
// on a plain thread *blocks* that thread (a condition variable per side). FIFO for items; parked
// fibers are woken in arrival order (before blocked threads), but a woken waiter can lose the item
// to a caller that arrives first (no hand-off across threads), and then waits again.
//   put(v)        waits while full; ChannelClosed once closed (v is then left as it was).
//   put(v, d)     gives up after d: false, v left as it was. try_put(v): never waits.
//   get()         waits while empty; after close() drains what is buffered, then ChannelClosed.
//   get(d)        nullopt on timeout (or closed and drained). try_get(): never waits.
//   close()       wakes every waiter; further puts fail, gets drain the rest.
// Waits are suspension points for fibers (kill() / Timeout raise as usual; an item a killed
// waiter was woken for goes to the next waiter). A fiber's wait keeps its hub alive.
// Rejected: a lock-free ring (blocking still needs a parking protocol on both sides, and the
// benchmark — tests/bench/thread_queue — shows the mutex path is not the bottleneck at these
// rates), and making greenev::Queue cross-thread (its direct hand-off protocol is hub-confined).
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/detail/deadline.hpp>
#include <greenev/detail/sync_common.hpp>

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

namespace greenev {

namespace detail {

// The non-template half: the mutex, the waiters and the waiting itself
// (runtime/embed/thread_queue.cpp). Everything here is guarded by mu_.
class GREENEV_API ThreadQueueCore {
 public:
  struct Waiter;
  enum Side : int { getters = 0, putters = 1 };

 protected:
  ThreadQueueCore() = default;
  ~ThreadQueueCore();
  ThreadQueueCore(const ThreadQueueCore&) = delete;
  ThreadQueueCore& operator=(const ThreadQueueCore&) = delete;

  // With lk held: waits until woken (maybe spuriously) or `d` passes; lk is held again on
  // return. False when `d` passed: the caller checks its condition once more, then gives up.
  // For fibers a kill / Timeout / LoopExit propagates (lk held again, a wake-up passed on).
  bool wait(std::unique_lock<std::mutex>& lk, Side side, Deadline d);
  // With mu_ held, after a change that lets one waiter of `side` proceed: wakes the first parked
  // fiber at once, or returns true when a blocked thread must be signalled (signal_thread(side))
  // once mu_ is released — so the woken thread does not wake into a held mutex.
  bool wake_locked(Side side) noexcept {
    if (head_[side]) {
      notify_first(side);
      return false;
    }
    return threads_waiting_[side] > 0;
  }
  void signal_thread(Side side) noexcept;
  void close_locked() noexcept;  // closed_ = true and every waiter woken

  mutable std::mutex mu_;
  bool closed_ = false;

 private:
  void notify_first(Side side) noexcept;
  void link(Waiter& w, Side side) noexcept;
  void unlink(Waiter& w, Side side) noexcept;
  Waiter* head_[2] = {nullptr, nullptr};  // parked fibers, FIFO
  Waiter* tail_[2] = {nullptr, nullptr};
  std::size_t threads_waiting_[2] = {0, 0};
  std::condition_variable cv_[2];  // blocked plain threads, per side
};

}  // namespace detail

template <class T>
class ThreadQueue : private detail::ThreadQueueCore {
 public:
  // capacity >= 1 (std::invalid_argument otherwise); the buffer is allocated up front.
  explicit ThreadQueue(std::size_t capacity) : cap_(capacity) {
    if (capacity == 0) throw std::invalid_argument("greenev::ThreadQueue: capacity must be at least 1");
    ring_ = std::make_unique<std::optional<T>[]>(capacity);
  }

  template <class U>
  void put(U&& v) {
    put_until(std::forward<U>(v), detail::kForever, true);
  }
  template <class U, class Rep, class Per>
  bool put(U&& v, std::chrono::duration<Rep, Per> d) {
    return put_until(std::forward<U>(v), detail::deadline_after(d), false);
  }
  template <class U>
  bool try_put(U&& v) {
    std::unique_lock lk(mu_);
    if (closed_ || size_ == cap_) return false;
    push_locked(lk, std::forward<U>(v));
    return true;
  }

  T get() { return *get_until(detail::kForever, true); }
  template <class Rep, class Per>
  std::optional<T> get(std::chrono::duration<Rep, Per> d) {
    return get_until(detail::deadline_after(d), false);
  }
  std::optional<T> try_get() {
    std::unique_lock lk(mu_);
    if (size_ == 0) return std::nullopt;
    return pop_locked(lk);
  }

  void close() noexcept {
    std::lock_guard lk(mu_);
    close_locked();
  }
  bool closed() const noexcept {
    std::lock_guard lk(mu_);
    return closed_;
  }
  std::size_t size() const noexcept {
    std::lock_guard lk(mu_);
    return size_;
  }
  std::size_t capacity() const noexcept { return cap_; }

 private:
  // Both release lk (the wake-up of a blocked thread is sent after the unlock).
  template <class U>
  void push_locked(std::unique_lock<std::mutex>& lk, U&& v) {
    ring_[(head_ + size_) % cap_].emplace(std::forward<U>(v));
    ++size_;
    const bool signal = wake_locked(getters);
    lk.unlock();
    if (signal) signal_thread(getters);
  }
  std::optional<T> pop_locked(std::unique_lock<std::mutex>& lk) {
    std::optional<T> v(std::move(*ring_[head_]));
    ring_[head_].reset();
    head_ = (head_ + 1) % cap_;
    --size_;
    const bool signal = wake_locked(putters);
    lk.unlock();
    if (signal) signal_thread(putters);
    return v;
  }
  template <class U>
  bool put_until(U&& v, detail::Deadline d, bool throw_closed) {
    std::unique_lock lk(mu_);
    for (bool expired = false;; expired = !wait(lk, putters, d)) {
      if (closed_) {
        if (throw_closed) throw ChannelClosed();
        return false;
      }
      if (size_ < cap_) {
        push_locked(lk, std::forward<U>(v));
        return true;
      }
      if (expired) return false;
    }
  }
  std::optional<T> get_until(detail::Deadline d, bool throw_closed) {
    std::unique_lock lk(mu_);
    for (bool expired = false;; expired = !wait(lk, getters, d)) {
      if (size_ > 0) return pop_locked(lk);
      if (closed_) {
        if (throw_closed) throw ChannelClosed();
        return std::nullopt;
      }
      if (expired) return std::nullopt;
    }
  }

  std::unique_ptr<std::optional<T>[]> ring_;
  std::size_t cap_;
  std::size_t head_ = 0;  // guarded by mu_, as are size_ and the ring
  std::size_t size_ = 0;
};

}  // namespace greenev
