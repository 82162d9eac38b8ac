// runtime/core/hub.cpp — hub creation, the parking primitive, the ready queue and the loop.
//
// Invariants: exactly one fiber per hub is `running` (current_); a fiber is in ready_ iff its
// state is `ready`; a parked fiber's timer is active iff in_timer_; the hub fiber never parks.
#include "core/hub.hpp"

#include "core/context.hpp"
#include "core/scope.hpp"
#include "process/fork.hpp"

#include <greenev/errors.hpp>
#include <greenev/fiber.hpp>
#include <greenev/fork.hpp>
#include <greenev/this_fiber.hpp>

#include <ev.h>

#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <exception>
#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

namespace greenev::detail {

static_assert(sizeof(ev_timer) <= sizeof(FiberBase::timer_), "ev_timer must fit the control block");
static_assert(sizeof(ev_async) <= 64, "ev_async must fit the hub's storage");

constinit thread_local Hub* Hub::tls_hub_ __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

// Fiber ids: unique process-wide, increasing per thread. Each thread takes blocks of 1024 so a
// spawn costs no atomic read-modify-write (it was a measurable part of spawn+join).
std::atomic<std::uint64_t> g_next_id{1};
constexpr std::uint64_t kIdBlock = 1024;
constinit thread_local std::uint64_t t_id_next __attribute__((tls_model("initial-exec"))) = 0;
constinit thread_local std::uint64_t t_id_end __attribute__((tls_model("initial-exec"))) = 0;

inline std::uint64_t next_fiber_id() noexcept {
  if (t_id_next == t_id_end) [[unlikely]] {
    t_id_next = g_next_id.fetch_add(kIdBlock, std::memory_order_relaxed);
    t_id_end = t_id_next + kIdBlock;
  }
  return t_id_next++;
}
thread_local std::unique_ptr<Hub> tls_hub_owner;


ev_timer* timer_of(FiberBase* f) noexcept { return reinterpret_cast<ev_timer*>(f->timer_); }

std::once_flag syserr_once;
std::terminate_handler g_prev_terminate = nullptr;

// std::terminate inside a fiber (an exception out of a destructor during unwinding, out of a
// noexcept function...) names the fiber before the usual report and abort.
[[noreturn]] void on_terminate() noexcept {
  if (Hub* h = Hub::current_or_null()) {
    const FiberBase* f = h->running();
    const char* name = h->in_hub_fiber() ? "hub" : h->name_of(f);
    char idbuf[32];
    std::snprintf(idbuf, sizeof idbuf, "fiber-%llu", static_cast<unsigned long long>(f->id_));
    std::fprintf(stderr, "greenev: std::terminate called in fiber '%s' (id %llu)", name ? name : idbuf,
                 static_cast<unsigned long long>(f->id_));
    if (f->wait_reason_) std::fprintf(stderr, " while in %s", f->wait_reason_);
    if (std::exception_ptr ep = std::current_exception()) {
      try {
        std::rethrow_exception(ep);
      } catch (const FiberExit&) {
        std::fprintf(stderr, ": FiberExit (a kill) escaped");
      } catch (const std::exception& e) {
        std::fprintf(stderr, ": %s", e.what());
      } catch (...) {
      }
    }
    std::fprintf(stderr, "\n");
  }
  if (g_prev_terminate && g_prev_terminate != &on_terminate) g_prev_terminate();
  std::abort();
}

void on_libev_syserr(const char* msg) noexcept {
  // Never returns: libev retries the failed call in a loop when this callback returns.
  const int err = errno;
  std::fprintf(stderr, "greenev: the event loop failed: %s: %s\n", msg, std::strerror(err));
  std::abort();
}

// fork(): the forking thread takes its own hub's inbox mutex and the slab mutexes, so no other
// thread holds one at the instant of the fork (the child would inherit it locked forever: its
// first post, drain or slab stack would deadlock). Other hubs are dead in the child anyway.
Inbox* g_fork_inbox = nullptr;  // set by prepare, on the forking thread only

void before_fork() noexcept {
  stack_fork_prepare();
  if (Hub* h = Hub::current_or_null()) {
    g_fork_inbox = h->inbox().get();
    g_fork_inbox->mu.lock();
  }
}

void after_fork_parent() noexcept {
  if (g_fork_inbox) std::exchange(g_fork_inbox, nullptr)->mu.unlock();
  stack_fork_parent();
}

void hub_after_fork_child() noexcept {
  if (g_fork_inbox) std::exchange(g_fork_inbox, nullptr)->mu.unlock();
  stack_fork_child();
  if (Hub* h = Hub::current_or_null()) h->after_fork_child();
}

}  // namespace

