// greenev/threadpool.hpp — run blocking work on OS threads and wait for it cooperatively.
//
//   auto st = greenev::run_blocking([&path] { struct stat s; ::stat(path.c_str(), &s); return s; });
//
// run_blocking(fn, args...) hands fn to a worker thread, parks the calling fiber (wait reason
// "run_blocking") and returns fn's value or rethrows its exception; the hub runs other fibers
// meanwhile. It is a suspension point: a Timeout or kill() reaching the waiting fiber returns
// control at once (TimeoutError / FiberExit); the work still finishes on its thread and its result
// is dropped there. fn and args are decay-copied into a heap job, so they may outlive the caller;
// never capture the caller's locals by reference in work that may be abandoned.
//
// The default pool is created on first use with GREENEV_THREADPOOL_SIZE threads if set, else
// set_default_thread_pool_size()'s value, else clamp(4 x cores, 8, 64): the pool absorbs blocking
// syscalls (regular files, DNS) whose threads sleep in the kernel, not CPU work, so it is sized
// to overlap latency; 8 lets a small VM still run a few slow lookups at once, 64 bounds memory
// (a mostly-virtual stack per thread) and disk contention. Workers start lazily, one per call
// that finds none idle. Hubs on any number of threads share a pool.
//
// Each pool admits at most queue_capacity() jobs ahead of its threads; a fiber that finds it full
// parks in FIFO order (reason "run_blocking_queued") instead of blocking its thread, and a waiter
// that gives up before its job started withdraws it: it never runs.
//
// pool.spawn(fn, args...) is gevent's threadpool.spawn: it returns an AsyncResult<R> at once and
// runs fn on the pool; a fiber of the same hub waits on it cooperatively (get(), get(d), wait_any)
// and may start several before waiting. A helper fiber ("threadpool-spawn") does the run() and
// sets the result, so a kill of the waiting fiber does not cancel the work; the pool must outlive
// it. The result is hub-confined (plain threads use HubHandle::submit / std::future instead).
//
// Rejected: std::future per call (a mutex + condvar the hub thread would block on), and waking
// the fiber through HubHandle::post (a std::function and a fiber spawn per completion); results
// come back on a lock-free per-hub completion list drained by one ev_async (runtime/hub_threadpool).
#pragma once
#include <greenev/detail/fiber_base.hpp>
#include <greenev/event.hpp>
#include <greenev/fiber.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace greenev {

class ThreadPool;

namespace detail {

struct PoolImpl;
struct CompletionPort;

// One unit of work. State machine (state_, atomic; the only cross-thread field besides refs_):
//   queued     in the pool's queue, or parked waiting for a queue slot.   -> running, cancelled
//   running    a worker took it and is calling execute().                  -> finished
//   finished   executed; pushed on its hub's completion list.              terminal
//   cancelled  the waiter gave up before a worker took it; never runs.     terminal
// The hub-side flags (delivered_, abandoned_, lost_) are read and written on the waiter's hub
// thread only (or in a fork child, single-threaded). Two references while in flight: the waiter's
// and the pool's (handed to the completion list, dropped by the drain).
class GREENEV_API BlockingJob {
 public:
  enum State : std::uint8_t { queued, running, finished, cancelled };

  BlockingJob() noexcept = default;
  BlockingJob(const BlockingJob&) = delete;
  BlockingJob& operator=(const BlockingJob&) = delete;
  virtual ~BlockingJob();

  // Runs the work on a worker thread. Must not throw (tasks catch and store).
  virtual void execute() noexcept = 0;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  bool lost() const noexcept { return lost_; }

