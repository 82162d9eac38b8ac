// greenev/detail/fiber_base.hpp — the fiber control block every fiber handle points to.
//
// A control block is heap-allocated at spawn; its stack is taken from the hub's pool only when the
// fiber first runs (a spawned-but-unstarted fiber costs ~200 bytes, and killing it costs nothing).
// Fibers never leave the thread whose hub created them, so the reference count is not atomic.
//
// States (state_) and their legal transitions:
//   ready    in the hub's ready queue; not started yet when ctx_ == nullptr.  -> running, done (kill
//            before start: it never runs)
//   running  the fiber whose stack the thread is on (exactly one per hub).   -> ready (yield),
//            parked (suspend), done (returned or threw)
//   parked   suspended in park(); wait_reason_ says why; may sit on one WaitList and one timer.
//            -> ready (unpark: woken, timed out, killed, loop exit)
//   done     finished; result or error_ set; joiners woken. Terminal.
//
// Rejected: an intrusive "ready" flag with a vector queue (O(n) removal on kill), and putting the
// control block on the fiber's own stack (it would force a stack per unstarted fiber).
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/detail/deadline.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>

namespace greenev::detail {

class Hub;
class WaitList;
class FiberBase;
struct FiberExtras;  // name, link callbacks, fiber-local slots: allocated on first use

enum class FiberState : std::uint8_t { ready, running, parked, done };

// Why park() returned. Every caller handles all of them (patches map them to errno).
enum class WakeReason : std::uint8_t {
  woken,          // unpark()ed by whoever owned the wait
  timed_out,      // the park's own deadline passed
  scope_timeout,  // an enclosing greenev::Timeout expired (raised as TimeoutError by suspend())
  killed,         // kill() was requested (raised as FiberExit by suspend())
  loop_exit,      // nothing can ever wake this fiber: no ready fiber, no active watcher
};

// How a stack was obtained; decides how it is returned and whether a canary guards it.
enum class StackKind : std::uint8_t { none, guarded, slab, main };

struct StackRef {
  void* limit = nullptr;  // lowest usable address
  std::size_t size = 0;   // usable bytes above limit
  StackKind kind = StackKind::none;
};

// A waiter lives on the parked fiber's own stack while it sits on a WaitList.
// Invariant: a linked waiter's fiber is parked; whoever unparks the fiber unlinks the waiter first.
struct Waiter {
  FiberBase* fiber = nullptr;
  WaitList* list = nullptr;  // non-null while linked
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
  void* payload = nullptr;  // hand-off slot for primitives that pass a value directly
};

// FIFO list of parked fibers. Destroying a list that still has waiters is a bug (asserted).
class GREENEV_API WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList() { assert(head_ == nullptr && "greenev: primitive destroyed while fibers wait on it"); }

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }
  Waiter* front() const noexcept { return head_; }

  // Inline: every wait and wake-up of every primitive links or unlinks a waiter.
  void push_back(Waiter& w) noexcept {
    w.list = this;
    w.next = nullptr;
    w.prev = tail_;
    (tail_ ? tail_->next : head_) = &w;
    tail_ = &w;
    ++size_;
  }
  void unlink(Waiter& w) noexcept {
    assert(w.list == this);
    (w.prev ? w.prev->next : head_) = w.next;
    (w.next ? w.next->prev : tail_) = w.prev;
    w.prev = w.next = nullptr;
    w.list = nullptr;
    --size_;
  }

  // Parks the current fiber at the back of the list (never throws: callers choose how to raise).
  WakeReason wait(const char* reason, Deadline deadline, void* payload = nullptr) noexcept;
  // Unparks the first waiter (FIFO); returns its Waiter (still valid until that fiber runs) or null.
  Waiter* notify_one() noexcept;
  std::size_t notify_all() noexcept;

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::uint32_t size_ = 0;

 public:
  // Debug builds (GREENEV_CHECKS): the thread (tid) that first used the owning primitive; 0 until
  // then. Shares size_'s word, so the layout is the same in every build. See confined.hpp.
  std::int32_t owner_tid_ = 0;
};

class GREENEV_API FiberBase {
 public:
  FiberBase() noexcept;
  FiberBase(const FiberBase&) = delete;
  FiberBase& operator=(const FiberBase&) = delete;
  virtual ~FiberBase();

