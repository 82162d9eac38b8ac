// runtime/core/hub.hpp — the per-thread scheduler: ready queue, libev loop, timers, inbox.
//
// The hub runs in its own fiber; the thread's original stack is the main fiber. A fiber that
// parks switches *directly* to the next ready fiber (one jump), and only goes through the hub fiber
// when nothing is ready or when the loop is due a poll (every 64 switches, if 100 us have passed),
// so a busy hub still sees I/O and timers. The hub fiber polls libev — blocking when nothing is
// ready — and resumes ready fibers in FIFO order.
// Rejected: returning to the hub on every park (two jumps per hand-off, 2x the switch cost) and
// polling on every switch (an epoll_wait syscall per switch).
// Only runtime/hub*.cpp include <ev.h>; everything else reaches the loop through this class.
#pragma once
#include <greenev/detail/fiber_base.hpp>
#include <greenev/hub.hpp>

#include "core/stack.hpp"
#include "diag/hub_diag.hpp"

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct ev_loop;

namespace greenev::detail {

struct IoHub;  // runtime/io/hub_io.cpp: this hub's fd watchers
void io_hub_destroy(Hub* h) noexcept;
void io_intr_hub_destroy(Hub* h) noexcept;  // runtime/io/hub_intr.cpp: the signal wake-up watcher
// Non-zero while greenev itself installs a signal handler (SignalHandler through libev): the
// sigaction patch (patches/signal.cpp) then installs it as is, not as an interrupting user handler.
extern constinit thread_local int t_internal_sigaction;
// Fork child: unlinks fd waiters whose fibers did not survive the fork (runtime/io/hub_io.cpp).
void io_hub_after_fork(Hub* h) noexcept;

// Runs on the creating thread right after each hub is created, from upper layers registered at
// static-initialisation time (the launcher's heartbeat responder). At most 4; never unregistered.
using HubCreatedHook = void (*)(Hub&) noexcept;
void add_hub_created_hook(HubCreatedHook h) noexcept;

// Rarely used per-fiber data, allocated on first use to keep the control block small.
struct FiberExtras {
  std::string name;
  std::vector<std::function<void(std::uint64_t)>> on_done;
  std::vector<std::pair<void*, void (*)(void*)>> fls;  // indexed by FiberLocal key
  std::exception_ptr kill_with;  // kill(exception): raised instead of FiberExit
};

// Makes this thread's control-block free lists exist before its hub (runtime/core/fiber_alloc.cpp),
// so they are destroyed after it: fibers killed at thread exit still free their blocks.
void fiber_alloc_thread_init() noexcept;

// Destroys every fiber-local value of a finishing fiber (runtime/core/fiber_local.cpp).
void fls_destroy_all(FiberExtras& x) noexcept;

// Thread-safe mailbox of a hub; shared with HubHandles so it can outlive the hub.
// Items are move-only callables with their spawn options (runtime/core/hub_handle.cpp posts them).
struct PostItem {
  PostFn fn;
  std::string name;            // empty: default name
  std::size_t stack_size = 0;  // 0: default size
};
struct Inbox {
  std::mutex mu;
  std::vector<PostItem> items;  // guarded by mu
  Hub* hub = nullptr;           // guarded by mu; null once the hub is gone
  bool accepting = true;        // guarded by mu; false once the hub is stopping (HubThread::stop)
  std::atomic<int> keepalive{0};
};
// Stops the inbox taking posts (post() returns false from now on) and returns what was posted
// but not yet started, for the caller to destroy outside the lock (runtime/core/hub_handle.cpp).
std::vector<PostItem> close_inbox(Inbox& in) noexcept;

// The ready fibers: one intrusive doubly linked list (kill of an unstarted fiber unlinks in O(1))
// in two regions, [next | fifo]:
//   next  fibers the running fiber made ready (spawned or woken), in the order it did so, ahead
//         of everything older: when it suspends, its work runs first (work-first: Go's runnext
//         extended to every spawn and wake-up, keeping their order, as gevent users expect).
//         Join hand-offs go to its head.
//   fifo  the rest: loop callbacks (I/O, timers), cross-thread posts, demoted next entries.
// yield() turns the whole list into fifo and queues the caller at its tail: every fiber ready when
// it yielded runs before it continues (this_fiber.hpp's contract).
// Starvation bound: after kMaxRunNext consecutive dispatches from next, the first fifo fiber runs;
// if fifo is empty, next's oldest entry is demoted to it instead (so two fibers waking each other
// cannot starve a fiber queued behind them in next either).
// Rejected: Go's single runnext slot with FIFO behind it (skynet written with channels then runs
// breadth-first: ~100k fibers parked holding stacks at once, GBs of RSS); a LIFO of every spawn
// (depth-first too, but reverses the order of fibers spawned together); two separate lists (yield
// would have to move every next entry).
class ReadyQueue {
 public:
  static constexpr std::uint32_t kMaxRunNext = 256;