  // --- the runtime's (runtime/threadpool/threadpool.cpp, runtime/threadpool/hub_threadpool.cpp) ---
  std::atomic<std::uint32_t> refs_{1};
  std::atomic<std::uint8_t> state_{queued};
  BlockingJob* next_ = nullptr;        // pool queue / overflow / completion list link
  CompletionPort* port_ = nullptr;     // the waiter's hub (a counted reference)
  FiberBase* fiber_ = nullptr;         // the waiter; touched on its hub thread only
  bool delivered_ = false;             // the hub drained it: the result is readable
  bool abandoned_ = false;             // the waiter left (timeout/kill): do not unpark
  bool lost_ = false;                  // in flight at fork(): never completes in the child
  std::int64_t queued_at_ = 0;         // submit time (queue-wait metric)
};

// How a wait reacts to a Timeout scope or kill() while the work is in flight.
enum class Interrupt : std::uint8_t {
  allowed,   // return at once; the work finishes unobserved (it must not reference the caller)
  deferred,  // wait until the work has finished, then return; the timeout/kill stays pending
             // and is raised at the next suspension point (work may reference the caller's stack)
};

// Submits job to pool (taking the pool's reference) and parks until it is delivered, the wait is
// interrupted, or it is lost to fork(). Returns woken (delivered; fn ran), scope_timeout or killed
// (Interrupt::allowed only: gave up), loop_exit (lost: the process forked while the job was in
// flight and this is the child). Never throws. Runs job inline on a pool worker thread.
GREENEV_API WakeReason submit_and_wait(PoolImpl* pool, BlockingJob* job, Interrupt mode) noexcept;

GREENEV_API PoolImpl* default_pool_impl();

// Thrown by run_blocking when the work was lost to fork() (std::system_error, ECANCELED).
[[noreturn]] GREENEV_API void throw_lost_to_fork();

template <class R>
using BlockingStored = std::conditional_t<std::is_reference_v<R>,
                                          std::reference_wrapper<std::remove_reference_t<R>>,
                                          std::conditional_t<std::is_void_v<R>, char, R>>;

// The callable and its outcome live inline in the job: one allocation per call.
template <class R, class Fn>
class BlockingTask final : public BlockingJob {
 public:
  template <class G>
  explicit BlockingTask(G&& g) : fn_(std::in_place, std::forward<G>(g)) {}

  void execute() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        (*fn_)();
        value_.emplace('\0');
      } else {
        value_.emplace((*fn_)());
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    fn_.reset();  // captures die on the worker, before the result is published
  }

  R take() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_reference_v<R>) {
      return value_->get();
    } else {
      return std::move(*value_);
    }
  }

 private:
  std::optional<Fn> fn_;
  std::optional<BlockingStored<R>> value_;
  std::exception_ptr error_;
};

template <class F, class... Args>
auto bind_blocking(F&& f, Args&&... args) {
  if constexpr (sizeof...(Args) == 0) {
    return std::decay_t<F>(std::forward<F>(f));
  } else {
    return [fn = std::forward<F>(f), tup = std::make_tuple(std::forward<Args>(args)...)]() mutable
               -> decltype(auto) { return std::apply(fn, std::move(tup)); };
  }
}

template <class F, class... Args>
auto run_on(PoolImpl* pool, F&& f, Args&&... args)
    -> std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...> {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  auto bound = bind_blocking(std::forward<F>(f), std::forward<Args>(args)...);
  auto* job = new BlockingTask<R, decltype(bound)>(std::move(bound));
  struct Hold {
    BlockingJob* j;
    ~Hold() { j->release(); }
  } hold{job};
  WakeReason r = submit_and_wait(pool, job, Interrupt::allowed);
  if (r == WakeReason::woken) return job->take();
  if (r == WakeReason::loop_exit) throw_lost_to_fork();
  raise_for(r);  // scope_timeout -> TimeoutError, killed -> FiberExit
  throw_lost_to_fork();  // unreachable: raise_for throws for every other reason
}