void Hub::HubFiberImpl::run() { hub_->hub_loop(); }

namespace {
std::atomic<HubCreatedHook> g_created_hooks[4];
}

void add_hub_created_hook(HubCreatedHook h) noexcept {
  for (auto& slot : g_created_hooks) {
    HubCreatedHook expected = nullptr;
    if (slot.compare_exchange_strong(expected, h)) return;
  }
  std::fprintf(stderr, "greenev: too many hub-created hooks\n");
  std::abort();
}

Hub& Hub::create() {
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] {
    add_fork_hooks_raw(fork_order::hub, &before_fork, &after_fork_parent, &hub_after_fork_child);
    g_prev_terminate = std::set_terminate(&on_terminate);
  });
  fiber_alloc_thread_init();  // its thread_local must outlive the hub (killed fibers free blocks)
  tls_hub_owner.reset(new Hub());
  tls_hub_ = tls_hub_owner.get();
  diag_hub_created(tls_hub_);
  for (auto& slot : g_created_hooks)
    if (HubCreatedHook h = slot.load(std::memory_order_acquire)) h(*tls_hub_);
  return *tls_hub_;
}

Hub::Hub() : current_(&main_) {
  main_.hub_ = this;
  main_.state_ = FiberState::running;
  main_.stack_.kind = StackKind::main;
  main_.id_ = 0;
  hub_fiber_.hub_ = this;
  hub_fiber_.id_ = ~std::uint64_t{0};

  // The loop needs an epoll fd and the inbox an eventfd. libev aborts (or spins) when it cannot
  // create them, so check first that two fds are available and fail like any OS call would.
  // (A thread racing us for the last fds can still lose; libev's syserr callback then names it.)
  std::call_once(syserr_once, [] { ev_set_syserr_cb(&on_libev_syserr); });
  {
    const int a = eventfd(0, EFD_CLOEXEC);
    const int b = a >= 0 ? eventfd(0, EFD_CLOEXEC) : -1;
    const int err = errno;
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
    if (b < 0) throw std::system_error(err, std::generic_category(), "greenev: cannot create this thread's hub");
  }
  // Never libev's default loop: it installs a SIGCHLD handler that reaps *every* child, which
  // would steal exit statuses from the application's own waitpid()/system().
  loop_ = ev_loop_new(EVFLAG_AUTO);
  if (!loop_) throw std::system_error(errno ? errno : ENOMEM, std::generic_category(), "greenev: cannot create the event loop");
  ev_set_userdata(loop_, this);

  inbox_ = std::make_shared<Inbox>();
  inbox_->hub = this;
  auto* a = reinterpret_cast<ev_async*>(async_);
  ev_async_init(a, reinterpret_cast<void (*)(struct ev_loop*, ev_async*, int)>(&Hub::on_async));
  ev_async_start(loop_, a);
  ev_unref(loop_);  // the inbox alone does not keep the loop alive (see keepalive)

  stack_install_overflow_handler();
  last_poll_ = now_ns();
}

