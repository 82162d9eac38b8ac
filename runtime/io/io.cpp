// runtime/io/io.cpp — the real libc functions, the patching switches, and the process-wide fd table.
//
// real(): resolved once by a load-time constructor with dlsym(RTLD_NEXT) — never per call (a lazy
// dlsym per call costs a lock and a hash lookup). A patch reached before the constructor (another
// library's constructor, a sanitizer runtime) resolves the table itself; while that is running the
// few calls dlsym could need (read, write, close, poll, nanosleep) go to raw syscalls.
// Pass-through: a plain thread on an fd greenev made O_NONBLOCK underneath gets libc's blocking
// behaviour, SO_RCVTIMEO/SO_SNDTIMEO included (the fd table itself is in fd_table.cpp).
#include "io/io.hpp"

#include <greenev/patches.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <sys/syscall.h>

namespace greenev::detail {

namespace {
ssize_t sys_read(int fd, void* b, size_t n) { return syscall(SYS_read, fd, b, n); }
ssize_t sys_write(int fd, const void* b, size_t n) { return syscall(SYS_write, fd, b, n); }
int sys_close(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }
int sys_poll(struct pollfd* f, nfds_t n, int t) { return static_cast<int>(syscall(SYS_poll, f, n, t)); }
int sys_nanosleep(const struct timespec* r, struct timespec* rem) {
  return static_cast<int>(syscall(SYS_nanosleep, r, rem));
}
bool g_real_busy = false;
}  // namespace

RealFns g_real{.read = &sys_read, .write = &sys_write, .close = &sys_close, .poll = &sys_poll,
               .nanosleep = &sys_nanosleep};
bool g_real_ready = false;

// A fully -static executable has no dynamic section: no libc behind the patches for
// dlsym(RTLD_NEXT) to find. glibc's libc.a normally refuses the link already (multiple
// definitions of the patched getaddrinfo, __overflow...); one forced through (e.g.
// -Wl,--allow-multiple-definition) stops here with one line instead of an abort in dlsym.
extern "C" [[gnu::weak]] const char _DYNAMIC[];

void init_real() noexcept {
  if (g_real_ready || g_real_busy) return;
  if (_DYNAMIC == nullptr) {
    static const char msg[] =
        "greenev: this program is linked fully static (-static); greenev needs the dynamic C "
        "library (its patches reach libc through dlsym(RTLD_NEXT)): link libgreenev.a with the "
        "dynamic libc instead (see README, \"Static linking\")\n";
    sys_write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  g_real_busy = true;
#define GREENEV_X(n)                                                     \
  if (void* p = dlsym(RTLD_NEXT, #n)) g_real.n = reinterpret_cast<decltype(g_real.n)>(p);
  GREENEV_REAL_FNS(GREENEV_X)
#undef GREENEV_X
  if (!g_real.fcntl64) g_real.fcntl64 = g_real.fcntl;
#define GREENEV_X(n)                                                                               \
  if (!g_real.n) {                                                                                 \
    std::fprintf(stderr, "greenev: cannot resolve the real %s (dlsym RTLD_NEXT)\n", #n);           \
    std::abort();                                                                                  \
  }
  GREENEV_REAL_FNS(GREENEV_X)
#undef GREENEV_X
  g_real_busy = false;
  g_real_ready = true;
}

// ---- switches -------------------------------------------------------------------------------------

std::atomic<bool> g_patches_on{true};
constinit thread_local int t_patches_off = 0;

namespace {
__attribute__((constructor(101))) void io_load() {
  init_real();
  if (const char* v = std::getenv("GREENEV_PATCHES"))
    if (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0)
      g_patches_on.store(false, std::memory_order_relaxed);
}
}  // namespace

// ---- pass-through on threads without a hub ------------------------------------------------------

bool passthrough_applies(int fd) noexcept {
  FdInfo* fi = fd_info_if(fd);
  if (!fi) return false;
  const FdState s = fi->load();
  return s.forced() && !s.user_nonblock() && s.cooperative();
}

int passthrough_wait(int fd, int events, Deadline& dl) noexcept {
  const int saved = errno;
  FdInfo* fi = fd_info_if(fd);
  const bool sock = fi && fi->load().kind() == FdKind::socket;
  if (dl < 0) {  // first wait of this call: the kernel's timeout, exactly as the blocking call uses it
    dl = kForever;
    if (sock) {
      struct timeval tv{};
      socklen_t len = sizeof tv;
      if (::getsockopt(fd, SOL_SOCKET, events & kIoWrite ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) == 0)
        dl = deadline_in(static_cast<std::int64_t>(tv.tv_sec) * 1'000'000'000 + tv.tv_usec * 1000);
    }
  }
  struct pollfd p{fd, static_cast<short>(events & kIoWrite ? POLLOUT : POLLIN), 0};
  for (;;) {
    struct timespec ts, *tsp = nullptr;
    if (dl != kForever) {
      const Deadline left = dl - now_ns();
      if (left <= 0) return EAGAIN;
      ts.tv_sec = static_cast<time_t>(left / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(left % 1'000'000'000);
      tsp = &ts;
    }
    const int r = real().ppoll(&p, 1, tsp, nullptr);
    if (r > 0) break;
    if (r == 0) return EAGAIN;
    if (errno != EINTR) return errno;
    if (dl != kForever) return EINTR;  // signal(7): socket calls with a timeout are never restarted
  }
  errno = saved;
  return 0;
}

// ---- SIGPIPE on pipes -------------------------------------------------------------------------------

SigpipeBlock::SigpipeBlock() noexcept {
  if (g_sigpipe_posix.load(std::memory_order_relaxed)) return;
  active_ = true;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &s, &old_);
}

void SigpipeBlock::consume() noexcept {
  if (!active_ || sigismember(&old_, SIGPIPE)) return;  // the application blocks it itself: leave it pending
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  struct timespec zero{};
  const int saved = errno;
  while (sigtimedwait(&s, nullptr, &zero) < 0 && errno == EINTR) {}
  errno = saved;
}

SigpipeBlock::~SigpipeBlock() {
  if (!active_) return;
  const int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  errno = saved;
}

}  // namespace greenev::detail

namespace greenev::patches {

bool enabled() noexcept { return detail::g_patches_on.load(std::memory_order_relaxed); }
void set_enabled(bool on) noexcept { detail::g_patches_on.store(on, std::memory_order_relaxed); }
Disable::Disable() noexcept { ++detail::t_patches_off; }
Disable::~Disable() { --detail::t_patches_off; }

}  // namespace greenev::patches
