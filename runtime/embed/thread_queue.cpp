// runtime/embed/thread_queue.cpp — how ThreadQueue's callers wait (greenev/thread_queue.hpp).
//
// Plain threads wait on one condition variable per side, signalled after the mutex is released
// (a notify under the mutex woke threads straight into a held lock: 2p2c ran at 0.2x the
// textbook queue). A blocked thread always re-checks, so a signal that meets its timeout is
// not lost. Fibers cannot wait on a condition variable without blocking their hub: a parked
// fiber is a node on its own stack, linked FIFO under the mutex, with a cross_thread Event of its
// own. The waker unlinks the first node, marks it notified and sets its Event *under* the mutex
// (set() from another thread posts the wake-up to the fiber's hub); the fiber takes the mutex
// again before its node and Event leave scope, so a set never reaches a dead object. A fiber
// that gives up after being notified (kill, Timeout) passes the wake-up to the next waiter.
// Rejected: notify_all on every put (a thundering herd across threads), and a per-waiter
// condition variable for threads (it must be signalled under the mutex: see above).
#include <greenev/event.hpp>
#include <greenev/thread_queue.hpp>

#include "core/hub.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace greenev::detail {

struct ThreadQueueCore::Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool linked = false;
  bool notified = false;
  Event* ev = nullptr;  // the parked fiber's (cross_thread)
};

ThreadQueueCore::~ThreadQueueCore() {
  if (head_[0] || head_[1] || threads_waiting_[0] || threads_waiting_[1]) {
    std::fprintf(stderr, "greenev: ThreadQueue destroyed while threads or fibers wait on it\n");
    std::abort();
  }
}

void ThreadQueueCore::signal_thread(Side s) noexcept { cv_[s].notify_one(); }

void ThreadQueueCore::link(Waiter& w, Side s) noexcept {
  w.prev = tail_[s];
  w.next = nullptr;
  (tail_[s] ? tail_[s]->next : head_[s]) = &w;
  tail_[s] = &w;
  w.linked = true;
}

void ThreadQueueCore::unlink(Waiter& w, Side s) noexcept {
  (w.prev ? w.prev->next : head_[s]) = w.next;
  (w.next ? w.next->prev : tail_[s]) = w.prev;
  w.prev = w.next = nullptr;
  w.linked = false;
}

void ThreadQueueCore::notify_first(Side s) noexcept {
  Waiter* w = head_[s];
  unlink(*w, s);
  w->notified = true;
  w->ev->set();
}

void ThreadQueueCore::close_locked() noexcept {
  closed_ = true;
  while (head_[getters]) notify_first(getters);
  while (head_[putters]) notify_first(putters);
  cv_[getters].notify_all();
  cv_[putters].notify_all();
}

bool ThreadQueueCore::wait(std::unique_lock<std::mutex>& lk, Side side, Deadline d) {
  Waiter w;
  if (Hub::current_or_null()) {
    Event ev(cross_thread);  // keeps the hub's loop alive while it waits: the set comes from outside
    w.ev = &ev;
    link(w, side);
    lk.unlock();
    try {
      ev.wait_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(d)));
    } catch (...) {
      lk.lock();
      if (w.linked) {
        unlink(w, side);
      } else if (w.notified && !closed_ && wake_locked(side)) {  // woken for what we will not use:
        signal_thread(side);                                      // pass it on
      }
      throw;
    }
    lk.lock();
    if (w.linked) unlink(w, side);
    return w.notified || now_ns() < d;
  }
  ++threads_waiting_[side];
  bool in_time = true;
  if (d == kForever) {
    cv_[side].wait(lk);
  } else {
    in_time = cv_[side].wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(d))) ==
              std::cv_status::no_timeout;
  }
  --threads_waiting_[side];
  return in_time;
}

}  // namespace greenev::detail