// Fibers still alive when the hub goes (main returned, the thread exits) are killed and unwound
// from the main fiber, as kill() would: their destructors run, their fds and stacks are freed.
// The report lists exactly the fibers it counts (never main); fibers already reported stuck by a
// LoopExit thrown into main are killed without a second report. A fiber that survives its kill
// (it swallowed FiberExit and waits forever) is abandoned, and said so.
void Hub::kill_live_fibers() noexcept {
  std::size_t unreported = 0;
  for (FiberBase* f = live_head_; f; f = f->all_next_) unreported += !f->stuck_reported_;
  if (unreported > 0) {
    std::fprintf(stderr, "greenev: hub exiting with %zu live fiber(s); killing them:\n", alive_.get());
    dump_live(stderr);
  }
  for (int round = 0; round < 4 && alive_ > 0; ++round) {
    std::vector<FiberBase*> snap;
    try {
      for (FiberBase* f = live_head_; f; f = f->all_next_) snap.push_back(f);
    } catch (...) {
      return;
    }
    for (FiberBase* f : snap) f->add_ref();
    bool stuck = false;
    for (FiberBase* f : snap) {
      if (stuck) break;
      try {
        kill_and_wait(f);
      } catch (...) {  // LoopExit: it swallowed the kill and waits on what nobody can set
        stuck = true;
      }
    }
    for (FiberBase* f : snap) f->release();
    if (stuck) break;
  }
  main_.kill_pending_ = false;
  if (alive_ > 0) {
    std::fprintf(stderr, "greenev: %zu fiber(s) did not exit when killed; abandoned:\n", alive_.get());
    dump_live(stderr);
  }
}

void Hub::at_destroy(void* key, void (*fn)(void*)) { exit_hooks_.emplace_back(key, fn); }

void Hub::cancel_at_destroy(void* key) noexcept {
  std::erase_if(exit_hooks_, [key](const auto& h) { return h.first == key; });
}

void Hub::run_exit_hooks() noexcept {
  while (!exit_hooks_.empty()) {
    auto [key, fn] = exit_hooks_.back();
    exit_hooks_.pop_back();
    if (fn) fn(key);
  }
}

Hub::~Hub() {
  diag_hub_destroyed(this);  // no monitor report or dump reaches a hub being torn down
  if (current_ == &main_ && alive_ > 0) kill_live_fibers();
  run_exit_hooks();  // e.g. SignalHandlers outliving the hub (statics) stop their watchers now
  // Posted but never started: dropped here, on the hub's thread and outside the lock (a submit's
  // result then holds HubStopped), not whenever the last HubHandle happens to go.
  std::vector<PostItem> unrun;
  {
    std::lock_guard lk(inbox_->mu);
    inbox_->hub = nullptr;
    unrun.swap(inbox_->items);
  }
  unrun.clear();
  // Exiting from inside a fiber (exit() called there): the CPU is on a pooled stack, and live
  // fibers may hold watchers. Leave it all to the process's end.
  if (current_ != &main_ || alive_ > 0) {
    if (current_ != &main_ && alive_ > 0) {
      std::fprintf(stderr, "greenev: exit() called inside fiber %llu with %zu live fiber(s); abandoned:\n",
                   static_cast<unsigned long long>(current_->id_), alive_.get());
      dump_live(stderr);
    }
    // Fibers that never finished stay allocated (their stacks may hold anything); keep them
    // reachable so leak checkers report real leaks only.
    static std::vector<void*>* abandoned = new std::vector<void*>;
    for (FiberBase* f = live_head_; f; f = f->all_next_) abandoned->push_back(f);
    abandoned->push_back(loop_);  // their watchers still point into it
    if (io_) abandoned->push_back(io_);
    tls_hub_ = nullptr;
    return;
  }
  if (main_.extras_) fls_destroy_all(*main_.extras_);
  io_intr_hub_destroy(this);
  if (io_) io_hub_destroy(this);  // stops the fd watchers before the loop goes
  ev_ref(loop_);
  ev_async_stop(loop_, reinterpret_cast<ev_async*>(async_));
  if (hub_fiber_.stack_.kind != StackKind::none) stacks_.release(hub_fiber_.stack_);
  context_destroy(&hub_fiber_);
  ev_loop_destroy(loop_);
  stack_remove_overflow_handler();  // the thread's 64 KiB alternate signal stack
  tls_hub_ = nullptr;
}

// --- scheduling ---