  // Control blocks come from a per-thread free list (runtime/core/fiber_alloc.cpp): spawn is hot.
  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    assert(refs_ > 0 && "greenev: fiber reference count underflow");
    if (--refs_ == 0) delete this;
  }

  FiberState state() const noexcept { return state_; }
  bool done() const noexcept { return state_ == FiberState::done; }
  bool killed() const noexcept { return killed_; }
  std::uint64_t id() const noexcept { return id_; }
  const char* wait_reason() const noexcept { return wait_reason_; }
  Hub* hub() const noexcept { return hub_; }

  // Runs the user's callable; called once, on the fiber's own stack.
  virtual void run() = 0;

  // --- everything below is the runtime's; public only so runtime/ files reach it ---
  // Hot first: what a switch reads or writes of the fiber it resumes (links, context, state)
  // lies in its first 48 bytes, and control blocks are 64-byte aligned (fiber_alloc.cpp), so a
  // switch touches one cache line of it. stack_.kind (line two) is read only once slab stacks
  // exist (stack.hpp). Before: the state and the Timeout check sat on the second and third lines.
  FiberBase* rq_prev_ = nullptr;  // ready-queue links
  FiberBase* rq_next_ = nullptr;
  void* ctx_ = nullptr;           // saved stack pointer (context.hpp); nullptr until first run
  class TimeoutScope* scopes_ = nullptr;  // innermost greenev::Timeout of this fiber
  FiberState state_ = FiberState::ready;
  WakeReason wake_ = WakeReason::woken;
  bool kill_pending_ = false;      // kill() asked; delivered at the next suspension point
  bool capture_stack_ = false;     // resumed only to record its stack for a dump (runtime/diag)
  bool killed_ = false;            // finished by a kill
  bool error_observed_ = false;    // someone retrieved error_ (else it is reported at destruction)
  bool in_timer_ = false;          // timer_ is started
  bool stuck_reported_ = false;    // parked when main got LoopExit (no second report at exit)
  StackRef stack_{};
  // --- colder ---
  Hub* hub_ = nullptr;
  std::size_t stack_request_ = 0;  // 0: the default size
  std::uint32_t refs_ = 1;         // the handle's; the hub adds one while the fiber is alive
  const char* wait_reason_ = nullptr;
  std::uint64_t id_ = 0;
  Waiter* waiting_on_ = nullptr;   // the waiter linked while parked, if any
  Deadline park_deadline_ = kForever;  // while in_timer_: the park's own deadline
  Deadline park_due_ = kForever;       // while in_timer_: what the timer was armed for
  std::exception_ptr error_;
  WaitList joiners_;               // fibers blocked in join()/wait()
  FiberBase* all_prev_ = nullptr;  // the hub's list of live fibers (dumps, exit report)
  FiberBase* all_next_ = nullptr;
  void* san_ = nullptr;            // sanitizer fiber handle (TSan)
  void* spawn_site_ = nullptr;     // return address of the spawn() call (fiber dumps)
  Deadline parked_at_ = 0;         // when it parked (to the last loop poll when no deadline)
  std::unique_ptr<FiberExtras> extras_;
  alignas(8) unsigned char timer_[64];  // the park deadline's ev_timer (hub.cpp checks the size)
};

// --- the parking primitive (runtime/core/hub.cpp) ---

// The fiber running on this thread; creates the thread's hub (and its main fiber) on first use,
// which throws std::system_error when it cannot (EMFILE).
GREENEV_API FiberBase* current_fiber();

// Parks the current fiber until unpark(), the deadline, an enclosing Timeout, or a kill.
// Never throws; a pending kill or an expired Timeout scope returns at once without parking.
GREENEV_API WakeReason park(const char* reason, Deadline deadline) noexcept;

// As park(), but raises: FiberExit (killed), TimeoutError (scope), LoopExit. Returns false when
// its own deadline passed, true when woken.
GREENEV_API bool suspend(const char* reason, Deadline deadline);

// Throws what a non-woken reason means (see suspend); returns for woken/timed_out.
GREENEV_API void raise_for(WakeReason r);

// Makes a parked fiber ready (no-op for any other state). Same thread only.
GREENEV_API void unpark(FiberBase* f, WakeReason why = WakeReason::woken) noexcept;

// Requests a kill: an unstarted fiber finishes at once without running, a parked one is woken
// with WakeReason::killed, a ready/running one gets FiberExit at its next suspension point.
GREENEV_API void request_kill(FiberBase* f) noexcept;

// Waits until f is done (true) or the deadline passes (false). Raises as suspend() does.
GREENEV_API bool wait_done(FiberBase* f, Deadline deadline);

// Schedules a freshly built control block on the current thread's hub; takes a hub reference.
// On failure (the hub cannot be created, a requested stack cannot be mapped) it drops the
// caller's reference to f and throws.
GREENEV_API void schedule_new(FiberBase* f);

// Throws the fiber's outcome: its exception, or FiberKilled. Marks the error observed.
[[noreturn]] GREENEV_API void rethrow_outcome(FiberBase* f);

// Keeps the current hub's loop from reporting "would block forever" while a wake-up can still come
// from another thread (thread-pool results, cross-thread events).
class GREENEV_API LoopRef {
 public:
  LoopRef() noexcept;
  ~LoopRef();
  LoopRef(const LoopRef&) = delete;
  LoopRef& operator=(const LoopRef&) = delete;

 private:
  Hub* hub_;
};

}  // namespace greenev::detail
