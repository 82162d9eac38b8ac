// runtime/threadpool/threadpool.cpp — the worker threads, the bounded queue, and the fiber side of a wait.
//
// A pool is a mutex, an admitted FIFO (at most capacity_ jobs), an overflow FIFO of jobs whose
// fibers park until a slot frees (intrusive: the waiting fibers are the queue), and workers
// started lazily up to size_. Idle workers wait LIFO (the warmest takes the next job), each on its
// own condvar, so a submit wakes exactly one thread. The waiting fiber parks with a LoopRef and is
// woken through its hub's completion port (threadpool_port.hpp).
//
// fork(): the after-fork registry (runtime/process/fork.hpp, order fork_order::threadpool, added at
// load time so its lock is never taken under the pool registry's) takes every pool's mutex and every worker's completion mutex (a worker
// holds it only while publishing a result, never while running work, so fork never waits for
// work). The child thus sees each job either published or not, unlocks, forgets the worker threads
// (they do not exist there) and fails the forking thread's in-flight jobs as "lost" (their fibers
// wake with ECANCELED / WakeReason::loop_exit); new workers start on the next call.
//
// Exit: the default pool is deliberately leaked, never joined. Joining at exit would hang on
// work that never ends (a stuck NFS read, a 30 s DNS timeout), and hubs on other threads may
// still submit during static destruction; workers touch only heap objects reachable from the
// leaked pool and ports closed by their threads' exit, so exit_group() simply ends them.
// User-made ThreadPools join in their destructor (std::jthread semantics).
#include "core/hub.hpp"
#include "core/scope.hpp"
#include "threadpool/threadpool_port.hpp"
#include "process/fork.hpp"

#include <greenev/errors.hpp>
#include <greenev/fork.hpp>
#include <greenev/threadpool.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <signal.h>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace greenev::detail {

namespace {
thread_local bool tls_on_worker = false;
}

struct Worker {
  PoolImpl* pool = nullptr;
  std::thread thread;
  std::mutex publish_mu;        // held while publishing a result: the fork gate
  std::condition_variable cv;   // idle wait, with pool->mu
  // guarded by pool->mu:
  bool wake = false;            // told to look at the queue again
  bool exited = false;          // returned from its loop; joinable at once
  Worker* next_idle = nullptr;
  // set under pool->mu when popped, cleared under publish_mu when published: a job here is
  // neither queued nor on a completion list (the fork-child handler needs to know)
  BlockingJob* current = nullptr;
};

// A FIFO of jobs through BlockingJob::next_.
struct JobFifo {
  BlockingJob* head = nullptr;
  BlockingJob* tail = nullptr;
  std::size_t len = 0;
  void push(BlockingJob* j) noexcept {
    j->next_ = nullptr;
    (tail ? tail->next_ : head) = j;
    tail = j;
    ++len;
  }
  BlockingJob* pop() noexcept {
    BlockingJob* j = head;
    if (j) {
      head = j->next_;
      if (!head) tail = nullptr;
      j->next_ = nullptr;
      --len;
    }
    return j;
  }
};

struct PoolImpl {
  PoolImpl(std::size_t threads, std::size_t capacity, bool registered_by_caller = false);
  ~PoolImpl();

  bool submit(BlockingJob* job, bool& queued_for_slot) noexcept;  // false: no thread could start
  BlockingJob* pop_locked() noexcept;
  void worker_main(Worker* w) noexcept;
  bool spawn_locked() noexcept;
  Worker* wake_one_locked() noexcept;  // notify its cv after unlocking mu
  void resize(std::size_t n);
  std::vector<Worker*> take_exited_locked();
  void join_spares(std::vector<Worker*>& reap) noexcept;

  void fork_prepare() noexcept;
  void fork_parent() noexcept;
  void fork_child() noexcept;

