// patches/signal.cpp — signal handlers installed by the application: interrupting patched calls.
//
// Interposed, never yield: sigaction, signal (+ bsd_signal), siginterrupt. A user handler (not
// SIG_DFL/SIG_IGN) for an asynchronous signal is installed wrapped in a trampoline that calls the
// handler once, exactly as given (SA_SIGINFO or not), and tells the receiving thread's hub
// (io_signal_arrived, runtime/io/hub_intr.cpp), so that a patched call the thread's main fiber is
// parked in returns -1/EINTR as the kernel's would (always for sleep/nanosleep/poll/select/
// epoll_wait, and for the others only without SA_RESTART). sigaction's `old` reports the user's
// handler, never the trampoline; the kernel sees the user's mask and flags plus SA_SIGINFO.
// Not wrapped: synchronous fault signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS: crash
// handlers, greenev's stack-overflow report) and greenev's own SignalHandler (libev installs it
// inside a SignalHandlerInstall scope: those signals are delivered as fibers, not as interrupts).
// Not interposed: sysv_signal, sigset (rare; their handlers interrupt nothing), and signal handling
// through signalfd or sigwait (no handler runs).
// The wrapped handler table holds immutable records published with one atomic pointer per signal,
// so the trampoline (signal context) reads a consistent handler/flags pair; replaced records are
// kept (a trampoline may be reading one), a few bytes per sigaction() call that installs a handler.
#include "patch.hpp"

#include <csignal>
#include <cstdlib>
#include <dlfcn.h>
#include <new>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(signal);

namespace greenev::detail {
constinit thread_local int t_internal_sigaction = 0;
}

namespace {

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

// No function-local static: sanitizer runtimes call sigaction before their guard interceptors work.
std::atomic<SigactionFn> g_real_sigaction{nullptr};

SigactionFn real_sigaction() noexcept {
  SigactionFn f = g_real_sigaction.load(std::memory_order_acquire);
  if (!f) {
    f = reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));  // idempotent: races are harmless
    g_real_sigaction.store(f, std::memory_order_release);
  }
  return f;
}

struct UserAct {
  struct sigaction sa;  // as the application gave it
  const UserAct* retired_next = nullptr;
};

std::atomic<const UserAct*> g_user[NSIG];
std::atomic<const UserAct*> g_retired{nullptr};  // replaced records: kept (and reachable), never freed

void retire(const UserAct* u) noexcept {
  if (!u) return;
  auto* m = const_cast<UserAct*>(u);
  const UserAct* head = g_retired.load(std::memory_order_relaxed);
  do {
    m->retired_next = head;
  } while (!g_retired.compare_exchange_weak(head, m, std::memory_order_release, std::memory_order_relaxed));
}

bool wrappable(int sig) noexcept {
  if (sig <= 0 || sig >= NSIG) return false;
  switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS: case SIGKILL: case SIGSTOP:
      return false;
    default:
      return true;
  }
}

bool user_handler(const struct sigaction* a) noexcept {
  if (a->sa_flags & SA_SIGINFO) return a->sa_sigaction != nullptr;
  return a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN;
}

void trampoline(int sig, siginfo_t* info, void* uctx) {
  const UserAct* u = g_user[sig].load(std::memory_order_acquire);
  if (!u) return;
  if (u->sa.sa_flags & SA_SIGINFO) u->sa.sa_sigaction(sig, info, uctx);
  else if (u->sa.sa_handler != SIG_DFL && u->sa.sa_handler != SIG_IGN) u->sa.sa_handler(sig);
  const int saved = errno;
  io_signal_arrived((u->sa.sa_flags & SA_RESTART) != 0);
  errno = saved;
}

}  // namespace