void Hub::link_live(FiberBase* f) noexcept {
  f->all_prev_ = nullptr;
  f->all_next_ = live_head_;
  if (live_head_) live_head_->all_prev_ = f;
  live_head_ = f;
  ++alive_;
}

void Hub::unlink_live(FiberBase* f) noexcept {
  (f->all_prev_ ? f->all_prev_->all_next_ : live_head_) = f->all_next_;
  if (f->all_next_) f->all_next_->all_prev_ = f->all_prev_;
  f->all_prev_ = f->all_next_ = nullptr;
  --alive_;
}

__attribute__((always_inline)) inline void Hub::schedule_new(FiberBase* f) noexcept {
  f->hub_ = this;
  f->id_ = next_fiber_id();
  f->add_ref();  // the hub's, dropped in retire()
  f->state_ = FiberState::ready;
  ++spawned_;
  link_live(f);
  push_ready(f);
}

void Hub::make_ready(FiberBase* f) noexcept {
  f->state_ = FiberState::ready;
  push_ready(f);
}

void Hub::make_ready_next(FiberBase* f) noexcept {
  f->state_ = FiberState::ready;
  ready_.push_front(f);
}

void Hub::run_next(FiberBase* f) noexcept {
  assert(f->state_ == FiberState::ready);
  ready_.move_to_front(f);
}

// Inlined into each caller (park, yield, yield_nothrow): one frame per switch, no call.
__attribute__((always_inline)) inline void Hub::switch_to(FiberBase* self, FiberBase* next) noexcept {
  current_ = next;
  ++switches_;
  context_switch(*this, self, next);
}

__attribute__((always_inline)) inline void Hub::switch_away(FiberBase* self) noexcept {
  FiberBase* next;
  if (!ready_.empty() && !poll_due()) {
    next = ready_.pop();
    if (next == self) {
      self->state_ = FiberState::running;
      return;
    }
    next->state_ = FiberState::running;
  } else {
    next = &hub_fiber_;
  }
  switch_to(self, next);
}

WakeReason Hub::park(const char* reason, Deadline deadline) noexcept {
  if (current_->scopes_ && !current_->kill_pending_ && scope_pending(current_)) return WakeReason::scope_timeout;
  return park_impl(reason, deadline);
}

WakeReason Hub::park_io(const char* reason, Deadline deadline) noexcept { return park_impl(reason, deadline); }

// Inlined into park() and park_io(): a park is one frame around the switch, not two.
__attribute__((always_inline)) inline WakeReason Hub::park_impl(const char* reason, Deadline deadline) noexcept {
  FiberBase* self = current_;
  if (self == &hub_fiber_) [[unlikely]]
    park_on_hub_abort(reason);
  if (self->kill_pending_) [[unlikely]]
    return WakeReason::killed;
  if (deadline != kForever || self->scopes_) return park_timed(self, reason, deadline);
  // Untimed and no Timeout scope: no timer, so the wake reason is whatever the waker set.
  self->parked_at_ = last_poll_;  // to the last loop poll: a clock read per park costs too much
  self->state_ = FiberState::parked;
  self->wait_reason_ = reason;
  switch_away(self);
  self->wait_reason_ = nullptr;
  return self->wake_;
}

void Hub::park_on_hub_abort(const char* reason) noexcept {
  std::fprintf(stderr, "greenev: blocking call (%s) made on the hub itself, from a loop callback\n", reason);
  std::abort();
}

