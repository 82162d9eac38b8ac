// runtime/io/hub_io.cpp — per-hub fd watchers: the libev side of the cooperative I/O layer.
//
// One Watch (an ev_io plus two FIFO wait lists) per fd per hub, created by the first wait and
// kept for the hub's life. The ev_io stays started between operations with `want`, the union of
// the events waiters asked for, so a steady request/response loop does no epoll_ctl at all; it is
// re-armed only when that union changes. An event that fires with nobody waiting for it is dropped
// from `want` (libev polls level-triggered: keeping it would wake the loop on every iteration).
// A watcher with no waiters is ev_unref'd: it never keeps the loop alive on its own, so LoopExit
// detection is unchanged. close() stops the watcher BEFORE the real close (io_before_close), and
// the next start uses ev_io_set again, so libev re-adds the fd: a reused fd number can never reach
// epoll_ctl with a stale registration.
//
// Watch states (armed = what libev watches, want = what we want it to watch):
//   idle      armed = 0, no waiters.                    -> waiting (io_wait)
//   waiting   armed = want != 0, waiters, ref'd.        -> lingering (last waiter leaves),
//                                                          idle (close, EV_ERROR)
//   lingering armed = want != 0, no waiters, unref'd.   -> waiting, idle (event with no waiter
//                                                          drops it from want; close; EV_ERROR)
// Rejected: a watcher per wait (an epoll_ctl ADD+DEL per blocking call) and EPOLLET on a private
// epoll fd (a second poller beside libev's, and a second syscall per loop iteration).
#include "core/hub.hpp"
#include "io/io.hpp"

#include <greenev/errors.hpp>

#include <ev.h>

#include <cassert>
#include <memory>
#include <system_error>
#include <vector>

// Every patches/*.cpp defines one anchor; referencing them here means that pulling this object
// out of the static library (hub.cpp needs io_hub_destroy) pulls every patch object with it.
extern "C" {
extern const char greenev_patch_anchor_socket, greenev_patch_anchor_unistd, greenev_patch_anchor_poll,
    greenev_patch_anchor_select, greenev_patch_anchor_epoll, greenev_patch_anchor_time,
    greenev_patch_anchor_fcntl, greenev_patch_anchor_fortify, greenev_patch_anchor_netdb,
    greenev_patch_anchor_file, greenev_patch_anchor_process, greenev_patch_anchor_stdio;
}

namespace greenev::detail {

[[gnu::used]] const char* const g_patch_anchors[] = {
    &greenev_patch_anchor_socket, &greenev_patch_anchor_unistd, &greenev_patch_anchor_poll,
    &greenev_patch_anchor_select, &greenev_patch_anchor_epoll,  &greenev_patch_anchor_time,
    &greenev_patch_anchor_fcntl,  &greenev_patch_anchor_fortify, &greenev_patch_anchor_netdb,
    &greenev_patch_anchor_file,   &greenev_patch_anchor_process, &greenev_patch_anchor_stdio,
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
};

struct IoHub {
  std::vector<Watch*> fds;  // indexed by fd; grows on demand
};

namespace {

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
      w->armed = w->want;
      w->refd = true;
    }
  }
  sync_ref(w);
}

// Wakes the first waiter whose fiber is still parked (a poll() waiter may already have been woken
// through another fd). False if nobody was woken.
bool wake_one(WaitList& l) noexcept {
  while (Waiter* x = l.front()) {
    l.unlink(*x);
    FiberBase* f = x->fiber;
    if (f->state_ == FiberState::parked) {
      if (f->waiting_on_ == x) f->waiting_on_ = nullptr;
      unpark(f, WakeReason::woken);
      return true;
    }
  }
  return false;
}

void wake_all(WaitList& l, bool closed) noexcept {
  while (Waiter* x = l.front()) {
    l.unlink(*x);
    if (closed && x->payload) *static_cast<int*>(x->payload) = 1;
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
    w->armed = w->want = 0;
    w->refd = false;
    w->fresh = true;
    wake_all(w->readers, false);
    wake_all(w->writers, false);
    return;
  }
  int drop = 0;
  if ((revents & EV_READ) && !wake_one(w->readers)) drop |= EV_READ;
  if ((revents & EV_WRITE) && !wake_one(w->writers)) drop |= EV_WRITE;
  if (drop) w->want &= ~drop;
  apply(w);
}

IoHub& io_of(Hub& h) {
  if (!h.io()) h.io() = new IoHub();
  return *h.io();
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

int errno_for(WakeReason r) noexcept {
  switch (r) {
    case WakeReason::woken: return 0;
    case WakeReason::timed_out: return EAGAIN;
    case WakeReason::scope_timeout: return ETIMEDOUT;
    case WakeReason::killed: return ECANCELED;
    case WakeReason::loop_exit: return EDEADLK;
  }
  return EINVAL;
}

}  // namespace

int io_wait(Hub& h, int fd, int events, Deadline deadline, const char* reason) noexcept {
  Watch* w;
  try {
    w = watch_for(h, fd);
  } catch (...) {
    return ENOMEM;
  }
  FiberBase* self = h.running();
  int closed = 0;
  Waiter wr, ww;
  wr.fiber = ww.fiber = self;
  wr.payload = ww.payload = &closed;
  if (events & EV_READ) w->readers.push_back(wr);
  if (events & EV_WRITE) w->writers.push_back(ww);
  self->waiting_on_ = events == EV_READ ? &wr : events == EV_WRITE ? &ww : nullptr;
  w->want |= events & (EV_READ | EV_WRITE);
  apply(w);
  const WakeReason r = h.park(reason, deadline);
  self->waiting_on_ = nullptr;
  if (wr.list) wr.list->unlink(wr);
  if (ww.list) ww.list->unlink(ww);
  sync_ref(w);
  return closed ? EBADF : errno_for(r);
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
    rc = errno_for(h.park("poll", deadline));
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
  const WakeReason r = h.park(reason, deadline);
  return r == WakeReason::timed_out ? 0 : r == WakeReason::woken ? EAGAIN : errno_for(r);
}

void io_before_close(int fd) noexcept {
  fd_reset(fd);
  Watch* w = watch_if(Hub::current_or_null(), fd);
  if (!w) return;
  wake_all(w->readers, true);
  wake_all(w->writers, true);
  w->want = 0;
  apply(w);
  w->fresh = true;
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
  switch (io_wait(h, fd, events, deadline, events & EV_WRITE ? "io_write" : "io_read")) {
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
  switch (const int e = io_wait(h, fd, events, deadline, events & EV_WRITE ? "io_write" : "io_read")) {
    case 0: return true;
    case EAGAIN: return false;
    case ETIMEDOUT: raise_for(WakeReason::scope_timeout); return false;
    case ECANCELED: raise_for(WakeReason::killed); return false;
    case EDEADLK: raise_for(WakeReason::loop_exit); return false;
    default: throw std::system_error(e, std::generic_category(), "greenev: wait on fd");
  }
}

}  // namespace greenev::detail
