// runtime/embed/thread_queue.cpp — how ThreadQueue's callers wait (greenev/thread_queue.hpp).
//
// A waiter is a node on the waiting caller's stack, linked in FIFO order under the queue mutex.
// Waking: under the mutex, the waker unlinks the first node, marks it notified and signals it —
// a plain thread through its own condition variable, a fiber through a cross_thread Event of its
// own (set() from another thread posts the wake-up to the fiber's hub). Both signals are sent
// under the mutex, and the waiter takes the mutex again before its node (and the cv / Event)
// leaves scope, so a signal never reaches a dead object. A waiter that gives up after being
// notified (timeout, kill) passes the notification to the next waiter of its side.
// Rejected: one shared condition variable per side (a fiber cannot wait on it without blocking
// its hub) and notify_all on every put (a thundering herd across threads).
#include <greenev/event.hpp>
#include <greenev/thread_queue.hpp>

#include "core/hub.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>

namespace greenev::detail {

struct ThreadQueueCore::Waiter {
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  bool linked = false;
  bool notified = false;
  std::condition_variable* cv = nullptr;  // a plain thread's
  Event* ev = nullptr;                    // a fiber's (cross_thread)
};

ThreadQueueCore::~ThreadQueueCore() {
  if (head_[0] || head_[1]) {
    std::fprintf(stderr, "greenev: ThreadQueue destroyed while threads or fibers wait on it\n");
    std::abort();
  }
}

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
  if (w->cv) {
    w->cv->notify_one();
  } else {
    w->ev->set();
  }
}

void ThreadQueueCore::close_locked() noexcept {
  closed_ = true;
  while (head_[getters]) notify_first(getters);
  while (head_[putters]) notify_first(putters);
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
      } else if (w.notified && !closed_) {
        notify_one(side);  // we were woken for an item / a slot we will not use: pass it on
      }
      throw;
    }
    lk.lock();
  } else {
    std::condition_variable cv;
    w.cv = &cv;
    link(w, side);
    if (d == kForever) {
      cv.wait(lk, [&] { return w.notified; });
    } else {
      cv.wait_until(lk, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(d)), [&] { return w.notified; });
    }
  }
  if (w.linked) unlink(w, side);
  return w.notified;
}

}  // namespace greenev::detail