// park() with a deadline or inside a Timeout scope: a timer for whichever is due first.
__attribute__((noinline)) WakeReason Hub::park_timed(FiberBase* self, const char* reason, Deadline deadline) noexcept {
  Deadline due = deadline;
  Deadline sd = kForever;
  if (self->scopes_) {
    sd = scope_deadline(self);
    if (sd < due) due = sd;
  }
  if (due != kForever) {
    ev_now_update(loop_);  // the loop's cached time may be stale after a long run of fibers
    const Deadline now = now_ns();
    if (due <= now) return sd <= deadline ? WakeReason::scope_timeout : WakeReason::timed_out;
    self->parked_at_ = now;
    ev_timer* t = timer_of(self);
    ev_timer_init(t, reinterpret_cast<void (*)(struct ev_loop*, ev_timer*, int)>(&Hub::on_timer),
                  static_cast<double>(due - now) * 1e-9, 0.);
    t->data = self;
    ev_timer_start(loop_, t);
    self->in_timer_ = true;
    self->park_deadline_ = deadline;
    self->park_due_ = due;
    ++active_watchers_;
  } else {
    self->parked_at_ = last_poll_;  // to the last loop poll: a clock read per park costs too much
  }
  self->state_ = FiberState::parked;
  self->wait_reason_ = reason;
  switch_away(self);
  self->wait_reason_ = nullptr;
  if (self->in_timer_) {
    ev_timer_stop(loop_, timer_of(self));
    self->in_timer_ = false;
    --active_watchers_;
  }
  WakeReason r = self->wake_;
  if (r == WakeReason::timed_out) diag_.timer_lag.record(now_ns() - due);  // loop lag
  // Which deadline fired: a scope's when it is (still) due no later than our own (ties: the scope).
  if (r == WakeReason::timed_out && self->scopes_ && scope_deadline(self) <= deadline)
    r = WakeReason::scope_timeout;
  return r;
}

void Hub::on_timer(struct ev_loop* loop, void* w, int) noexcept {
  auto* t = static_cast<ev_timer*>(w);
  auto* f = static_cast<FiberBase*>(t->data);
  if (f->scopes_) {
    // A Timeout cancelled (by any fiber of the hub) after this timer was armed: the wait's real
    // deadline moved later. Re-arm for it (or not at all) instead of waking the fiber.
    const Deadline sd = scope_deadline(f);
    const Deadline due = sd < f->park_deadline_ ? sd : f->park_deadline_;
    if (due > f->park_due_) {
      f->park_due_ = due;
      if (due != kForever) {
        const Deadline left = due - now_ns();
        ev_timer_set(t, left > 0 ? static_cast<double>(left) * 1e-9 : 0., 0.);
        ev_timer_start(loop, t);
      }
      return;  // in_timer_ stays set: park() stops the timer (a no-op when it is not active)
    }
  }
  unpark(f, WakeReason::timed_out);
}

void Hub::yield() {
  FiberBase* self = current_;
  if (self->scopes_ || self->kill_pending_) [[unlikely]] {  // the rules only matter with either set
    if (self->scopes_ && scope_pending(self)) raise_scope_timeout(self);
    raise_for(yield_nothrow());
    return;
  }
  if (poll_due()) [[unlikely]] {  // through the hub fiber, which polls and runs the queue
    self->state_ = FiberState::ready;
    ready_.flush_next();
    ready_.push_back(self);
    switch_to(self, &hub_fiber_);
    return;
  }
  FiberBase* next = ready_.rotate(self);
  if (!next) return;  // nothing else ready: keep running
  self->state_ = FiberState::ready;
  next->state_ = FiberState::running;
  switch_to(self, next);
}

WakeReason Hub::yield_nothrow() noexcept {
  FiberBase* self = current_;
  if (self->kill_pending_) return WakeReason::killed;
  if (self->scopes_ && scope_deadline(self) <= now_ns()) return WakeReason::scope_timeout;
  self->state_ = FiberState::ready;
  ready_.flush_next();
  ready_.push_back(self);
  switch_away(self);
  return WakeReason::woken;
}

void Hub::kill(FiberBase* f) noexcept {
  if (f->state_ == FiberState::done) return;
  f->kill_pending_ = true;
  if (f->state_ == FiberState::ready && f->ctx_ == nullptr) {
    // Never started: it never runs.
    ready_.remove(f);
    f->killed_ = true;
    finish(f);
    retire(f);
  } else if (f->state_ == FiberState::parked) {
    unpark(f, WakeReason::killed);
  }
}