  bool empty() const noexcept { return head_ == nullptr; }
  FiberBase* front() const noexcept { return head_; }
  // At the tail (fifo).
  void push_back(FiberBase* f) noexcept {
    f->rq_prev_ = tail_;
    f->rq_next_ = nullptr;
    (tail_ ? tail_->rq_next_ : head_) = f;
    tail_ = f;
  }
  // Into next, after the fibers the running fiber made ready before it in this slice.
  void push_next(FiberBase* f) noexcept {
    const bool extends = batch_ == next_tail_;  // also true when both are null
    link_after(f, batch_);
    if (extends) next_tail_ = f;
    batch_ = f;
  }
  // At the head of next: runs next of all (join hand-offs).
  void push_front(FiberBase* f) noexcept {
    link_after(f, nullptr);
    if (!next_tail_) next_tail_ = f;
  }
  // A queued fiber to the head of next (join of an unstarted fiber); usually already there.
  void move_to_front(FiberBase* f) noexcept {
    if (f == head_ && next_tail_) return;
    remove(f);
    push_front(f);
  }
  // yield(): everything queued now runs before a fiber pushed back after this.
  void flush_next() noexcept {
    next_tail_ = nullptr;
    batch_ = nullptr;
  }
  // yield()'s whole queue work in one pass: flush_next(), then the head leaves and `self` joins
  // the tail (pop() then push_back(), without re-testing what flush_next() settled). Returns
  // nullptr, `self` untouched and not queued, when nothing else is ready.
  FiberBase* rotate(FiberBase* self) noexcept {
    flush_next();
    streak_ = 0;
    FiberBase* f = head_;
    if (!f) return nullptr;
    FiberBase* n = f->rq_next_;
    self->rq_next_ = nullptr;
    if (n) {  // others stay queued between f and self
      n->rq_prev_ = nullptr;
      head_ = n;
      self->rq_prev_ = tail_;
      tail_->rq_next_ = self;
    } else {  // f was alone: self is now the only queued fiber
      self->rq_prev_ = nullptr;
      head_ = self;
    }
    tail_ = self;
    return f;
  }
  // The next fiber to run (the queue must not be empty); starts a new slice.
  FiberBase* pop() noexcept {
    batch_ = nullptr;
    if (next_tail_) [[unlikely]] {
      if (++streak_ > kMaxRunNext) [[unlikely]] {
        streak_ = 0;
        if (FiberBase* g = next_tail_->rq_next_) {  // the first fifo fiber
          unlink(g);
          return g;
        }
        next_tail_ = next_tail_ == head_ ? nullptr : next_tail_->rq_prev_;  // demote the oldest
      }
      if (head_ == next_tail_) next_tail_ = nullptr;
    } else {
      streak_ = 0;
    }
    FiberBase* f = head_;
    head_ = f->rq_next_;
    (head_ ? head_->rq_prev_ : tail_) = nullptr;
    return f;  // its links are stale until it is pushed again (every push sets both)
  }
  void remove(FiberBase* f) noexcept {
    if (f == batch_) batch_ = f->rq_prev_;
    if (f == next_tail_) next_tail_ = f == head_ ? nullptr : f->rq_prev_;
    unlink(f);
  }

 private:
  void link_after(FiberBase* f, FiberBase* pos) noexcept {  // pos == nullptr: at the head
    FiberBase* n = pos ? pos->rq_next_ : head_;
    f->rq_prev_ = pos;
    f->rq_next_ = n;
    (pos ? pos->rq_next_ : head_) = f;
    (n ? n->rq_prev_ : tail_) = f;
  }
  void unlink(FiberBase* f) noexcept {
    (f->rq_prev_ ? f->rq_prev_->rq_next_ : head_) = f->rq_next_;
    (f->rq_next_ ? f->rq_next_->rq_prev_ : tail_) = f->rq_prev_;
  }