  mutable std::mutex mu;
  std::size_t size;                 // guarded by mu
  const std::size_t capacity;
  JobFifo admitted;                 // guarded by mu
  JobFifo overflow;                 // guarded by mu
  std::vector<Worker*> workers;     // started and not joined; guarded by mu
  std::vector<Worker*> spares;      // joined, kept for reuse: a Worker is freed only with the pool,
                                    // so a notify issued after unlocking never hits freed memory
  Worker* idle = nullptr;           // LIFO; guarded by mu
  std::size_t live = 0;             // workers not exited; guarded by mu
  bool stopping = false;            // guarded by mu
  std::vector<void*> fork_orphans;  // child: what threads that don't exist here owned (kept reachable)
  PoolImpl* reg_prev = nullptr;     // the registry (g_registry_mu)
  PoolImpl* reg_next = nullptr;
};

namespace {

// Every pool, for the atfork handlers. Globals with trivial destructors only: pools outlive
// static destruction.
constinit std::mutex g_registry_mu;
constinit PoolImpl* g_registry = nullptr;
constinit std::atomic<PoolImpl*> g_default{nullptr};
constinit std::atomic<ThreadPool*> g_default_handle{nullptr};
constinit std::size_t g_default_size_request = 0;  // set_default_thread_pool_size before first use

void atfork_prepare() noexcept {
  g_registry_mu.lock();
  for (PoolImpl* p = g_registry; p; p = p->reg_next) p->fork_prepare();
}
void atfork_parent() noexcept {
  for (PoolImpl* p = g_registry; p; p = p->reg_next) p->fork_parent();
  g_registry_mu.unlock();
}
void atfork_child() noexcept {
  for (PoolImpl* p = g_registry; p; p = p->reg_next) p->fork_child();
  g_registry_mu.unlock();
}

__attribute__((constructor(104))) void threadpool_fork_hooks() {
  add_fork_hooks_raw(fork_order::threadpool, &atfork_prepare, &atfork_parent, &atfork_child);
}

void registry_add_locked(PoolImpl* p) {
  p->reg_next = g_registry;
  if (g_registry) g_registry->reg_prev = p;
  g_registry = p;
}

void registry_add(PoolImpl* p) {
  std::lock_guard lk(g_registry_mu);
  registry_add_locked(p);
}

void registry_remove(PoolImpl* p) noexcept {
  std::lock_guard lk(g_registry_mu);
  (p->reg_prev ? p->reg_prev->reg_next : g_registry) = p->reg_next;
  if (p->reg_next) p->reg_next->reg_prev = p->reg_prev;
}

std::size_t default_size() noexcept {
  if (const char* env = std::getenv("GREENEV_THREADPOOL_SIZE"); env && *env) {
    char* end = nullptr;
    unsigned long v = std::strtoul(env, &end, 10);
    if (*end == '\0' && v > 0 && v <= 4096) return v;
    std::fprintf(stderr, "greenev: ignoring GREENEV_THREADPOOL_SIZE=%s (want 1..4096)\n", env);
  }
  if (g_default_size_request) return g_default_size_request;
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::clamp<std::size_t>(4 * cores, 8, 64);
}

}  // namespace

// --- the pool ---

PoolImpl::PoolImpl(std::size_t threads, std::size_t cap, bool registered_by_caller)
    : size(threads), capacity(cap) {
  if (threads == 0) throw std::invalid_argument("greenev: a ThreadPool needs at least one thread");
  if (cap == 0) throw std::invalid_argument("greenev: a ThreadPool needs a queue capacity of at least 1");
  if (!registered_by_caller) registry_add(this);
}

PoolImpl::~PoolImpl() {
  registry_remove(this);
  std::vector<Worker*> all;
  {
    std::lock_guard lk(mu);
    stopping = true;
    for (Worker* w = idle; w; w = w->next_idle) {
      w->wake = true;
      w->cv.notify_one();
    }
    idle = nullptr;
    all.swap(workers);
  }
  for (Worker* w : all) {  // they finish the admitted and waiting work first
    w->thread.join();
    delete w;
  }
  for (Worker* w : spares) delete w;
  assert(admitted.len == 0 && overflow.len == 0 && "greenev: ThreadPool destroyed with work no thread can run");
}