void Hub::finish(FiberBase* f) noexcept {
  if (f->extras_) fls_destroy_all(*f->extras_);
  f->state_ = FiberState::done;
  f->wait_reason_ = nullptr;
  // The first joiner runs next (the finishing fiber hands it the CPU); the others queue.
  if (Waiter* w = f->joiners_.front()) {
    f->joiners_.unlink(*w);
    FiberBase* j = w->fiber;
    if (j->state_ == FiberState::parked) {
      j->waiting_on_ = nullptr;
      j->wake_ = WakeReason::woken;
      make_ready_next(j);
    }
  }
  if (!f->joiners_.empty()) f->joiners_.notify_all();
  if (f->extras_) {
    for (auto& cb : f->extras_->on_done) {
      try {
        cb(f->id_);
      } catch (...) {
        std::fprintf(stderr, "greenev: on_done callback of fiber %llu threw; ignored\n",
                     static_cast<unsigned long long>(f->id_));
      }
    }
    f->extras_->on_done.clear();
  }
  unlink_live(f);
}

FiberBase* Hub::run_current() noexcept {
  FiberBase* f = current_;
  try {
    f->run();
  } catch (const FiberExit&) {
    f->killed_ = true;
  } catch (abi::__forced_unwind&) {
    std::fprintf(stderr, "greenev: pthread_exit()/cancellation inside fiber %llu is not supported\n",
                 static_cast<unsigned long long>(f->id_));
    std::abort();
  } catch (...) {
    f->error_ = std::current_exception();
  }
  finish(f);
  if (__builtin_expect(f == fork_root_, 0)) fork_root_finished(f);
  FiberBase* next = (!ready_.empty() && !poll_due()) ? ready_.pop() : &hub_fiber_;
  next->state_ = FiberState::running;
  current_ = next;
  ++switches_;
  return next;
}

void Hub::retire(FiberBase* f) noexcept {
  if (f->stack_.kind == StackKind::guarded || f->stack_.kind == StackKind::slab) {
    stacks_.release(f->stack_);
    f->stack_ = {};
  }
  context_destroy(f);
  f->release();  // the hub's reference
}

void Hub::hub_loop() noexcept {
  for (;;) {
    const bool want_ref = inbox_->keepalive.load(std::memory_order_acquire) > 0;
    if (want_ref != async_refd_) {
      want_ref ? ev_ref(loop_) : ev_unref(loop_);
      async_refd_ = want_ref;
    }
    const bool idle = ready_.empty();
    const Deadline entered = now_ns();
    diag_.enter_loop(entered);
    woken_at_poll_ = 0;
    const int active = ev_run(loop_, idle ? EVRUN_ONCE : EVRUN_NOWAIT);
    ++iterations_;
    last_poll_ = now_ns();
    diag_.leave_loop(entered, last_poll_);
    poll_budget_ = kPollEverySwitches;
    switches_at_poll_ = switches_;
    if (ready_.empty()) {
      // Nothing ready and nothing that could make anything ready: whoever waits, waits forever.
      if (idle && active == 0 && main_.state_ == FiberState::parked) {
        // Main hears "would block forever"; the fibers parked now are thereby reported stuck.
        for (FiberBase* f = live_head_; f; f = f->all_next_) f->stuck_reported_ = f->state_ == FiberState::parked;
        unpark(&main_, WakeReason::loop_exit);
      }
      if (ready_.empty()) continue;
    }
    FiberBase* next = ready_.pop();
    next->state_ = FiberState::running;
    current_ = next;
    ++switches_;
    context_switch(*this, &hub_fiber_, next);
  }
}

// --- cross-thread inbox ---

void Hub::on_async(struct ev_loop* loop, void*, int) noexcept {
  static_cast<Hub*>(ev_userdata(loop))->drain_inbox();
}