// For the libc patches, which must never throw: runs fn() (void, must not throw: a throw
// terminates) on the default pool and returns
//   woken          fn ran to completion; its side effects are visible
//   scope_timeout  a Timeout expired first (Interrupt::allowed only); fn may still run later
//   killed         kill() came first (Interrupt::allowed only); fn may still run later
//   loop_exit      fork() happened while fn was in flight and this is the child; fn did not
//                  complete here (map to ECANCELED)
// With Interrupt::allowed fn is copied to the heap and may outlive the call: give it only data
// it owns (e.g. a copied hostname, a result buffer it allocates). With Interrupt::deferred the
// call always waits for fn, so fn may reference the caller's buffers (read/pread on regular
// files); a pending timeout or kill is then raised at the next suspension point.
template <class F>
WakeReason run_blocking_nothrow(F&& fn, Interrupt mode = Interrupt::allowed) noexcept {
  auto wrapped = [f = std::forward<F>(fn)]() mutable noexcept { f(); };
  BlockingJob* job;
  try {
    job = new BlockingTask<void, decltype(wrapped)>(std::move(wrapped));
  } catch (...) {
    return WakeReason::loop_exit;  // out of memory: report as "did not complete"
  }
  WakeReason r = submit_and_wait(default_pool_impl(), job, mode);
  job->release();
  return r;
}

}  // namespace detail

// A pool of OS threads for blocking work. Thread-safe; shareable by every hub of the process.
// Destruction runs the admitted and waiting work to completion and joins the threads (like
// std::jthread); fibers must not still be waiting on it from other threads.
class GREENEV_API ThreadPool {
 public:
  static constexpr std::size_t kDefaultQueueCapacity = 1024;

  explicit ThreadPool(std::size_t threads, std::size_t queue_capacity = kDefaultQueueCapacity);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs fn(args...) on one of this pool's threads; see run_blocking.
  template <class F, class... Args>
  auto run(F&& f, Args&&... args) {
    return detail::run_on(impl_, std::forward<F>(f), std::forward<Args>(args)...);
  }

  // Starts fn(args...) on this pool and returns its AsyncResult at once (see the file comment).
  template <class F, class... Args>
  auto spawn(F&& f, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    static_assert(!std::is_reference_v<R>, "greenev: ThreadPool::spawn needs a function returning a value, not a reference");
    AsyncResult<R> res;
    auto bound = detail::bind_blocking(std::forward<F>(f), std::forward<Args>(args)...);
    greenev::spawn(SpawnOptions{"threadpool-spawn"}, [impl = impl_, res, fn = std::move(bound)]() mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          detail::run_on(impl, std::move(fn));
          res.set();
        } else {
          res.set(detail::run_on(impl, std::move(fn)));
        }
      } catch (const FiberExit&) {
        res.set_exception(std::current_exception());  // the hub is going away: waiters see why
        throw;
      } catch (...) {
        res.set_exception(std::current_exception());
      }
    }).detach();
    return res;
  }

  std::size_t size() const noexcept;            // the most threads it runs
  std::size_t queue_capacity() const noexcept;  // the most jobs admitted ahead of the threads
  std::size_t threads_started() const noexcept; // threads alive now (started lazily)
  // Changes the thread count; extra threads exit once idle. Throws std::invalid_argument for 0.
  void resize(std::size_t threads);

 private:
  friend GREENEV_API ThreadPool& default_thread_pool();
  struct Adopt {};
  ThreadPool(Adopt, detail::PoolImpl* impl) noexcept : impl_(impl) {}
  detail::PoolImpl* impl_;
};

// The process's shared pool, created on first use. Never destroyed: see runtime/threadpool/threadpool.cpp.
GREENEV_API ThreadPool& default_thread_pool();
// Sets the default pool's size: before first use it decides the initial size (overriding the
// default but not GREENEV_THREADPOOL_SIZE), after it resizes the pool. Throws for 0.
GREENEV_API void set_default_thread_pool_size(std::size_t threads);

// Runs fn(args...) on the default pool; parks the calling fiber until it returns. Called on a
// pool thread itself, it runs fn inline (no deadlock on a saturated pool).
template <class F, class... Args>
auto run_blocking(F&& f, Args&&... args) {
  return detail::run_on(detail::default_pool_impl(), std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace greenev
