// runtime/io/io.cpp — the real libc functions, the patching switches, and the process-wide fd table.
//
// real(): resolved once by a load-time constructor with dlsym(RTLD_NEXT) — never per call (a lazy
// dlsym per call costs a lock and a hash lookup). A patch reached before the constructor (another
// library's constructor, a sanitizer runtime) resolves the table itself; while that is running the
// few calls dlsym could need (read, write, close, poll, nanosleep) go to raw syscalls.
// The fd table: a directory of chunk pointers; growth copies the directory under a mutex and
// publishes the new one, old directories are kept (a reader may still hold one; they are tiny and
// at most log2(max fd) of them ever exist). Entries for fds 0-1023 are static, so the common fds
// never allocate, even from a signal handler.
#include "io/io.hpp"

#include <greenev/patches.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <new>
#include <sys/stat.h>
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

void init_real() noexcept {
  if (g_real_ready || g_real_busy) return;
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

// ---- fd table ---------------------------------------------------------------------------------------

namespace {
constexpr int kChunkBits = 10;
constexpr int kChunkSize = 1 << kChunkBits;
struct Chunk {
  FdInfo e[kChunkSize];
};
struct Dir {
  std::size_t cap;
  std::atomic<Chunk*>* chunks;
};
constexpr std::size_t kDir0 = 64;  // 65536 fds before the directory first grows
Chunk g_chunk0;
std::atomic<Chunk*> g_dir0_slots[kDir0] = {&g_chunk0};
Dir g_dir0{kDir0, g_dir0_slots};
std::atomic<Dir*> g_dir{&g_dir0};
std::mutex g_dir_mu;
}  // namespace

FdInfo* fd_info_if(int fd) noexcept {
  if (fd < 0) return nullptr;
  const std::size_t c = static_cast<std::size_t>(fd) >> kChunkBits;
  Dir* d = g_dir.load(std::memory_order_acquire);
  if (c >= d->cap) return nullptr;
  Chunk* ch = d->chunks[c].load(std::memory_order_acquire);
  return ch ? &ch->e[fd & (kChunkSize - 1)] : nullptr;
}

FdInfo* fd_info(int fd) noexcept {
  if (FdInfo* fi = fd_info_if(fd)) return fi;
  if (fd < 0) return nullptr;
  const std::size_t c = static_cast<std::size_t>(fd) >> kChunkBits;
  std::lock_guard lk(g_dir_mu);
  Dir* d = g_dir.load(std::memory_order_relaxed);
  if (c >= d->cap) {
    std::size_t cap = d->cap;
    while (cap <= c) cap *= 2;
    auto* slots = new (std::nothrow) std::atomic<Chunk*>[cap]();
    auto* nd = new (std::nothrow) Dir{cap, slots};
    if (!slots || !nd) return nullptr;
    for (std::size_t i = 0; i < d->cap; ++i)
      slots[i].store(d->chunks[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
    g_dir.store(nd, std::memory_order_release);  // the old directory stays valid (never freed)
    d = nd;
  }
  Chunk* ch = d->chunks[c].load(std::memory_order_relaxed);
  if (!ch) {
    ch = new (std::nothrow) Chunk();
    if (!ch) return nullptr;
    d->chunks[c].store(ch, std::memory_order_release);
  }
  return &ch->e[fd & (kChunkSize - 1)];
}

FdKind io_prepare(int fd, FdInfo* fi) noexcept {
  struct stat st;
  if (::fstat(fd, &st) != 0) return FdKind::other;  // EBADF: the call itself reports it
  FdKind k = S_ISSOCK(st.st_mode)                           ? FdKind::socket
             : S_ISFIFO(st.st_mode)                         ? FdKind::pipe
             : S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)   ? FdKind::file
                                                            : FdKind::other;
  const bool pollable = k == FdKind::socket || k == FdKind::pipe;
  if (pollable && fd <= 2) {
    k = FdKind::shared;
  } else if (pollable) {
    const int fl = real().fcntl(fd, F_GETFL);
    if (fl < 0) return FdKind::other;
    if (fl & O_NONBLOCK) {
      fi->user_nonblock.store(true, std::memory_order_relaxed);
      fi->forced.store(false, std::memory_order_relaxed);
    } else {
      if (real().fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return FdKind::other;
      fi->user_nonblock.store(false, std::memory_order_relaxed);
      fi->forced.store(true, std::memory_order_relaxed);
    }
  }
  fi->kind.store(k, std::memory_order_release);
  return k;
}

void fd_reset(int fd) noexcept {
  FdInfo* fi = fd_info_if(fd);
  if (!fi) return;
  fi->kind.store(FdKind::unknown, std::memory_order_release);
  fi->user_nonblock.store(false, std::memory_order_relaxed);
  fi->forced.store(false, std::memory_order_relaxed);
  fi->rcvtimeo.store(0, std::memory_order_relaxed);
  fi->sndtimeo.store(0, std::memory_order_relaxed);
  fi->gen.fetch_add(1, std::memory_order_relaxed);
}

void fd_adopt_nonblocking_socket(int fd) noexcept {
  FdInfo* fi = fd_info(fd);
  if (!fi) return;
  fi->user_nonblock.store(false, std::memory_order_relaxed);
  fi->forced.store(true, std::memory_order_relaxed);
  fi->rcvtimeo.store(0, std::memory_order_relaxed);
  fi->sndtimeo.store(0, std::memory_order_relaxed);
  fi->gen.fetch_add(1, std::memory_order_relaxed);
  fi->kind.store(fd <= 2 ? FdKind::unknown : FdKind::socket, std::memory_order_release);
}

void fd_copy(int newfd, int oldfd) noexcept {
  fd_reset(newfd);
  FdInfo* o = fd_info_if(oldfd);
  if (!o) return;
  const FdKind k = o->kind.load(std::memory_order_acquire);
  if (k == FdKind::unknown) return;
  FdInfo* n = fd_info(newfd);
  if (!n) return;
  n->user_nonblock.store(o->user_nonblock.load(std::memory_order_relaxed), std::memory_order_relaxed);
  n->forced.store(o->forced.load(std::memory_order_relaxed), std::memory_order_relaxed);
  n->rcvtimeo.store(o->rcvtimeo.load(std::memory_order_relaxed), std::memory_order_relaxed);
  n->sndtimeo.store(o->sndtimeo.load(std::memory_order_relaxed), std::memory_order_relaxed);
  n->kind.store(k, std::memory_order_release);
}

// ---- SIGPIPE on pipes -------------------------------------------------------------------------------

SigpipeBlock::SigpipeBlock() noexcept {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &s, &old_);
}

void SigpipeBlock::consume() noexcept {
  if (sigismember(&old_, SIGPIPE)) return;  // the application blocks it itself: leave it pending
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  struct timespec zero{};
  const int saved = errno;
  while (sigtimedwait(&s, nullptr, &zero) < 0 && errno == EINTR) {}
  errno = saved;
}

SigpipeBlock::~SigpipeBlock() {
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