Worker* PoolImpl::wake_one_locked() noexcept {
  Worker* w = idle;
  idle = w->next_idle;
  w->next_idle = nullptr;
  w->wake = true;
  return w;  // notified after unlocking: a notify under mu makes the worker block on mu at once
}

bool PoolImpl::spawn_locked() noexcept {
  Worker* w;
  const bool fresh = spares.empty();
  if (!fresh) {
    w = spares.back();
    spares.pop_back();
    w->wake = w->exited = false;
    w->next_idle = nullptr;
    w->current = nullptr;
  } else {
    w = new (std::nothrow) Worker;
    if (!w) return false;
  }
  w->pool = this;
  // Workers take no asynchronous signals: those belong to the hubs' threads.
  sigset_t all, old;
  sigfillset(&all);
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&all, s);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    w->thread = std::thread([w] { w->pool->worker_main(w); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (fresh) {
      delete w;  // never idle, so no notify can target it
    } else {
      spares.push_back(w);  // the slot it was just popped from: no allocation
    }
    return false;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_setname_np(w->thread.native_handle(), "greenev-pool");
  workers.push_back(w);
  ++live;
  return true;
}

std::vector<Worker*> PoolImpl::take_exited_locked() {
  std::vector<Worker*> out;
  auto it = std::partition(workers.begin(), workers.end(), [](Worker* w) { return !w->exited; });
  out.assign(it, workers.end());
  workers.erase(it, workers.end());
  return out;
}

bool PoolImpl::submit(BlockingJob* job, bool& queued_for_slot) noexcept {
  std::vector<Worker*> reap;
  Worker* wake = nullptr;
  {
    std::lock_guard lk(mu);
    job->queued_at_ = now_ns();
    if (admitted.len < capacity && overflow.len == 0) {
      admitted.push(job);
      queued_for_slot = false;
    } else {
      overflow.push(job);
      queued_for_slot = true;
    }
    if (idle) {
      wake = wake_one_locked();
    } else if (live < size) {
      if (workers.size() > live) {
        try {
          reap = take_exited_locked();
        } catch (...) {
        }
      }
      if (!spawn_locked() && live == 0) {
        // No thread at all: take the job back; the caller runs it inline.
        JobFifo& q = queued_for_slot ? overflow : admitted;
        JobFifo keep;
        while (BlockingJob* j = q.pop())
          if (j != job) keep.push(j);
        q = keep;
        return false;
      }
    }
  }
  if (wake) wake->cv.notify_one();
  join_spares(reap);
  return true;
}

void PoolImpl::join_spares(std::vector<Worker*>& reap) noexcept {
  if (reap.empty()) return;
  for (Worker* w : reap) w->thread.join();  // exited: returns at once
  std::lock_guard lk(mu);
  for (Worker* w : reap) spares.push_back(w);
}

BlockingJob* PoolImpl::pop_locked() noexcept {
  BlockingJob* j = admitted.pop();
  if (!j) j = overflow.pop();  // only if capacity were 0: never, kept for robustness
  while (admitted.len < capacity && overflow.len > 0) admitted.push(overflow.pop());
  return j;
}

void PoolImpl::worker_main(Worker* w) noexcept {
  tls_on_worker = true;
  std::unique_lock lk(mu);
  for (;;) {
    BlockingJob* j = pop_locked();
    if (!j) {
      if (stopping || live > size) break;
      w->wake = false;
      w->next_idle = idle;
      idle = w;
      while (!w->wake) w->cv.wait(lk);
      continue;
    }
    w->current = j;
    lk.unlock();
    diag_pool_job_started(now_ns() - j->queued_at_);
    std::uint8_t expect = BlockingJob::queued;
    const bool run = j->state_.compare_exchange_strong(expect, BlockingJob::running, std::memory_order_acq_rel);
    if (run) j->execute();
    // Go idle *before* publishing when there is nothing else to do: the waiter's next submit
    // (typically right after it wakes) then finds this thread idle and it never has to sleep,
    // instead of racing its way into the mutex while this thread is still on its way to the cv.
    bool idle_now = false;
    lk.lock();
    if (admitted.len == 0 && !stopping && live <= size) {
      w->wake = false;
      w->next_idle = idle;
      idle = w;
      idle_now = true;
    }
    lk.unlock();
    {
      std::lock_guard g(w->publish_mu);
      w->current = nullptr;
      if (run) {
        j->state_.store(BlockingJob::finished, std::memory_order_release);
        completion_port_post(j->port_, j);  // hands the pool's reference to the waiter's hub
      }
    }
    if (!run) j->release();  // cancelled: the waiter left before it started
    lk.lock();
    if (idle_now)
      while (!w->wake) w->cv.wait(lk);
  }
  w->exited = true;
  --live;
}

void PoolImpl::resize(std::size_t n) {
  if (n == 0) throw std::invalid_argument("greenev: a ThreadPool needs at least one thread");
  std::vector<Worker*> reap, wake;
  {
    std::lock_guard lk(mu);
    size = n;
    reap = take_exited_locked();
    spares.reserve(spares.size() + workers.size() + reap.size() + n);
    // Shrinking: idle surplus workers wake, find nothing and exit. Growing: start threads for
    // work already waiting.
    std::size_t surplus = live > size ? live - size : 0;
    while (surplus-- > 0 && idle) wake.push_back(wake_one_locked());
    std::size_t backlog = admitted.len + overflow.len;
    while (live < size && backlog-- > 0 && spawn_locked()) {}
  }
  for (Worker* w : wake) w->cv.notify_one();
  join_spares(reap);
}

void PoolImpl::fork_prepare() noexcept {
  mu.lock();
  for (Worker* w : workers) w->publish_mu.lock();
}

void PoolImpl::fork_parent() noexcept {
  for (Worker* w : workers) w->publish_mu.unlock();
  mu.unlock();
}

void PoolImpl::fork_child() noexcept {
  // Single-threaded here, holding every lock the parent's threads could have held.
  CompletionPort* mine = completion_port_current();
  auto lose = [&](BlockingJob* j) {
    if (mine && j->port_ == mine) {
      j->lost_ = true;
      j->state_.store(BlockingJob::finished, std::memory_order_relaxed);
      completion_port_post(mine, j);  // its waiter (copied into this process) wakes with loop_exit
    } else {
      fork_orphans.push_back(j);  // another thread's: it does not exist here
    }
  };
  while (BlockingJob* j = admitted.pop()) lose(j);
  while (BlockingJob* j = overflow.pop()) lose(j);
  for (Worker* w : workers) {
    if (w->current) lose(std::exchange(w->current, nullptr));
    w->publish_mu.unlock();
    fork_orphans.push_back(w);  // its std::thread names a thread of the parent: never join it
  }
  workers.clear();
  idle = nullptr;
  live = 0;
  mu.unlock();
}

std::size_t threadpool_queued_jobs() noexcept {
  std::size_t n = 0;
  std::lock_guard lk(g_registry_mu);
  for (PoolImpl* p = g_registry; p; p = p->reg_next) {
    std::lock_guard pl(p->mu);
    n += p->admitted.len + p->overflow.len;
  }
  return n;
}

// --- the fiber side ---

BlockingJob::~BlockingJob() {
  if (port_) completion_port_release(port_);
}

WakeReason submit_and_wait(PoolImpl* pool, BlockingJob* job, Interrupt mode) noexcept {
  if (tls_on_worker) {  // nested call on a pool thread: waiting for a sibling could deadlock
    job->execute();
    job->delivered_ = true;
    return WakeReason::woken;
  }
  FiberBase* self = current_fiber();
  if (mode == Interrupt::allowed) {  // a suspension point: a pending kill or timeout wins at once
    if (self->kill_pending_) return WakeReason::killed;
    if (self->scopes_ && scope_deadline(self) <= now_ns()) return WakeReason::scope_timeout;
  }
  try {
    job->port_ = completion_port_acquire();
  } catch (...) {
    job->execute();  // no port (out of memory): run it here rather than fail
    job->delivered_ = true;
    return WakeReason::woken;
  }
  job->fiber_ = self;
  job->add_ref();  // the pool's
  bool queued_for_slot = false;
  if (!pool->submit(job, queued_for_slot)) {
    job->release();
    job->execute();  // no worker thread could be started: degrade to running it here
    job->delivered_ = true;
    return WakeReason::woken;
  }
  LoopRef keep;  // a wake-up will come from another thread
  const char* reason = queued_for_slot ? "run_blocking_queued" : "run_blocking";
  if (mode == Interrupt::deferred) {
    // Wait for the result whatever happens: hide the Timeout scopes and hold back a kill
    // (park() would return at once for either), then restore both for the next suspension.
    TimeoutScope* scopes = std::exchange(self->scopes_, nullptr);
    bool kill_seen = false;
    while (!job->delivered_) {
      if (self->kill_pending_) {
        kill_seen = true;
        self->kill_pending_ = false;
      }
      (void)park(reason, kForever);
    }
    self->scopes_ = scopes;
    if (kill_seen) self->kill_pending_ = true;
    return job->lost_ ? WakeReason::loop_exit : WakeReason::woken;
  }
  for (;;) {
    WakeReason r = park(reason, kForever);
    if (job->delivered_) return job->lost_ ? WakeReason::loop_exit : WakeReason::woken;
    if (r == WakeReason::woken || r == WakeReason::timed_out) continue;  // a stray wake-up
    // Giving up: the drain will not unpark us; a job no worker has taken yet never runs.
    job->abandoned_ = true;
    std::uint8_t expect = BlockingJob::queued;
    job->state_.compare_exchange_strong(expect, BlockingJob::cancelled, std::memory_order_acq_rel);
    return r;
  }
}

PoolImpl* default_pool_impl() {
  if (PoolImpl* p = g_default.load(std::memory_order_acquire)) return p;
  // Created under the registry lock, which the atfork handlers hold: a fork never sees it half made.
  std::lock_guard lk(g_registry_mu);
  if (PoolImpl* p = g_default.load(std::memory_order_acquire)) return p;
  auto* p = new PoolImpl(default_size(), ThreadPool::kDefaultQueueCapacity, true);  // leaked: see top
  registry_add_locked(p);
  g_default.store(p, std::memory_order_release);
  return p;
}

void throw_lost_to_fork() {
  throw std::system_error(ECANCELED, std::generic_category(),
                          "greenev: run_blocking work was in flight at fork() and is lost in the child");
}

}  // namespace greenev::detail