GREENEV_PATCH int sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept {
  SigactionFn real = real_sigaction();
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  if (!wrappable(sig)) return real(sig, act, old);
  const UserAct* prev = g_user[sig].load(std::memory_order_acquire);
  const UserAct* next = nullptr;
  struct sigaction k;
  const struct sigaction* pass = act;
  if (act && user_handler(act) && t_internal_sigaction == 0) {
    next = new (std::nothrow) UserAct{*act, nullptr};
    if (next) {
      k = *act;
      k.sa_flags |= SA_SIGINFO;
      k.sa_sigaction = &trampoline;
      pass = &k;
    }
  }
  if (act) g_user[sig].store(next, std::memory_order_release);  // before the kernel can call it
  struct sigaction kold;
  const int r = real(sig, pass, &kold);
  if (r != 0) {
    if (act) g_user[sig].store(prev, std::memory_order_release);
    delete next;
    return r;
  }
  if (old) {
    *old = kold;
    if ((kold.sa_flags & SA_SIGINFO) && kold.sa_sigaction == &trampoline && prev) *old = prev->sa;
  }
  if (act) retire(prev);  // a trampoline running now may still read it
  return 0;
}

GREENEV_PATCH __sighandler_t signal(int sig, __sighandler_t handler) noexcept {
  // glibc's (BSD) semantics: the signal is blocked in its handler, and SA_RESTART.
  struct sigaction sa{}, old{};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  if (sig > 0 && sig < NSIG) sigaddset(&sa.sa_mask, sig);
  sa.sa_flags = SA_RESTART;
  if (sigaction(sig, &sa, &old) < 0) return SIG_ERR;
  return old.sa_handler;
}

GREENEV_PATCH_ALIAS(bsd_signal, signal, __sighandler_t bsd_signal(int, __sighandler_t) noexcept);

GREENEV_PATCH int siginterrupt(int sig, int flag) noexcept {
  struct sigaction sa;
  if (sigaction(sig, nullptr, &sa) < 0) return -1;
  if (flag) sa.sa_flags &= ~SA_RESTART;
  else sa.sa_flags |= SA_RESTART;
  return sigaction(sig, &sa, nullptr);
}

// io_kill_point (runtime/io/hub_intr.cpp) may raise FiberExit out of these, as glibc's deferred
// cancellation unwinds out of a cancellation point: none may be declared noexcept.
static_assert(!noexcept(::read(0, nullptr, 0)) && !noexcept(::write(0, nullptr, 0)) &&
              !noexcept(::readv(0, nullptr, 0)) && !noexcept(::writev(0, nullptr, 0)));
static_assert(!noexcept(::recv(0, nullptr, 0, 0)) && !noexcept(::send(0, nullptr, 0, 0)) &&
              !noexcept(::recvfrom(0, nullptr, 0, 0, nullptr, nullptr)) &&
              !noexcept(::sendto(0, nullptr, 0, 0, nullptr, 0)) && !noexcept(::recvmsg(0, nullptr, 0)) &&
              !noexcept(::sendmsg(0, nullptr, 0)) && !noexcept(::recvmmsg(0, nullptr, 0, 0, nullptr)) &&
              !noexcept(::sendmmsg(0, nullptr, 0, 0)));
static_assert(!noexcept(::accept(0, nullptr, nullptr)) && !noexcept(::accept4(0, nullptr, nullptr, 0)) &&
              !noexcept(::connect(0, nullptr, 0)));
static_assert(!noexcept(::poll(nullptr, 0, 0)) && !noexcept(::ppoll(nullptr, 0, nullptr, nullptr)) &&
              !noexcept(::select(0, nullptr, nullptr, nullptr, nullptr)) &&
              !noexcept(::pselect(0, nullptr, nullptr, nullptr, nullptr, nullptr)) &&
              !noexcept(::epoll_wait(0, nullptr, 0, 0)) && !noexcept(::epoll_pwait(0, nullptr, 0, 0, nullptr)));
static_assert(!noexcept(::sleep(0)) && !noexcept(::usleep(0)) && !noexcept(::nanosleep(nullptr, nullptr)) &&
              !noexcept(::clock_nanosleep(0, 0, nullptr, nullptr)));