  FiberBase* head_ = nullptr;
  FiberBase* tail_ = nullptr;
  FiberBase* next_tail_ = nullptr;  // the last fiber of the next region; null when it is empty
  FiberBase* batch_ = nullptr;      // the last fiber push_next() linked in this slice
  std::uint32_t streak_ = 0;        // consecutive dispatches from next
};

class Hub {
 public:
  static Hub* current_or_null() noexcept { return tls_hub_; }
  static Hub& current() { return tls_hub_ ? *tls_hub_ : create(); }

  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  ~Hub();

  FiberBase* running() const noexcept { return current_; }
  bool in_hub_fiber() const noexcept { return current_ == &hub_fiber_; }
  StackPool& stacks() noexcept { return stacks_; }
  struct ev_loop* loop() const noexcept { return loop_; }
  const std::shared_ptr<Inbox>& inbox() const noexcept { return inbox_; }
  void* async_storage() noexcept { return async_; }
  // This hub's fd watchers (runtime/io/hub_io.cpp), created by the first fd wait.
  IoHub*& io() noexcept { return io_; }

  // Scheduling (see fiber_base.hpp for the state machine).
  void schedule_new(FiberBase* f) noexcept;
  // parked -> ready: into next_ when a fiber wakes it (it runs when that fiber suspends, in
  // wake-up order), at the back of fifo_ when the loop does (I/O, timers). See ReadyQueue.
  void make_ready(FiberBase* f) noexcept;
  // parked or unstarted -> ready at the very *front*: the hand-off of a finishing fiber to its
  // joiner, and of a joiner to the unstarted fiber it waits for (work-first). ReadyQueue bounds it.
  void make_ready_next(FiberBase* f) noexcept;
  void run_next(FiberBase* f) noexcept;        // an unstarted ready fiber moves to the front
  WakeReason park(const char* reason, Deadline deadline) noexcept;
  // park() for patched calls (runtime/io): does not return at once for a TimeoutError a patched
  // call left owed (a scope fires once; docs/interrupts.md). park() does, for the C++ API.
  WakeReason park_io(const char* reason, Deadline deadline) noexcept;
  void yield();
  // yield() for patched calls: never throws; returns killed / scope_timeout instead of raising
  // (without switching), else woken after the other ready fibers ran once.
  WakeReason yield_nothrow() noexcept;
  void kill(FiberBase* f) noexcept;

  // Called on the fiber's own stack by the context layer: runs it, finishes it and picks the
  // fiber to resume (made current); the context layer then switches away for good.
  FiberBase* run_current() noexcept;
  // Called on the resumed side after a finished fiber switched away: frees its stack.
  void retire(FiberBase* f) noexcept;

  // Watchers started through the hub (for the "ends with no active watchers" check).
  void watcher_started() noexcept { ++active_watchers_; }
  void watcher_stopped() noexcept { --active_watchers_; }
  // fds registered with the loop (waited on or lingering): the hub's epoll set, for metrics.
  void fd_armed() noexcept { ++fds_watched_; }
  void fd_disarmed() noexcept { --fds_watched_; }
  void loop_ref() noexcept;
  void loop_unref() noexcept;

  // fork() child, on the forking fiber's stack (runtime/core/hub_fork.cpp): fresh loop backend,
  // every fiber but the running one finished without running (see greenev/fork.hpp).
  void after_fork_child() noexcept;
  // The forking fiber finished in the child: the process ends with it. Never returns.
  [[noreturn]] void fork_root_finished(FiberBase* f) noexcept;
  bool is_fork_root(const FiberBase* f) const noexcept { return f == fork_root_; }

  HubStats stats() const noexcept;
  void dump(FILE* out) const;       // main and every live fiber
  void dump_live(FILE* out) const;  // the live fibers only (what alive_ counts)
  // Runs fn(key) when the hub is destroyed, while its loop still exists (objects that may
  // outlive the hub, e.g. a static SignalHandler, detach themselves here).
  void at_destroy(void* key, void (*fn)(void*));
  void cancel_at_destroy(void* key) noexcept;
  // The name a fiber was given, or nullptr. Never allocates (used by the SIGSEGV handler).
  const char* name_of(const FiberBase* f) const noexcept;

  // Diagnostics (runtime/diag): counters, loop stamp, and the fibers a dump walks.
  HubDiag& diag() noexcept { return diag_; }
  const HubDiag& diag() const noexcept { return diag_; }
  FiberBase* main_fiber() noexcept { return &main_; }
  FiberBase* live_head() const noexcept { return live_head_; }
  std::uint64_t spawned() const noexcept { return spawned_; }

