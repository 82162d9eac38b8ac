// runtime/core/fiber.cpp — the control block, wait lists, join/kill, and the throwing side of park.
//
// park() never throws (patched libc calls need that); suspend() is park() plus the C++ rules:
// a kill becomes FiberExit (raised once), an expired Timeout scope becomes TimeoutError, and a
// wait that can never end becomes LoopExit.
#include "core/hub.hpp"
#include "core/scope.hpp"

#include <greenev/fiber.hpp>
#include <greenev/this_fiber.hpp>

#include <cstdio>
#include <stdexcept>
#include <utility>
#include <string>

namespace greenev::detail {

FiberBase::FiberBase() noexcept = default;

FiberBase::~FiberBase() {
  if (error_ && !error_observed_) {
    const char* what = "unknown exception";
    std::string msg;
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      msg = e.what();
      what = msg.c_str();
    } catch (...) {
    }
    const char* name = extras_ && !extras_->name.empty() ? extras_->name.c_str() : nullptr;
    std::fprintf(stderr, "greenev: fiber '%s%s' (id %llu) died with an unhandled exception: %s\n",
                 name ? name : "fiber-", name ? "" : std::to_string(id_).c_str(),
                 static_cast<unsigned long long>(id_), what);
  }
}

// --- WaitList ---

namespace {
// WaitList::wait's body, inlined into wait_done() too: a join is one frame around the park.
__attribute__((always_inline)) inline WakeReason wait_on(WaitList& list, Hub& hub, FiberBase* self, const char* reason,
                                                         Deadline deadline, void* payload) noexcept {
  Waiter w;
  w.fiber = self;
  w.payload = payload;
  list.push_back(w);
  self->waiting_on_ = &w;
  WakeReason r = hub.park(reason, deadline);
  if (w.list) [[unlikely]]
    list.unlink(w);  // park returned without parking (pending kill, expired deadline)
  self->waiting_on_ = nullptr;
  return r;
}
}  // namespace

WakeReason WaitList::wait(const char* reason, Deadline deadline, void* payload) noexcept {
  Hub& hub = Hub::current();  // (not current_fiber() + park(): each would look the hub up again)
  return wait_on(*this, hub, hub.running(), reason, deadline, payload);
}

Waiter* WaitList::notify_one() noexcept {
  Waiter* w = head_;
  if (!w) return nullptr;
  unlink(*w);
  unpark(w->fiber, WakeReason::woken);
  return w;
}

std::size_t WaitList::notify_all() noexcept {
  std::size_t n = 0;
  while (notify_one()) ++n;
  return n;
}

// --- raising ---

void raise_for(WakeReason r) {
  switch (r) {
    case WakeReason::woken:
    case WakeReason::timed_out:
      return;
    case WakeReason::killed: {
      FiberBase* self = current_fiber();
      self->kill_pending_ = false;  // delivered once; a fiber that swallows it keeps running
      if (self->extras_ && self->extras_->kill_with)  // kill(exception): the user's type
        std::rethrow_exception(std::exchange(self->extras_->kill_with, nullptr));
      throw FiberExit{};
    }
    case WakeReason::scope_timeout:
      raise_scope_timeout(current_fiber());
    case WakeReason::loop_exit:
      throw LoopExit();
  }
}

bool suspend(const char* reason, Deadline deadline) {
  WakeReason r = park(reason, deadline);
  raise_for(r);
  return r == WakeReason::woken;
}

bool wait_done(FiberBase* f, Deadline deadline) {
  if (f->done()) return true;
  Hub& hub = Hub::current();
  FiberBase* self = hub.running();
  if (self == f) throw std::logic_error("greenev: a fiber cannot join itself");
  if (f->state_ == FiberState::ready && f->ctx_ == nullptr && f->hub_ == &hub) hub.run_next(f);
  const WakeReason r = wait_on(f->joiners_, hub, self, "join", deadline, nullptr);
  if (r != WakeReason::woken) [[unlikely]]
    raise_for(r);
  return f->done();
}

// A kill that has waited kKillWarnAfter says so once, naming both fibers: a victim that catches
// FiberExit (catch (...) in a loop) would otherwise hang its killer (Fiber::kill, HubThread::stop,
// thread exit) without a word. The wait goes on: cutting it short would skip the victim's RAII.
constexpr Deadline kKillWarnAfter = 5'000'000'000;

