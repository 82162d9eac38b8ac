// runtime/io/fd_table.cpp — the fd table's storage and its transitions (see fd_table.hpp).
//
// Storage: a directory of chunk pointers; growth copies the directory under a mutex and publishes
// the new one, old directories are kept (a reader may still hold one; they are tiny and at most
// log2(max fd) of them ever exist). Entries for fds 0-1023 are static, so the common fds never
// allocate, even from a signal handler. A chunk is only ever allocated for a number that exists.
// Preparing: exactly one thread wins unknown -> preparing and learns the fd; a second thread that
// meets `preparing` waits (sched_yield) for the result instead of reading half-set kernel flags.
// If the preparer is the very thread that waits (a signal handler interrupted it) the wait gives
// up after a bounded time and the call is treated as `other` (the real call, unchanged).
#include "io/fd_table.hpp"
#include "io/io.hpp"

#include <mutex>
#include <new>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace greenev::detail {

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
std::atomic<unsigned> g_limit{kChunkSize};  // highest allocated chunk's end
std::mutex g_dir_mu;
std::atomic<std::uint32_t> g_desc{0};

std::uint32_t new_desc() noexcept {
  std::uint32_t d;
  while ((d = g_desc.fetch_add(1, std::memory_order_relaxed) + 1) == 0) {}
  return d;
}

std::int64_t sock_timeo_ns(int fd, int name) noexcept {
  struct timeval tv{};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, name, &tv, &len) != 0) return 0;
  return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000'000 + static_cast<std::int64_t>(tv.tv_usec) * 1000;
}

// Learns fd (the caller holds `preparing` at generation gen). False: the fd is gone (EBADF).
bool learn(int fd, FdInfo* fi, std::uint32_t gen, FdState& out) noexcept {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  FdKind k = S_ISSOCK(st.st_mode)                         ? FdKind::socket
             : S_ISFIFO(st.st_mode)                       ? FdKind::pipe
             : S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? FdKind::file
                                                          : FdKind::other;
  SockType type = SockType::none;
  bool user_nb = false, forced = false;
  std::int64_t rcv = 0, snd = 0;
  if (k == FdKind::socket) {
    int t = 0;
    socklen_t tl = sizeof t;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) == 0)
      type = t == SOCK_STREAM ? SockType::stream : t == SOCK_DGRAM ? SockType::dgram
           : t == SOCK_SEQPACKET ? SockType::seqpacket : SockType::none;
    // Timeouts set before greenev saw the fd (inherited by accept, raw syscalls): the kernel's.
    rcv = sock_timeo_ns(fd, SO_RCVTIMEO);
    snd = sock_timeo_ns(fd, SO_SNDTIMEO);
  }
  const bool pollable = k == FdKind::socket || k == FdKind::pipe;
  if (pollable && fd <= 2) {
    k = FdKind::shared;  // shared with stdio and other processes: flags left alone
  } else if (pollable) {
    const int fl = real().fcntl(fd, F_GETFL);
    if (fl < 0) {
      k = FdKind::other;
    } else if (fl & O_NONBLOCK) {
      user_nb = true;
    } else if (real().fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0) {
      forced = true;
    } else {
      k = FdKind::other;
    }
  }
  fi->rcvtimeo.store(rcv, std::memory_order_relaxed);
  fi->sndtimeo.store(snd, std::memory_order_relaxed);
  fi->desc.store(new_desc(), std::memory_order_relaxed);
  out = FdState::make(k, gen, user_nb, forced, type);
  return true;
}

// Sets or clears `bits` in the entry's flags, keeping everything else, if it is still ready.
void set_flags(FdInfo* fi, std::uint64_t set, std::uint64_t clear) noexcept {
  std::uint64_t w = fi->state.load(std::memory_order_acquire);
  for (;;) {
    if (!FdState{w}.ready()) return;
    const std::uint64_t n = (w | set) & ~clear;
    if (n == w || fi->state.compare_exchange_weak(w, n, std::memory_order_acq_rel, std::memory_order_acquire))
      return;
  }
}
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
    const unsigned end = static_cast<unsigned>((c + 1) << kChunkBits);
    if (end > g_limit.load(std::memory_order_relaxed)) g_limit.store(end, std::memory_order_release);
  }
  return &ch->e[fd & (kChunkSize - 1)];
}

unsigned fd_table_limit() noexcept { return g_limit.load(std::memory_order_acquire); }

