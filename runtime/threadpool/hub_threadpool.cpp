// runtime/threadpool/hub_threadpool.cpp — the loop side of the thread pool: per-hub completion ports.
//
// A port is an ev_async plus a lock-free list of finished jobs (threadpool_port.hpp). The async is
// unref'd like the hub's inbox: a waiting fiber holds a LoopRef instead, so an idle port never
// keeps a loop alive and a waited-on one always does. Port lifetime: created on the hub thread,
// closed by a thread_local destructor at thread exit (it runs before the hub's: it was registered
// after the hub existed), freed when the last job referencing it is released.
//   open    loop_ set; posts send the async, the hub drains.      -> closed (thread exit)
//   closed  loop_ null; a post that finds the list empty drains it itself (the waiters are gone).
// Rejected: HubHandle::post (a std::function and a fiber per completion) and a mutex-guarded
// vector (a lock per completion on the hot path; here a lock is taken only to send the async).
#include "threadpool/threadpool_port.hpp"

#include "core/hub.hpp"

#include <ev.h>

#include <atomic>
#include <mutex>
#include <utility>

namespace greenev::detail {

struct CompletionPort {
  ev_async async;                         // data = this
  std::atomic<BlockingJob*> head{nullptr};  // finished jobs, newest first
  std::atomic<std::uint32_t> refs{1};      // the thread's, plus one per job in flight
  std::mutex mu;                          // guards loop (a send against close)
  struct ev_loop* loop = nullptr;         // null once closed
  Hub* hub = nullptr;                     // the hub the async is started on (its thread only)
};

namespace {

void release_all(BlockingJob* j) noexcept {
  while (j) {
    BlockingJob* next = j->next_;
    j->release();
    j = next;
  }
}

void on_completions(struct ev_loop*, ev_async* w, int) noexcept {
  auto* p = static_cast<CompletionPort*>(w->data);
  BlockingJob* j = p->head.exchange(nullptr, std::memory_order_acquire);
  BlockingJob* fifo = nullptr;  // the stack holds newest first: reverse, so waiters wake in order
  while (j) {
    BlockingJob* next = j->next_;
    j->next_ = fifo;
    fifo = j;
    j = next;
  }
  while (fifo) {
    BlockingJob* next = fifo->next_;
    fifo->delivered_ = true;
    if (!fifo->abandoned_) unpark(fifo->fiber_, WakeReason::woken);
    fifo->release();  // the pool's reference; the waiter still holds its own if it waits
    fifo = next;
  }
}

void close_port(CompletionPort* p) noexcept {
  struct ev_loop* loop;
  {
    std::lock_guard lk(p->mu);
    loop = p->loop;
    p->loop = nullptr;
  }
  if (loop && Hub::current_or_null() == p->hub) {
    ev_ref(loop);  // libev: re-ref an unref'd watcher before stopping it
    ev_async_stop(loop, &p->async);
  }
  release_all(p->head.exchange(nullptr, std::memory_order_acquire));
  completion_port_release(p);
}

struct PortHolder {
  CompletionPort* port = nullptr;
  ~PortHolder() {
    if (port) close_port(std::exchange(port, nullptr));
  }
};
thread_local PortHolder tls_port;

}  // namespace

CompletionPort* completion_port_acquire() {
  Hub& hub = Hub::current();
  CompletionPort* p = tls_port.port;
  if (!p || p->hub != &hub) {
    if (p) close_port(std::exchange(tls_port.port, nullptr));  // the thread's hub was replaced
    p = new CompletionPort;
    p->hub = &hub;
    p->loop = hub.loop();
    ev_async_init(&p->async, &on_completions);
    p->async.data = p;
    ev_async_start(p->loop, &p->async);
    ev_unref(p->loop);  // waiters hold a LoopRef; an idle port keeps nothing alive
    tls_port.port = p;
  }
  p->refs.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void completion_port_release(CompletionPort* p) noexcept {
  if (p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p;
}

CompletionPort* completion_port_current() noexcept { return tls_port.port; }

void completion_port_post(CompletionPort* p, BlockingJob* job) noexcept {
  p->refs.fetch_add(1, std::memory_order_relaxed);  // the drain may free job (and its reference)
  BlockingJob* old = p->head.load(std::memory_order_relaxed);
  do {
    job->next_ = old;
  } while (!p->head.compare_exchange_weak(old, job, std::memory_order_release, std::memory_order_relaxed));
  if (old == nullptr) {  // the list was empty: nobody has sent for it yet
    std::unique_lock lk(p->mu);
    if (p->loop) {
      ev_async_send(p->loop, &p->async);
    } else {
      lk.unlock();
      release_all(p->head.exchange(nullptr, std::memory_order_acquire));
    }
  }
  completion_port_release(p);
}

}  // namespace greenev::detail