 private:
  Hub();
  static Hub& create();
  [[noreturn]] void hub_loop() noexcept;
  WakeReason park_impl(const char* reason, Deadline deadline) noexcept;  // park_io's body
  WakeReason park_timed(FiberBase* self, const char* reason, Deadline deadline) noexcept;
  [[noreturn]] static void park_on_hub_abort(const char* reason) noexcept;
  void switch_away(FiberBase* self) noexcept;  // self is parked or ready: run someone else
  void switch_to(FiberBase* self, FiberBase* next) noexcept;  // next is popped; both states set
  // One decrement and branch per switch; the clock is read every kPollEverySwitches switches.
  // A poll is due once kPollInterval passed AND the fibers the last poll woke have had their turn
  // (as many switches as it woke), or once kPollMaxInterval passed whatever the queue holds. A
  // poll in the middle of that round only re-reports (level-triggered) the fds whose fibers are
  // still queued: at 1000 busy connections, 9.9 events per request instead of 1.45 (docs/io.md).
  // Its wake-ups would queue behind the round anyway (FIFO), so nothing runs sooner for it.
  bool poll_due() noexcept {
    if (--poll_budget_ != 0) [[likely]]
      return false;
    poll_budget_ = kPollEverySwitches;
    const Deadline since = now_ns() - last_poll_;
    return since >= kPollInterval && (switches_ - switches_at_poll_ >= woken_at_poll_ || since >= kPollMaxInterval);
  }
  void push_ready(FiberBase* f) noexcept {
    if (current_ != &hub_fiber_) [[likely]] {
      ready_.push_next(f);
    } else {
      ready_.push_back(f);
      ++woken_at_poll_;
    }
  }
  void finish(FiberBase* f) noexcept;          // done: wake joiners, callbacks, FLS
  void link_live(FiberBase* f) noexcept;
  void unlink_live(FiberBase* f) noexcept;
  void drain_inbox() noexcept;
  void kill_live_fibers() noexcept;  // thread exit: kill and unwind what is still alive
  void run_exit_hooks() noexcept;
  static void on_timer(struct ev_loop*, void* w, int) noexcept;
  static void on_async(struct ev_loop*, void* w, int) noexcept;

  // Initial-exec: one %fs-relative load, also from the shared library (no __tls_get_addr call).
  static constinit thread_local Hub* tls_hub_ __attribute__((tls_model("initial-exec")));

  struct MainFiber final : FiberBase {
    void run() override {}
  };
  struct HubFiberImpl final : FiberBase {
    void run() override;
  };

  FiberBase* current_;
  MainFiber main_;
  HubFiberImpl hub_fiber_;
  struct ev_loop* loop_ = nullptr;
  ReadyQueue ready_;
  StackPool stacks_;
  std::shared_ptr<Inbox> inbox_;
  alignas(8) unsigned char async_[64];  // ev_async
  bool async_refd_ = false;
  FiberBase* live_head_ = nullptr;  // every spawned, unfinished fiber (main and hub excluded)
  // Read by other threads (metrics, the monitor): single-writer relaxed atomics, plain adds.
  Relaxed<std::size_t> alive_{0};
  Relaxed<std::size_t> active_watchers_{0};
  Relaxed<std::size_t> fds_watched_{0};
  Relaxed<std::uint64_t> switches_{0};
  Relaxed<std::uint64_t> iterations_{0};
  Relaxed<std::uint64_t> spawned_{0};
  // Only thresholds: a busy hub polls the loop at most every 64 switches, and only if 100 us
  // passed; at the latest every 10 ms (Go's sysmon period) however long the round of ready fibers.
  static constexpr std::uint32_t kPollEverySwitches = 64;
  static constexpr Deadline kPollInterval = 100'000;
  static constexpr Deadline kPollMaxInterval = 10'000'000;
  std::uint32_t poll_budget_ = kPollEverySwitches;  // switches left before the clock is read
  Deadline last_poll_ = 0;
  std::uint64_t switches_at_poll_ = 0;  // switches_ when the last poll returned
  std::uint64_t woken_at_poll_ = 0;     // fibers made ready from the hub fiber since that poll began
  IoHub* io_ = nullptr;
  bool oom_reported_ = false;
  std::vector<std::pair<void*, void (*)(void*)>> exit_hooks_;
  FiberBase* fork_root_ = nullptr;  // fork child: the spawned fiber that called fork(); its end ends the process
  HubDiag diag_;

  void discard_for_fork(FiberBase* f) noexcept;
};

}  // namespace greenev::detail
