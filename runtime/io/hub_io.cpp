// runtime/io/hub_io.cpp — per-hub fd watchers: the libev side of the cooperative I/O layer.
//
// One Watch (an ev_io plus two FIFO wait lists) per fd per hub, created by the first wait and
// kept for the hub's life. The ev_io stays started between operations with `want`, the union of
// the events waiters asked for, so a steady request/response loop does no epoll_ctl at all; it is
// re-armed only when that union changes. An event that fires with nobody waiting for it is dropped
// from `want` (libev polls level-triggered: keeping it would wake the loop on every iteration).
// A watcher with no waiters is ev_unref'd: it never keeps the loop alive on its own, so LoopExit
// detection is unchanged. An event that fires while a fiber it woke earlier is still in the ready
// queue (`handoff`) keeps the watcher armed: that fiber will read and wait again, and dropping and
// re-adding the registration would cost two epoll_ctl per request on a busy hub.
// Staleness: a Watch is valid for one generation of its fd-table entry (fd_table.hpp). Every wait
// compares the entry's generation with the Watch's; on a change (the number was closed and
// re-created, maybe behind greenev's back: fclose, syscall(SYS_close), another thread) the old
// waiters are woken with EBADF and the watcher is re-set, so libev re-adds the fd to epoll
// (EPOLL_CTL_ADD; libev treats EEXIST as "still registered"). close() seen on any thread resets the
// entry and reaches every hub holding a watcher for it: its own hub directly, the others through
// their inbox (the entry's `hubs` bits say which), with the generation that was closed. On its
// own thread the watcher is stopped at once and the waiters are woken from the loop (a lock-free
// ring + ev_async: close() may run in a signal handler).
// Residual: a number closed AND re-created behind greenev's back (raw syscalls on both sides)
// keeps its generation, so a lingering registration may be stale; any patched creation resets it.
// Watch states (armed = what libev watches, want = what we want it to watch):
//   idle      armed = 0, no waiters.                    -> waiting (io_wait)
//   waiting   armed = want != 0, waiters, ref'd.        -> lingering (last waiter leaves),
//                                                          idle (close, EV_ERROR)
//   lingering armed = want != 0, no waiters, unref'd.   -> waiting, idle (event with no waiter
//                                                          drops it from want; close; EV_ERROR)
// Rejected: a watcher per wait (an epoll_ctl ADD+DEL per blocking call) and EPOLLET on a private
// epoll fd (a second poller beside libev's, and a second syscall per loop iteration).
#include "core/hub.hpp"
#include "core/scope.hpp"
#include "io/io.hpp"

#include <greenev/errors.hpp>

#include <ev.h>

#include <cassert>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

// Every patches/*.cpp defines one anchor; referencing them here means that pulling this object
// out of the static library (hub.cpp needs io_hub_destroy) pulls every patch object with it.
extern "C" {
extern const char greenev_patch_anchor_socket, greenev_patch_anchor_unistd, greenev_patch_anchor_poll,
    greenev_patch_anchor_select, greenev_patch_anchor_epoll, greenev_patch_anchor_time,
    greenev_patch_anchor_fcntl, greenev_patch_anchor_fortify, greenev_patch_anchor_netdb,
    greenev_patch_anchor_file, greenev_patch_anchor_process, greenev_patch_anchor_stdio,
    greenev_patch_anchor_pthread, greenev_patch_anchor_signal;
}