FdState fd_prepare(int fd, FdInfo*& fi) noexcept {
  const FdState bad = FdState::make(FdKind::other, 0);
  if (!fi) {
    // No chunk yet: allocate one only for a number that exists (7.9: invalid fds cost nothing).
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0 || !(fi = fd_info(fd))) {
      fi = nullptr;
      return bad;
    }
  }
  for (int waits = 0;;) {
    FdState s = fi->load();
    if (s.ready()) return s;
    if (s.kind() == FdKind::preparing) {
      if (++waits > 20000) return FdState::make(FdKind::other, s.gen());  // see the file comment
      sched_yield();
      continue;
    }
    std::uint64_t expect = s.w;
    const FdState p = FdState::make(FdKind::preparing, s.gen());
    if (!fi->state.compare_exchange_strong(expect, p.w, std::memory_order_acq_rel)) continue;
    FdState r;
    if (!learn(fd, fi, s.gen(), r)) {
      expect = p.w;  // gone: back to unknown, the real call reports EBADF
      fi->state.compare_exchange_strong(expect, s.w, std::memory_order_acq_rel);
      return FdState::make(FdKind::other, s.gen());
    }
    expect = p.w;
    if (fi->state.compare_exchange_strong(expect, r.w, std::memory_order_acq_rel)) return r;
    // Reset meanwhile (closed or re-created on another thread): learn the new incarnation.
  }
}

FdState fd_reset(int fd) noexcept {
  FdInfo* fi = fd_info(fd);
  if (!fi) return FdState{};
  std::uint64_t w = fi->state.load(std::memory_order_acquire);
  for (;;) {
    const FdState n = FdState::make(FdKind::unknown, FdState{w}.gen() + 1);
    if (fi->state.compare_exchange_weak(w, n.w, std::memory_order_acq_rel, std::memory_order_acquire))
      return FdState{w};
  }
}

void fd_adopt_nonblocking_socket(int fd) noexcept {
  if (fd <= 2) {  // 0-2 are `shared`: learned like any other
    fd_reset(fd);
    return;
  }
  FdInfo* fi = fd_info(fd);
  if (!fi) return;
  std::uint64_t w = fi->state.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t gen = FdState{w}.gen() + 1;
    const FdState p = FdState::make(FdKind::preparing, gen);
    if (!fi->state.compare_exchange_weak(w, p.w, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    fi->rcvtimeo.store(0, std::memory_order_relaxed);
    fi->sndtimeo.store(0, std::memory_order_relaxed);
    fi->desc.store(new_desc(), std::memory_order_relaxed);
    std::uint64_t expect = p.w;
    fi->state.compare_exchange_strong(
        expect, FdState::make(FdKind::socket, gen, false, true, SockType::stream).w, std::memory_order_acq_rel);
    return;
  }
}

void fd_copy(int newfd, int oldfd) noexcept {
  // Learn the original first, so the copy never re-learns O_NONBLOCK greenev itself set on the
  // shared description. Not for copies to or from 0-2 (dup2(pipe, 0) before exec): those stay
  // unknown and become `shared`, their flags untouched.
  FdInfo* o = fd_info_if(oldfd);
  FdState os = o ? o->load() : FdState{};
  if (!os.ready() && newfd > 2 && oldfd > 2) os = fd_state(oldfd, o);
  FdInfo* n = fd_info(newfd);
  if (!n) return;
  if (!o || !os.ready()) {
    fd_reset(newfd);
    return;
  }
  set_flags(o, FdState::kDupd, 0);
  std::uint64_t w = n->state.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t gen = FdState{w}.gen() + 1;
    const FdState p = FdState::make(FdKind::preparing, gen);
    if (!n->state.compare_exchange_weak(w, p.w, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    n->rcvtimeo.store(o->rcvtimeo.load(std::memory_order_relaxed), std::memory_order_relaxed);
    n->sndtimeo.store(o->sndtimeo.load(std::memory_order_relaxed), std::memory_order_relaxed);
    n->desc.store(o->desc.load(std::memory_order_relaxed), std::memory_order_relaxed);
    const FdState cur = o->load();  // flags as of now (another thread may have changed them)
    const FdState r = FdState::make(cur.ready() ? cur.kind() : os.kind(), gen,
                                    (cur.ready() ? cur : os).user_nonblock(), os.forced(), os.type(), true);
    std::uint64_t expect = p.w;
    n->state.compare_exchange_strong(expect, r.w, std::memory_order_acq_rel);  // lost to a reset: fine
    return;
  }
}

void fd_set_user_nonblock(int fd, FdInfo* fi, bool on) noexcept {
  (void)fd;
  const std::uint64_t set = FdState::kForced | (on ? FdState::kUserNb : 0);
  const std::uint64_t clear = on ? 0 : FdState::kUserNb;
  set_flags(fi, set, clear);
  if (!fi->load().dupd()) return;
  // The flag lives on the open file description: every number sharing it sees the change.
  const std::uint32_t d = fi->desc.load(std::memory_order_relaxed);
  const unsigned lim = fd_table_limit();
  for (unsigned i = 0; i < lim; ++i) {
    FdInfo* e = fd_info_if(static_cast<int>(i));
    if (!e) {
      i |= kChunkSize - 1;
      continue;
    }
    if (e == fi) continue;
    const FdState s = e->load();
    if (s.dupd() && s.cooperative() && e->desc.load(std::memory_order_relaxed) == d) set_flags(e, set, clear);
  }
}

}  // namespace greenev::detail
