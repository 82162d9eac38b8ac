// patches/file.cpp — regular files and block devices: the calls that cannot be polled.
//
// In place first (read, pread + pread64, __pread64, __pread_chk, __pread64_chk): preadv2 with
// RWF_NOWAIT, which the kernel serves only from the page cache. Whole → done on the hub (a cached
// 4 KiB read costs what the raw pread costs). EAGAIN (some of it is not cached) → the call runs on
// the pool. Short (part of the range cached) → the rest is read on the pool and the whole count
// returned, so the caller never sees a short regular-file read it would not have seen before.
// At most 1 MiB is copied in place per call; the rest of a longer cached read goes to the pool.
// EOPNOTSUPP (file systems without the flag: some FUSE and network file systems, old kernels) →
// remembered for that fd until it is closed or reused (the fd table's generation) and
// never tried again: straight to the pool. Other errors are the real call's (EISDIR, EBADF...).
// Thread pool (inside a fiber, patching on, fd a regular file or block device — FdKind::file, found
// by the fd table's one fstat): what missed the cache above, and pwrite (+ pwrite64, __pwrite64),
// preadv (+ preadv64), pwritev (+ pwritev64), fsync, fdatasync; and, through io_call's FdKind::file
// branch, readv/write/writev of patches/unistd.cpp. The real call runs whole on a pool thread while
// the hub runs other fibers; result and errno are the real call's.
// The wait is Interrupt::deferred: the call reads or writes the caller's buffer, so it always
// completes (as a disk read in the kernel's D state does); a Timeout or kill() arriving meanwhile is
// raised at the next suspension point instead of making the call fail. A fork() while the call is
// in flight makes the child's call return -1/ECANCELED (it completed, or not, in the parent only).
// Pass through: outside fibers, on other fds (pread on a pipe or socket fails with ESPIPE as the
// real call does; ttys), and with file pooling switched off.
//
// The switch: patches::set_file_threadpool(), or GREENEV_FILE_THREADPOOL=0 at start-up, makes these
// calls run in place on the hub thread. Default on: greenev's promise is that no blocking call
// stalls the hub, and a cold cache, a busy disk or a network file system stalls every fiber of it
// for milliseconds (DESIGN.md layer 6 routes files to the pool for this reason). The price is one
// pool round trip (a queue push, a worker wake-up, an ev_async back) on every call, page-cache hits
// included: measured at ~13 us against ~1.2 us for a cached 4 KiB pread in place (gVisor sandbox,
// where syscalls are slow; not yet measured on bare metal); the RWF_NOWAIT path above now serves
// those hits in place, so the pool is paid only by reads that would have blocked.
// Rejected: io_uring — not in the dependency set, and often disabled by seccomp in containers;
// mincore() before each read — a second syscall and a mapping per call.
#include "patch.hpp"

#include <greenev/patches.hpp>
#include <greenev/threadpool.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdarg>
#include <dlfcn.h>
#include <fcntl.h>
#include <new>
#include <sys/syscall.h>
#include <sys/uio.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(file);

