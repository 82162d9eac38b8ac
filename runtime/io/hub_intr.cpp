// runtime/io/hub_intr.cpp — how patched calls are interrupted (docs/interrupts.md): kills that meet
// a retry loop, resource errors, and signals delivered to the hub's thread.
//
// * Kill: a killed fiber's patched calls return -1/ECANCELED at once (they never park). A loop that
//   logs and retries would spin forever and kill() would never return, so after kKillSpinLimit
//   interrupted results in a row the next patched call that can wait raises FiberExit itself, as
//   glibc's deferred cancellation unwinds from a cancellation point (every call that reaches
//   io_kill_point is one, none is noexcept: static_asserts in patches/signal.cpp). Never while the
//   fiber holds a thread-level lock (coop_hub() keeps such calls away from here entirely).
// * EMFILE, ENFILE, ENOBUFS, ENOMEM from a patched call: the call parks ~1 ms before it returns the
//   error, so the hub polls and other fibers run (one may close fds) and a naive retry loop costs
//   ~1000 tries per second instead of a spinning CPU that starves the fibers that would free them.
// * Signals: patches/signal.cpp wraps user handlers in a trampoline that calls io_signal_arrived()
//   on the receiving thread. If the thread's main fiber is parked in a patched call, an ev_async
//   wakes it and the call returns -1/EINTR like the kernel's: always for the sleep family, poll,
//   select and epoll_wait, and for the rest only if the handler lacks SA_RESTART. Only the main fiber
//   (the thread's own stack, where classic programs run their loops; Python does the same); other
//   fibers never see EINTR and lose nothing.
// * SIGPIPE: g_sigpipe_posix (GREENEV_SIGPIPE=posix) turns off MSG_NOSIGNAL and the pipe-write
//   signal blocking of runtime/io/io.cpp (patches::Sigpipe).
// Per-thread state lives in one constinit thread_local read by the trampoline: lock-free atomics only.
#include "core/hub.hpp"
#include "io/io.hpp"

#include <greenev/patches.hpp>

#include <ev.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace greenev::detail {

namespace {

struct SigState {
  std::atomic<ev_async*> async{nullptr};  // started on `hub`'s loop, unref'd; null until needed
  Hub* hub = nullptr;
  std::atomic<std::uint32_t> any{0};        // user-handled signals delivered to this thread
  std::atomic<std::uint32_t> norestart{0};  // ... whose handler lacks SA_RESTART
  FiberBase* waiter = nullptr;              // the main fiber, while parked in a patched call
};
constinit thread_local SigState t_sig __attribute__((tls_model("initial-exec")));

struct KillSpin {
  const FiberBase* fiber = nullptr;
  unsigned count = 0;
};
constinit thread_local KillSpin t_spin;

void on_sig_async(struct ev_loop*, ev_async*, int) noexcept {
  FiberBase* f = t_sig.waiter;
  if (f && f->state_ == FiberState::parked) unpark(f, WakeReason::woken);
}

}  // namespace

// ---- kill ------------------------------------------------------------------------------------------

void io_note_killed(Hub& h) noexcept {
  const FiberBase* f = h.running();
  if (t_spin.fiber != f) t_spin = {f, 0};
  ++t_spin.count;
}

void io_kill_point_slow(Hub& h) {
  FiberBase* f = h.running();
  if (!f->kill_pending_ || t_spin.fiber != f || t_spin.count < kKillSpinLimit) return;
  t_spin = {};
  raise_for(WakeReason::killed);  // FiberExit, delivered once (raise_for clears kill_pending_)
}

// ---- resource errors -------------------------------------------------------------------------------

int io_backoff(Hub& h) noexcept {
  const int why = io_sleep(h, now_ns() + kBackoffNs, "resource_backoff");
  return why == EAGAIN ? 0 : why;  // a stray wake-up ends the pause early: harmless
}

// ---- signals ---------------------------------------------------------------------------------------

void io_signal_arrived(bool restart) noexcept {
  SigState& s = t_sig;
  s.any.fetch_add(1, std::memory_order_relaxed);
  if (!restart) s.norestart.fetch_add(1, std::memory_order_relaxed);
  ev_async* a = s.async.load(std::memory_order_acquire);
  if (a && s.hub == Hub::current_or_null()) ev_async_send(s.hub->loop(), a);  // async-signal-safe
}

IntrGuard::IntrGuard(Hub& h, Intr mode) noexcept {
  FiberBase* self = h.running();
  if (mode == Intr::none || self->id() != 0) return;  // the main fiber only
  SigState& s = t_sig;
  if (s.async.load(std::memory_order_relaxed) == nullptr || s.hub != &h) {
    auto* a = new (std::nothrow) ev_async;
    if (!a) return;
    ev_async_init(a, &on_sig_async);
    ev_async_start(h.loop(), a);
    ev_unref(h.loop());  // never keeps the loop alive by itself
    s.hub = &h;
    s.async.store(a, std::memory_order_release);
  }
  counter_ = mode == Intr::always ? &s.any : &s.norestart;
  seen_ = counter_->load(std::memory_order_relaxed);
  s.waiter = self;
}

IntrGuard::~IntrGuard() {
  if (counter_) t_sig.waiter = nullptr;
}

bool IntrGuard::fired() const noexcept {
  return counter_ && counter_->load(std::memory_order_relaxed) != seen_;
}

// ---- SIGPIPE ---------------------------------------------------------------------------------------

std::atomic<bool> g_sigpipe_posix{false};

namespace {
__attribute__((constructor(102))) void sigpipe_load() {
  if (const char* v = std::getenv("GREENEV_SIGPIPE")) {
    if (std::strcmp(v, "posix") == 0) g_sigpipe_posix.store(true, std::memory_order_relaxed);
    else if (std::strcmp(v, "quiet") != 0 && *v)
      std::fprintf(stderr, "greenev: GREENEV_SIGPIPE=%s ignored (expected posix or quiet)\n", v);
  }
}
}  // namespace

void io_intr_hub_destroy(Hub* h) noexcept {
  SigState& s = t_sig;
  if (s.hub != h) return;
  ev_async* a = s.async.exchange(nullptr, std::memory_order_acq_rel);
  if (a) {
    ev_ref(h->loop());
    ev_async_stop(h->loop(), a);
    delete a;
  }
  s.hub = nullptr;
  s.waiter = nullptr;
}

}  // namespace greenev::detail

namespace greenev::patches {
Sigpipe sigpipe() noexcept {
  return detail::g_sigpipe_posix.load(std::memory_order_relaxed) ? Sigpipe::posix : Sigpipe::quiet;
}
void set_sigpipe(Sigpipe mode) noexcept {
  detail::g_sigpipe_posix.store(mode == Sigpipe::posix, std::memory_order_relaxed);
}
}  // namespace greenev::patches