void Hub::drain_inbox() noexcept {
  std::vector<PostItem> items;
  {
    std::lock_guard lk(inbox_->mu);
    items.swap(inbox_->items);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    FiberBase* t;
    try {
      t = make_task(std::move(items[i].fn));
    } catch (const std::bad_alloc&) {
      // Out of memory for the control block: keep this item and the rest, in order, and try
      // again on a later loop iteration (a lost wake-up would hang whoever waits for it).
      std::lock_guard lk(inbox_->mu);
      inbox_->items.insert(inbox_->items.begin(), std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(i)),
                           std::make_move_iterator(items.end()));
      ev_async_send(loop_, reinterpret_cast<ev_async*>(async_));
      if (!oom_reported_) {
        oom_reported_ = true;
        std::fprintf(stderr, "greenev: out of memory starting a posted function; retrying\n");
      }
      return;
    }
    t->stack_request_ = items[i].stack_size;
    if (!items[i].name.empty()) {
      try {
        set_fiber_name(t, std::move(items[i].name));
      } catch (...) {  // out of memory for a name: it runs unnamed (fn is already in t)
      }
    }
    schedule_new(t);
    t->release();  // no handle: the hub's reference keeps it until it finishes
  }
}

void Hub::loop_ref() noexcept { ev_ref(loop_); }
void Hub::loop_unref() noexcept { ev_unref(loop_); }

HubStats Hub::stats() const noexcept {
  HubStats s;
  s.switches = switches_;
  s.loop_iterations = iterations_;
  s.fibers_alive = alive_;
  s.active_watchers = active_watchers_;
  s.fds_watched = fds_watched_;
  return s;
}

const char* Hub::name_of(const FiberBase* f) const noexcept {
  if (f == &main_) return "main";
  if (f->extras_ && !f->extras_->name.empty()) return f->extras_->name.c_str();
  return nullptr;
}

static void dump_line(const Hub& h, FILE* out, const FiberBase* f) {
  static const char* const kStates[] = {"ready", "running", "parked", "done"};
  const char* name = h.name_of(f);
  std::fprintf(out, "  fiber %llu '%s%s' %s%s%s\n", static_cast<unsigned long long>(f->id_),
               name ? name : "fiber-", name ? "" : std::to_string(f->id_).c_str(),
               kStates[static_cast<int>(f->state_)], f->wait_reason_ ? " in " : "",
               f->wait_reason_ ? f->wait_reason_ : (f->state_ == FiberState::ready && !f->ctx_ ? " (not started)" : ""));
}

void Hub::dump_live(FILE* out) const {
  for (const FiberBase* f = live_head_; f; f = f->all_next_) dump_line(*this, out, f);
}

void Hub::dump(FILE* out) const {
  dump_line(*this, out, &main_);
  dump_live(out);
}

// --- the detail:: entry points (fiber_base.hpp) ---

FiberBase* current_fiber() { return Hub::current().running(); }

// The C++ API's park: Hub::park returns at once for a TimeoutError a patched call left owed (the
// patches use Hub::park_io, which does not: a scope fires once, later patched calls are not bounded).
WakeReason park(const char* reason, Deadline deadline) noexcept {
  return Hub::current().park(reason, deadline);
}

void unpark(FiberBase* f, WakeReason why) noexcept {
  if (f->state_ != FiberState::parked) return;
  if (Waiter* w = f->waiting_on_) {
    if (w->list) w->list->unlink(*w);
    f->waiting_on_ = nullptr;
  }
  f->wake_ = why;
  f->hub_->make_ready(f);
}

void request_kill(FiberBase* f) noexcept {
  assert(f->hub_ == Hub::current_or_null() && "greenev: kill() from another thread; use HubHandle::post");
  f->hub_->kill(f);
}

void schedule_new(FiberBase* f) {
  f->spawn_site_ = __builtin_return_address(0);  // the spawn() call site, for fiber dumps
  Hub* h;
  try {
    h = &Hub::current();  // std::system_error when the hub cannot be created (EMFILE)
    // A size the caller chose is mapped now, so a failure is spawn's exception, not an abort
    // at the first switch (the default size keeps the lazy, warm-pool path).
    if (f->stack_request_ != 0) f->stack_ = h->stacks().acquire(f->stack_request_);
  } catch (...) {
    f->release();
    throw;
  }
  h->schedule_new(f);
}

void yield_now() { Hub::current().yield(); }

LoopRef::LoopRef() noexcept : hub_(&Hub::current()) { hub_->loop_ref(); }
LoopRef::~LoopRef() { hub_->loop_unref(); }

}  // namespace greenev::detail