namespace greenev::detail {

[[gnu::used]] const char* const g_patch_anchors[] = {
    &greenev_patch_anchor_socket, &greenev_patch_anchor_unistd, &greenev_patch_anchor_poll,
    &greenev_patch_anchor_select, &greenev_patch_anchor_epoll,  &greenev_patch_anchor_time,
    &greenev_patch_anchor_fcntl,  &greenev_patch_anchor_fortify, &greenev_patch_anchor_netdb,
    &greenev_patch_anchor_file,   &greenev_patch_anchor_process, &greenev_patch_anchor_stdio,
    &greenev_patch_anchor_pthread, &greenev_patch_anchor_signal,
};

static_assert(kIoRead == EV_READ && kIoWrite == EV_WRITE, "greenev io events mirror libev's");

struct Watch {
  ev_io io;  // first: the callback casts back
  Hub* hub = nullptr;
  WaitList readers;
  WaitList writers;
  int armed = 0;       // events libev watches now (0: stopped)
  int want = 0;        // events it should watch
  bool refd = false;   // armed and counted: loop liveness + hub_stats (see set_ref)
  bool fresh = true;   // next start re-sets the fd (new watcher, or the fd was closed)
  std::uint32_t gen = 0;           // the fd-table generation this registration belongs to
  std::uint32_t handoff[2] = {0, 0};  // fibers woken for read/write that have not run yet
};

// One io_wait's slot, the payload of its Waiters.
struct IoSlot {
  int closed = 0;
  bool handed[2] = {false, false};  // woken by readiness (counted in Watch::handoff)
};

// Closes seen on the hub's own thread while fibers wait on the fd: handed to the loop through a
// lock-free ring and an ev_async, because close() may run in a signal handler that interrupted
// the scheduler or libev itself (both async-signal-safe: atomics and ev_async_send only).
constexpr int kCloseRing = 64;

struct IoHub {
  ev_async closed;          // first: the callback casts back
  Hub* hub = nullptr;
  std::vector<Watch*> fds;  // indexed by fd; grows on demand
  unsigned slot = 0;        // index in the hub registry (its bit: slot % 64)
  std::atomic<std::uint64_t> ring[kCloseRing] = {};  // (fd + 1) << 32 | generation; 0 = free
  std::atomic<bool> overflow{false};                 // ring full: check every watcher
};

namespace {

// Hubs holding watchers, by slot: lets a close on any thread reach them (through their inbox).
std::mutex g_reg_mu;
std::vector<std::shared_ptr<Inbox>> g_reg;  // guarded by g_reg_mu; null = free slot

std::uint64_t bit_of(unsigned slot) noexcept { return std::uint64_t{1} << (slot % 64); }

bool has_waiters(const Watch* w) noexcept { return !w->readers.empty() || !w->writers.empty(); }

// A ref'd (waited-on) watcher counts for the loop's liveness and in hub_stats().active_watchers; a
// lingering one does neither (it is a cached registration, not a wait).
void set_ref(Watch* w, bool on) noexcept {
  if (on == w->refd) return;
  if (on) {
    ev_ref(w->hub->loop());
    w->hub->watcher_started();
  } else {
    ev_unref(w->hub->loop());
    w->hub->watcher_stopped();
  }
  w->refd = on;
}

void sync_ref(Watch* w) noexcept {
  if (w->armed) set_ref(w, has_waiters(w));
}

// Makes libev watch exactly `want` (one epoll_ctl at the next loop iteration if it changed).
void apply(Watch* w) noexcept {
  struct ev_loop* loop = w->hub->loop();
  if (w->want != w->armed) {
    if (w->armed) {
      set_ref(w, true);  // libev's rule: a watcher is stopped ref'd
      ev_io_stop(loop, &w->io);
      w->hub->watcher_stopped();
      w->hub->fd_disarmed();
      w->armed = 0;
      w->refd = false;
    }
    if (w->want) {
      if (w->fresh) {
        ev_io_set(&w->io, w->io.fd, w->want);
        w->fresh = false;
      } else {
        ev_io_modify(&w->io, w->want);
      }
      ev_io_start(loop, &w->io);
      w->hub->watcher_started();
      w->hub->fd_armed();
      w->armed = w->want;
      w->refd = true;
    }
  }
  sync_ref(w);
}

// Wakes the first waiter whose fiber is still parked (a poll() waiter may already have been woken
// through another fd). False if nobody was woken.
bool wake_one(Watch* w, int dir) noexcept {
  WaitList& l = dir ? w->writers : w->readers;
  while (Waiter* x = l.front()) {
    l.unlink(*x);
    FiberBase* f = x->fiber;
    if (f->state_ == FiberState::parked) {
      if (f->waiting_on_ == x) f->waiting_on_ = nullptr;
      if (x->payload) {  // an io_wait (poll() waiters carry none): counted until it runs
        static_cast<IoSlot*>(x->payload)->handed[dir] = true;
        ++w->handoff[dir];
      }
      unpark(f, WakeReason::woken);
      return true;
    }
  }
  return false;
}

void wake_all(WaitList& l, bool closed) noexcept {
  while (Waiter* x = l.front()) {
    l.unlink(*x);
    if (closed && x->payload) static_cast<IoSlot*>(x->payload)->closed = 1;
    FiberBase* f = x->fiber;
    if (f->waiting_on_ == x) f->waiting_on_ = nullptr;
    unpark(f, WakeReason::woken);
  }
}

void on_io(struct ev_loop* loop, ev_io* iow, int revents) noexcept {
  Watch* w = reinterpret_cast<Watch*>(iow);
  if (revents & EV_ERROR) {
    // libev found the fd invalid and stopped the watcher itself (fd_kill).
    if (!w->refd) ev_ref(loop);  // its stop undid a count our unref had already removed
    else w->hub->watcher_stopped();
    if (w->armed) w->hub->fd_disarmed();
    w->armed = w->want = 0;
    w->refd = false;
    w->fresh = true;
    wake_all(w->readers, false);
    wake_all(w->writers, false);
    return;
  }
  // Nobody to wake: drop the event from `want`, unless a fiber woken for it is still queued to
  // run (it will consume the readiness and most likely wait again: keep the registration).
  int drop = 0;
  if ((revents & EV_READ) && !wake_one(w, 0) && w->handoff[0] == 0) drop |= EV_READ;
  if ((revents & EV_WRITE) && !wake_one(w, 1) && w->handoff[1] == 0) drop |= EV_WRITE;
  if (drop) w->want &= ~drop;
  apply(w);
}

void close_watch(Watch* w) noexcept;
void on_closed(struct ev_loop* loop, ev_async* a, int) noexcept;

IoHub& io_of(Hub& h) {
  if (!h.io()) {
    auto io = std::make_unique<IoHub>();
    io->hub = &h;
    ev_async_init(&io->closed, &on_closed);
    ev_async_start(h.loop(), &io->closed);
    ev_unref(h.loop());  // never keeps the loop alive by itself
    std::lock_guard lk(g_reg_mu);
    std::size_t i = 0;
    while (i < g_reg.size() && g_reg[i]) ++i;
    if (i == g_reg.size()) g_reg.emplace_back();
    g_reg[i] = h.inbox();
    io->slot = static_cast<unsigned>(i);
    h.io() = io.release();
  }
  return *h.io();
}

// Wakes every waiter with EBADF, stops the watcher, and makes the next start re-add the fd.
void close_watch(Watch* w) noexcept {
  wake_all(w->readers, true);
  wake_all(w->writers, true);
  w->want = 0;
  apply(w);
  w->fresh = true;
}

// Before a wait registers on w: make the registration belong to fd's current generation (see the
// file comment), and mark this hub in the entry's `hubs` bits (before reading the generation, so
// a concurrent close either sees the bit or is seen here).
void make_current(Hub& h, Watch* w, int fd) noexcept {
  FdInfo* fi = fd_info(fd);
  if (!fi) return;
  const std::uint64_t bit = bit_of(h.io()->slot);
  if (!(fi->hubs.load() & bit)) fi->hubs.fetch_or(bit);
  const std::uint32_t gen = fi->load().gen();
  if (w->gen == gen) return;
  if (w->armed || has_waiters(w)) close_watch(w);
  w->fresh = true;
  w->gen = gen;
}

Watch* watch_for(Hub& h, int fd) {
  IoHub& io = io_of(h);
  const auto i = static_cast<std::size_t>(fd);
  if (i >= io.fds.size()) io.fds.resize(std::max(i + 1, io.fds.size() * 2), nullptr);
  Watch*& w = io.fds[i];
  if (!w) {
    w = new Watch();
    w->hub = &h;
    ev_init(&w->io, &on_io);
    ev_io_set(&w->io, fd, 0);
  }
  return w;
}

Watch* watch_if(Hub* h, int fd) noexcept {
  if (!h || !h->io() || fd < 0) return nullptr;
  auto& v = h->io()->fds;
  return static_cast<std::size_t>(fd) < v.size() ? v[static_cast<std::size_t>(fd)] : nullptr;
}

int errno_for(Hub& h, WakeReason r) noexcept {
  switch (r) {
    case WakeReason::woken: return 0;
    case WakeReason::timed_out: return EAGAIN;
    case WakeReason::scope_timeout:
      scope_fire_pending(h.running());  // fires once: raised at the next greenev suspension point
      return ETIMEDOUT;
    case WakeReason::killed:
      io_note_killed(h);
      return ECANCELED;
    case WakeReason::loop_exit: return EDEADLK;
  }
  return EINVAL;
}

}  // namespace

int io_wait(Hub& h, int fd, int events, Deadline deadline, const char* reason, Intr intr) noexcept {
  Watch* w;
  try {
    w = watch_for(h, fd);
  } catch (...) {
    return ENOMEM;
  }
  make_current(h, w, fd);
  FiberBase* self = h.running();
  IoSlot slot;
  Waiter wr, ww;
  wr.fiber = ww.fiber = self;
  wr.payload = ww.payload = &slot;
  if (events & EV_READ) w->readers.push_back(wr);
  if (events & EV_WRITE) w->writers.push_back(ww);
  self->waiting_on_ = events == EV_READ ? &wr : events == EV_WRITE ? &ww : nullptr;
  w->want |= events & (EV_READ | EV_WRITE);
  apply(w);
  IntrGuard sig(h, intr);
  const WakeReason r = h.park_io(reason, deadline);
  self->waiting_on_ = nullptr;
  if (wr.list) wr.list->unlink(wr);
  if (ww.list) ww.list->unlink(ww);
  if (slot.handed[0]) --w->handoff[0];
  if (slot.handed[1]) --w->handoff[1];
  sync_ref(w);
  if (slot.closed) return EBADF;
  if (r == WakeReason::woken && sig.fired()) return EINTR;  // nothing was read: no data lost
  return errno_for(h, r);
}

int io_wait_poll(Hub& h, const struct pollfd* fds, nfds_t n, Deadline deadline) noexcept {
  constexpr nfds_t kInline = 16;
  Waiter inline_w[2 * kInline];
  std::unique_ptr<Waiter[]> heap;
  Waiter* ws = inline_w;
  try {
    if (n > kInline) {
      heap.reset(new Waiter[2 * n]);
      ws = heap.get();
    }
  } catch (...) {
    return ENOMEM;
  }
  FiberBase* self = h.running();
  std::size_t used = 0;
  int rc = 0;
  for (nfds_t i = 0; i < n; ++i) {
    const int fd = fds[i].fd;
    if (fd < 0) continue;
    const short e = fds[i].events;
    int ev = 0;
    if (e & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP)) ev |= EV_READ;
    if (e & (POLLOUT | POLLWRNORM | POLLWRBAND)) ev |= EV_WRITE;
    if (!ev) continue;
    Watch* w;
    try {
      w = watch_for(h, fd);
    } catch (...) {
      rc = ENOMEM;
      break;
    }
    make_current(h, w, fd);
    if (ev & EV_READ) {
      ws[used].fiber = self;
      w->readers.push_back(ws[used++]);
    }
    if (ev & EV_WRITE) {
      ws[used].fiber = self;
      w->writers.push_back(ws[used++]);
    }
    w->want |= ev;
    apply(w);
  }
  if (rc == 0) {
    self->waiting_on_ = nullptr;
    IntrGuard sig(h, Intr::always);
    const WakeReason r = h.park_io("poll", deadline);
    rc = r == WakeReason::woken && sig.fired() ? EINTR : errno_for(h, r);
  }
  for (std::size_t i = 0; i < used; ++i) {
    if (WaitList* l = ws[i].list) {
      l->unlink(ws[i]);
    }
  }
  for (nfds_t i = 0; i < n; ++i)
    if (Watch* w = watch_if(&h, fds[i].fd)) sync_ref(w);
  return rc;
}