namespace greenev {

ThreadPool::ThreadPool(std::size_t threads, std::size_t queue_capacity)
    : impl_(new detail::PoolImpl(threads, queue_capacity)) {}

ThreadPool::~ThreadPool() { delete impl_; }  // null for a lost default handle

std::size_t ThreadPool::size() const noexcept {
  std::lock_guard lk(impl_->mu);
  return impl_->size;
}

std::size_t ThreadPool::queue_capacity() const noexcept { return impl_->capacity; }

std::size_t ThreadPool::threads_started() const noexcept {
  std::lock_guard lk(impl_->mu);
  return impl_->live;
}

void ThreadPool::resize(std::size_t threads) { impl_->resize(threads); }

ThreadPool& default_thread_pool() {
  if (ThreadPool* h = detail::g_default_handle.load(std::memory_order_acquire)) return *h;
  auto* h = new ThreadPool(ThreadPool::Adopt{}, detail::default_pool_impl());  // leaked with the pool
  ThreadPool* expect = nullptr;
  if (!detail::g_default_handle.compare_exchange_strong(expect, h, std::memory_order_acq_rel)) {
    h->impl_ = nullptr;  // lost the race; the pool is not ours to delete
    delete h;
    return *expect;
  }
  return *h;
}

void set_default_thread_pool_size(std::size_t threads) {
  if (threads == 0) throw std::invalid_argument("greenev: a ThreadPool needs at least one thread");
  detail::PoolImpl* p;
  {
    std::lock_guard lk(detail::g_registry_mu);
    p = detail::g_default.load(std::memory_order_acquire);
    if (!p) detail::g_default_size_request = threads;
  }
  if (p) p->resize(threads);
}

}  // namespace greenev