namespace {

struct FileFns {
  decltype(&::pread) pread = nullptr;
  decltype(&::pwrite) pwrite = nullptr;
  decltype(&::preadv) preadv = nullptr;
  decltype(&::pwritev) pwritev = nullptr;
  decltype(&::fsync) fsync = nullptr;
  decltype(&::fdatasync) fdatasync = nullptr;
};

std::atomic<bool> g_file_pool{true};

constinit thread_local greenev::patches::FileStats t_stats;

// Descriptors whose file system refused RWF_NOWAIT, as (fd table generation + 1) per fd: a close or
// reuse bumps the generation, which forgets the entry without any hook. Chunked like the fd table
// (never freed or moved, lookups lock-free); fds past the last chunk just try the flag each time.
constexpr std::size_t kInPlaceMax = std::size_t{1} << 20;
constexpr int kNoWaitChunk = 1024;
constexpr int kNoWaitChunks = 256;
std::atomic<std::atomic<std::uint32_t>*> g_refused[kNoWaitChunks];

std::atomic<std::uint32_t>* refused_slot(int fd, bool create) noexcept {
  const int c = fd / kNoWaitChunk;
  if (fd < 0 || c >= kNoWaitChunks) return nullptr;
  std::atomic<std::uint32_t>* chunk = g_refused[c].load(std::memory_order_acquire);
  if (!chunk && create) {
    auto* fresh = new (std::nothrow) std::atomic<std::uint32_t>[kNoWaitChunk]();
    if (!fresh) return nullptr;
    if (g_refused[c].compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) chunk = fresh;
    else delete[] fresh;
  }
  return chunk ? &chunk[fd % kNoWaitChunk] : nullptr;
}

FileFns resolve() noexcept {
  FileFns f;
#define GREENEV_RESOLVE(n)                                              \
  f.n = reinterpret_cast<decltype(f.n)>(dlsym(RTLD_NEXT, #n));          \
  if (!f.n) {                                                           \
    std::fputs("greenev: cannot resolve the real " #n " (dlsym RTLD_NEXT)\n", stderr); \
    std::abort();                                                       \
  }
  GREENEV_RESOLVE(pread)
  GREENEV_RESOLVE(pwrite)
  GREENEV_RESOLVE(preadv)
  GREENEV_RESOLVE(pwritev)
  GREENEV_RESOLVE(fsync)
  GREENEV_RESOLVE(fdatasync)
#undef GREENEV_RESOLVE
  return f;
}

// Resolved once (a function-local static: a patch reached before the load-time constructor below
// resolves it itself, thread-safely).
const FileFns& rf() noexcept {
  static const FileFns f = resolve();
  return f;
}

__attribute__((constructor(102))) void file_load() {
  (void)rf();
  if (const char* v = std::getenv("GREENEV_FILE_THREADPOOL"))
    if (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0)
      g_file_pool.store(false, std::memory_order_relaxed);
}

// Inside a fiber with patching on and fd a regular file or block device: the call goes through
// io_file_run (the pool, unless switched off). Else the real call, in place.
bool pooled(int fd) noexcept {
  if (!coop_hub()) return false;
  FdInfo* fi;
  return fd_kind(fd, fi) == FdKind::file;
}

template <class Op>
ssize_t on_pool(Op op) noexcept {
  return io_file_call(op);
}

}  // namespace

namespace greenev::detail {

ssize_t io_file_run(ssize_t (*call)(void*), void* ctx) noexcept {
  if (!g_file_pool.load(std::memory_order_relaxed)) return call(ctx);
  ++t_stats.pool_calls;
  const int saved = errno;
  ssize_t r = -1;
  int err = 0;
  const WakeReason w = run_blocking_nothrow(
      [&r, &err, call, ctx]() noexcept {
        r = call(ctx);
        err = errno;  // the worker's errno: carried home below
      },
      Interrupt::deferred);
  if (w != WakeReason::woken) {  // loop_exit: lost to fork() (this is the child), or no memory
    errno = ECANCELED;
    return -1;
  }
  errno = r < 0 ? err : saved;
  return r;
}

ssize_t io_file_read(int fd, void* buf, std::size_t n, off_t off) noexcept {
  auto on_pool_read = [fd, off](void* b, std::size_t len, off_t at) {
    auto op = [&] { return off < 0 ? real().read(fd, b, len) : rf().pread(fd, b, len, at); };
    return io_file_call(op);
  };
  if (!g_file_pool.load(std::memory_order_relaxed) || n == 0) return on_pool_read(buf, n, off);
  FdInfo* fi = fd_info_if(fd);
  const std::uint32_t mark = fi ? fi->load().gen() + 1 : 0;
  std::atomic<std::uint32_t>* slot = refused_slot(fd, false);
  if (!(mark && slot && slot->load(std::memory_order_relaxed) == mark)) {
    const int saved = errno;
    // At most kInPlaceMax copied on the hub per call (a cached 256 MiB read would otherwise hold it
    // for a 256 MiB memcpy); a longer hit continues on the pool like a partial one.
    struct iovec v{buf, std::min(n, kInPlaceMax)};
    const ssize_t r = preadv2(fd, &v, 1, off, RWF_NOWAIT);
    if (r >= 0) {
      if (static_cast<std::size_t>(r) == n || r == 0) {
        ++t_stats.nowait_hits;
        errno = saved;
        return r;
      }
      // Part of the range is cached: the rest on the pool (a short count there is EOF).
      ++t_stats.nowait_partial;
      const ssize_t rest = on_pool_read(static_cast<char*>(buf) + r, n - static_cast<std::size_t>(r), off < 0 ? off : off + r);
      errno = saved;
      return rest > 0 ? r + rest : r;
    }
    if (errno == EOPNOTSUPP) {
      ++t_stats.nowait_refused;
      if (mark)
        if (auto* s = refused_slot(fd, true)) s->store(mark, std::memory_order_relaxed);
    } else if (errno == EAGAIN) {
      ++t_stats.nowait_misses;
    }
    errno = saved;  // any other error: the pool's real call reports it exactly
  }
  return on_pool_read(buf, n, off);
}

}  // namespace greenev::detail

namespace greenev::patches {

FileStats file_stats() noexcept { return t_stats; }


bool file_threadpool() noexcept { return g_file_pool.load(std::memory_order_relaxed); }
void set_file_threadpool(bool on) noexcept { g_file_pool.store(on, std::memory_order_relaxed); }

}  // namespace greenev::patches

GREENEV_PATCH ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  if (!pooled(fd)) return rf().pread(fd, buf, n, off);
  if (off < 0) {  // preadv2 would read at the file position: let the real call fail with EINVAL
    errno = EINVAL;
    return -1;
  }
  return io_file_read(fd, buf, n, off);
}

GREENEV_PATCH ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  if (!pooled(fd)) return rf().pwrite(fd, buf, n, off);
  return on_pool([&] { return rf().pwrite(fd, buf, n, off); });
}

GREENEV_PATCH ssize_t preadv(int fd, const struct iovec* iov, int cnt, off_t off) {
  if (!pooled(fd)) return rf().preadv(fd, iov, cnt, off);
  return on_pool([&] { return rf().preadv(fd, iov, cnt, off); });
}

GREENEV_PATCH ssize_t pwritev(int fd, const struct iovec* iov, int cnt, off_t off) {
  if (!pooled(fd)) return rf().pwritev(fd, iov, cnt, off);
  return on_pool([&] { return rf().pwritev(fd, iov, cnt, off); });
}

GREENEV_PATCH int fsync(int fd) {
  if (!pooled(fd)) return rf().fsync(fd);
  return static_cast<int>(on_pool([&] { return static_cast<ssize_t>(rf().fsync(fd)); }));
}

GREENEV_PATCH int fdatasync(int fd) {
  if (!pooled(fd)) return rf().fdatasync(fd);
  return static_cast<int>(on_pool([&] { return static_cast<ssize_t>(rf().fdatasync(fd)); }));
}

extern "C" [[noreturn]] void __chk_fail(void);

GREENEV_PATCH ssize_t __pread_chk(int fd, void* buf, size_t n, off_t off, size_t buflen) {
  if (n > buflen) __chk_fail();
  return pread(fd, buf, n, off);
}

// off_t is 64 bits on x86-64 (the only target, see DESIGN.md): the 64 names are the same functions,
// as in glibc.
static_assert(sizeof(off_t) == sizeof(off64_t), "greenev: the *64 file calls alias the plain ones");
GREENEV_PATCH_ALIAS(pread64, pread, ssize_t pread64(int, void*, size_t, off64_t));
GREENEV_PATCH_ALIAS(__pread64, pread, ssize_t __pread64(int, void*, size_t, off64_t));
GREENEV_PATCH_ALIAS(pwrite64, pwrite, ssize_t pwrite64(int, const void*, size_t, off64_t));
GREENEV_PATCH_ALIAS(__pwrite64, pwrite, ssize_t __pwrite64(int, const void*, size_t, off64_t));
GREENEV_PATCH_ALIAS(preadv64, preadv, ssize_t preadv64(int, const struct iovec*, int, off64_t));
GREENEV_PATCH_ALIAS(pwritev64, pwritev, ssize_t pwritev64(int, const struct iovec*, int, off64_t));
GREENEV_PATCH_ALIAS(__pread64_chk, __pread_chk, ssize_t __pread64_chk(int, void*, size_t, off64_t, size_t));

// ---- the open family: fd-table reset ---------------------------------------------------------------
// open/openat/creat/fopen (+ 64, fortified and freopen/tmpfile names) forget what the fd table knew
// of the number they return, so a number reused after a close greenev never saw (fclose(fdopen()),
// glibc internals, raw syscalls) carries no stale kind, flags or watcher registration. Never yield.
namespace {

struct OpenFns {
  int (*open)(const char*, int, ...) = nullptr;
  int (*openat)(int, const char*, int, ...) = nullptr;
  FILE* (*fopen)(const char*, const char*) = nullptr;
  FILE* (*freopen)(const char*, const char*, FILE*) = nullptr;
  FILE* (*tmpfile)() = nullptr;
};

// Resolved once; before that (a call from inside dlsym or a constructor that runs first) the
// raw syscalls serve open/openat.
const OpenFns& of() noexcept {
  static const OpenFns f = [] {
    OpenFns o;
    o.open = reinterpret_cast<decltype(o.open)>(dlsym(RTLD_NEXT, "open"));
    o.openat = reinterpret_cast<decltype(o.openat)>(dlsym(RTLD_NEXT, "openat"));
    o.fopen = reinterpret_cast<decltype(o.fopen)>(dlsym(RTLD_NEXT, "fopen"));
    o.freopen = reinterpret_cast<decltype(o.freopen)>(dlsym(RTLD_NEXT, "freopen"));
    o.tmpfile = reinterpret_cast<decltype(o.tmpfile)>(dlsym(RTLD_NEXT, "tmpfile"));
    return o;
  }();
  return f;
}

bool has_mode(int flags) noexcept { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

int opened(int fd) noexcept {
  if (fd >= 0) fd_reset(fd);
  return fd;
}

FILE* opened(FILE* f) noexcept {
  if (f) fd_reset(fileno(f));
  return f;
}

int do_openat(int dirfd, const char* path, int flags, mode_t mode) noexcept {
  if (of().openat) return opened(of().openat(dirfd, path, flags, mode));
  return opened(static_cast<int>(syscall(SYS_openat, dirfd, path, flags, mode)));
}

}  // namespace

GREENEV_PATCH int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (has_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (of().open) return opened(of().open(path, flags, mode));
  return do_openat(AT_FDCWD, path, flags, mode);
}

GREENEV_PATCH int openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (has_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return do_openat(dirfd, path, flags, mode);
}

GREENEV_PATCH int creat(const char* path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
GREENEV_PATCH int __open_2(const char* path, int flags) { return open(path, flags); }
GREENEV_PATCH int __openat_2(int dirfd, const char* path, int flags) { return openat(dirfd, path, flags); }
GREENEV_PATCH FILE* fopen(const char* path, const char* mode) { return opened(of().fopen(path, mode)); }
GREENEV_PATCH FILE* freopen(const char* path, const char* mode, FILE* f) { return opened(of().freopen(path, mode, f)); }
GREENEV_PATCH FILE* tmpfile() { return opened(of().tmpfile()); }

// O_LARGEFILE is implied on x86-64: the 64 names are the same functions, as in glibc.
GREENEV_PATCH_ALIAS(open64, open, int open64(const char*, int, ...));
GREENEV_PATCH_ALIAS(openat64, openat, int openat64(int, const char*, int, ...));
GREENEV_PATCH_ALIAS(creat64, creat, int creat64(const char*, mode_t));
GREENEV_PATCH_ALIAS(__open64_2, __open_2, int __open64_2(const char*, int));
GREENEV_PATCH_ALIAS(__openat64_2, __openat_2, int __openat64_2(int, const char*, int));
GREENEV_PATCH_ALIAS(fopen64, fopen, FILE* fopen64(const char*, const char*));
GREENEV_PATCH_ALIAS(freopen64, freopen, FILE* freopen64(const char*, const char*, FILE*));
GREENEV_PATCH_ALIAS(tmpfile64, tmpfile, FILE* tmpfile64());