int io_sleep(Hub& h, Deadline deadline, const char* reason) noexcept {
  IntrGuard sig(h, Intr::always);
  const WakeReason r = h.park_io(reason, deadline);
  if (r == WakeReason::woken && sig.fired()) return EINTR;
  return r == WakeReason::timed_out ? 0 : r == WakeReason::woken ? EAGAIN : errno_for(h, r);
}

namespace {
// On a hub thread, from its inbox: fd was closed at generation `gen` on another thread.
void closed_elsewhere(int fd, std::uint32_t gen) noexcept {
  Watch* w = watch_if(Hub::current_or_null(), fd);
  if (w && static_cast<std::int32_t>(w->gen - gen) <= 0 && (w->armed || has_waiters(w))) close_watch(w);
}

// The loop side of the ring (a libev callback, on the hub fiber).
void on_closed(struct ev_loop*, ev_async* a, int) noexcept {
  IoHub* io = reinterpret_cast<IoHub*>(a);
  for (auto& slot : io->ring)
    if (const std::uint64_t v = slot.exchange(0))
      closed_elsewhere(static_cast<int>(v >> 32) - 1, static_cast<std::uint32_t>(v));
  if (io->overflow.exchange(false)) {
    for (std::size_t fd = 0; fd < io->fds.size(); ++fd) {
      Watch* w = io->fds[fd];
      FdInfo* fi = w && has_waiters(w) ? fd_info_if(static_cast<int>(fd)) : nullptr;
      if (fi && fi->load().gen() != w->gen) close_watch(w);
    }
  }
}

// Async-signal-safe: queue (fd, gen) for this thread's own hub.
void post_closed_here(IoHub* io, int fd, std::uint32_t gen) noexcept {
  const std::uint64_t v = (static_cast<std::uint64_t>(fd) + 1) << 32 | gen;
  bool queued = false;
  for (auto& slot : io->ring) {
    std::uint64_t expect = 0;
    if (slot.compare_exchange_strong(expect, v)) {
      queued = true;
      break;
    }
  }
  if (!queued) io->overflow.store(true);
  ev_async_send(io->hub->loop(), &io->closed);
}

void post_closed(const std::shared_ptr<Inbox>& in, int fd, std::uint32_t gen) noexcept {
  try {
    std::lock_guard lk(in->mu);
    if (!in->hub) return;
    in->items.emplace_back([fd, gen] { closed_elsewhere(fd, gen); });
    ev_async_send(in->hub->loop(), reinterpret_cast<ev_async*>(in->hub->async_storage()));
  } catch (...) {
    // No memory: that hub's waiters on fd are not woken; its next wait re-arms (generation).
  }
}
}  // namespace