static void report_slow_kill(FiberBase* victim, FiberBase* killer) {
  std::fprintf(stderr,
               "greenev: fiber '%s' (id %llu) has waited %lld s for fiber '%s' (id %llu) to finish after "
               "kill(); the victim is %s%s%s: it caught FiberExit and went on (catch (...) without "
               "rethrow?). Still waiting.\n",
               fiber_name(killer).c_str(), static_cast<unsigned long long>(killer->id_),
               static_cast<long long>(kKillWarnAfter / 1'000'000'000), fiber_name(victim).c_str(),
               static_cast<unsigned long long>(victim->id_),
               victim->state_ == FiberState::parked ? "parked" : "running", victim->wait_reason_ ? " in " : "",
               victim->wait_reason_ ? victim->wait_reason_ : "");
}

void kill_and_wait(FiberBase* f) {
  request_kill(f);
  if (f->done()) return;
  FiberBase* self = current_fiber();
  if (self == f) throw std::logic_error("greenev: a fiber cannot kill() itself and wait; use kill(no_wait)");
  // The wait is not bounded by the caller's Timeout scopes (an expired one would otherwise make
  // kill() throw TimeoutError, typically from a destructor), and a kill of the caller that lands
  // meanwhile is kept pending for its next suspension point: kill() returns once f is gone.
  TimeoutScope* scopes = std::exchange(self->scopes_, nullptr);
  bool killed_meanwhile = false;
  WakeReason r = WakeReason::woken;
  Deadline warn_at = now_ns() + kKillWarnAfter;
  while (!f->done()) {
    r = f->joiners_.wait("kill", warn_at);
    if (r == WakeReason::timed_out) {
      if (!f->done()) report_slow_kill(f, self);
      warn_at = kForever;
    } else if (r == WakeReason::killed) {
      killed_meanwhile = true;
      self->kill_pending_ = false;  // else every further park returns at once
    } else if (r == WakeReason::loop_exit) {
      break;
    }
  }
  self->scopes_ = scopes;
  if (killed_meanwhile) self->kill_pending_ = true;
  if (!f->done()) throw LoopExit();  // it swallowed FiberExit and waits on what nobody can set
}

void set_kill_exception(FiberBase* f, std::exception_ptr e) {
  if (f->done()) return;
  if (!f->extras_) f->extras_ = std::make_unique<FiberExtras>();
  f->extras_->kill_with = std::move(e);
}

void check_interrupt() {
  FiberBase* self = current_fiber();
  if (self->kill_pending_) raise_for(WakeReason::killed);
  if (self->scopes_ && scope_deadline(self) <= now_ns()) raise_scope_timeout(self);
}

void throw_empty_handle(const char* what) {
  throw std::logic_error(std::string("greenev: Fiber::") + what + "() on an empty handle (default-constructed, moved from or detached)");
}

void rethrow_outcome(FiberBase* f) {
  if (f->error_) {
    f->error_observed_ = true;
    std::rethrow_exception(f->error_);
  }
  throw FiberKilled();
}

void sleep_until_ns(Deadline d) {
  Hub& h = Hub::current();  // may throw (no hub can be created): before any noexcept path
  if (d <= now_ns()) {  // sleep(0) and past deadlines: let the others run once (gevent's sleep(0))
    h.yield();
    return;
  }
  WakeReason r = h.park("sleep", d);
  if (r == WakeReason::woken) return;  // a stray unpark of a sleeper is harmless
  raise_for(r);
}

// --- names, callbacks, detach ---

static FiberExtras& extras(FiberBase* f) {
  if (!f->extras_) f->extras_ = std::make_unique<FiberExtras>();
  return *f->extras_;
}

void set_fiber_name(FiberBase* f, std::string name) { extras(f).name = std::move(name); }

std::string fiber_name(const FiberBase* f) {
  if (f->id_ == 0) return "main";
  if (f->extras_ && !f->extras_->name.empty()) return f->extras_->name;
  return "fiber-" + std::to_string(f->id_);
}

void add_done_callback(FiberBase* f, std::function<void(std::uint64_t)> cb) {
  if (f->done()) {
    cb(f->id_);
    return;
  }
  extras(f).on_done.push_back(std::move(cb));
}

void detach_fiber(FiberBase* f) noexcept {
  f->release();
}

}  // namespace greenev::detail

namespace greenev::this_fiber {
std::string name() { return detail::fiber_name(detail::current_fiber()); }
void set_name(std::string n) { detail::set_fiber_name(detail::current_fiber(), std::move(n)); }
}  // namespace greenev::this_fiber