void io_before_close(int fd) noexcept {
  FdInfo* fi = fd_info_if(fd);
  if (!fi) return;  // never prepared nor watched
  const FdState old = fd_reset(fd);
  const std::uint64_t bits = fi->hubs.exchange(0);
  Hub* h = Hub::current_or_null();
  // This thread's hub: the watcher stops now, before the real close (libev must never reach
  // epoll_ctl with the closed number through a pending change: it asserts on EBADF); the waiters
  // are woken from the loop through the ring, because this may be a signal handler that
  // interrupted the scheduler (waking touches the ready queue).
  if (Watch* w = watch_if(h, fd)) {
    if (w->armed) {
      w->want = 0;
      apply(w);
    }
    w->fresh = true;
    if (has_waiters(w)) post_closed_here(h->io(), fd, old.gen());
  }
  const Inbox* own = h ? h->inbox().get() : nullptr;
  if (bits == 0 || (h && h->io() && bits == bit_of(h->io()->slot))) return;
  std::shared_ptr<Inbox> targets[8];
  std::size_t n = 0, from = 0;
  for (;;) {  // without holding g_reg_mu while posting (a target's inbox mutex)
    {
      std::lock_guard lk(g_reg_mu);
      for (; from < g_reg.size() && n < 8; ++from)
        if (g_reg[from] && g_reg[from].get() != own && (bits & bit_of(static_cast<unsigned>(from))))
          targets[n++] = g_reg[from];
    }
    for (std::size_t i = 0; i < n; ++i) post_closed(targets[i], fd, old.gen());
    if (n < 8) return;
    for (auto& t : targets) t.reset();
    n = 0;
  }
}

void io_hub_destroy(Hub* h) noexcept {
  IoHub* io = h->io();
  for (Watch* w : io->fds) {
    if (!w) continue;
    assert(!has_waiters(w) && "greenev: hub destroyed while fibers wait on an fd");
    w->want = 0;
    apply(w);
    delete w;
  }
  {
    std::lock_guard lk(g_reg_mu);
    g_reg[io->slot].reset();
  }
  ev_ref(h->loop());
  ev_async_stop(h->loop(), &io->closed);
  delete io;
  h->io() = nullptr;
}

void io_hub_after_fork(Hub* h) noexcept {
  auto purge = [](WaitList& l) {
    for (Waiter* x = l.front(); x;) {
      Waiter* next = x->next;
      if (x->fiber->state_ == FiberState::done) l.unlink(*x);
      x = next;
    }
  };
  for (Watch* w : h->io()->fds) {
    if (!w) continue;
    purge(w->readers);
    purge(w->writers);
    if (!has_waiters(w)) w->want = 0;
    apply(w);
  }
}

// ---- the public waits --------------------------------------------------------------------------------

WakeReason wait_fd(int fd, int events, Deadline deadline) noexcept {
  Hub& h = Hub::current();
  switch (io_wait(h, fd, events, deadline, events & EV_WRITE ? "io_write" : "io_read", Intr::none)) {
    case 0:
    case EBADF: return WakeReason::woken;
    case EAGAIN: return WakeReason::timed_out;
    case ETIMEDOUT: return WakeReason::scope_timeout;
    case ECANCELED: return WakeReason::killed;
    default: return WakeReason::loop_exit;
  }
}

bool wait_fd_or_throw(int fd, int events, Deadline deadline) {
  Hub& h = Hub::current();
  switch (const int e = io_wait(h, fd, events, deadline, events & EV_WRITE ? "io_write" : "io_read", Intr::none)) {
    case 0: return true;
    case EAGAIN: return false;
    case ETIMEDOUT: raise_for(WakeReason::scope_timeout); return false;
    case ECANCELED: raise_for(WakeReason::killed); return false;
    case EDEADLK: raise_for(WakeReason::loop_exit); return false;
    default: throw std::system_error(e, std::generic_category(), "greenev: wait on fd");
  }
}

}  // namespace greenev::detail
