// runtime/core/hub_fork.cpp — the hub in a fork() child: only the forking fiber survives.
//
// Runs as the registry's first child hook (fork_order::hub), single-threaded, on the forking
// fiber's stack. It gives the loop a fresh backend (ev_loop_fork: the epoll fd is shared with the
// parent until then), drops what other threads had posted, and finishes every other fiber of this
// hub without running it: out of the ready queue, its timer stopped, its hand-off waiter unlinked,
// state done with an ECANCELED error (join() throws it, nobody reports it), link callbacks run.
// Stacks are NOT returned to the pool: waiters of wait_any() and of fd waits may still be linked
// on broadcast/fd lists and live on those stacks, and a reused stack would turn them into garbage.
// Left mapped they cost nothing (the pages are shared copy-on-write with the parent).
// Linked-but-dead waiters are harmless: broadcast lists unpark (a no-op on a done fiber), fd lists
// are purged here (io_hub_after_fork), and hand-off lists never hold them (their waiter is the
// fiber's waiting_on_, unlinked here).
// Rejected: unwinding the other fibers (their destructors would do the parent's work a second time:
// flush buffers, send goodbyes, remove files) and keeping them runnable (gevent's choice).
#include "core/hub.hpp"

#include "core/context.hpp"

#include <ev.h>

#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <string>
#include <system_error>

#if defined(GREENEV_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

namespace greenev::detail {

namespace {

// Leak checkers: what the discarded fibers own is reachable from their stacks, which stay mapped
// but are no thread's stack any more; make them roots so only real leaks are reported.
void keep_reachable([[maybe_unused]] FiberBase* f, [[maybe_unused]] bool is_main) noexcept {
#if defined(GREENEV_ASAN)
  if (is_main) {
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
      void* addr = nullptr;
      std::size_t size = 0;
      if (pthread_attr_getstack(&a, &addr, &size) == 0) __lsan_register_root_region(addr, size);
      pthread_attr_destroy(&a);
    }
  } else if (f->stack_.kind == StackKind::guarded || f->stack_.kind == StackKind::slab) {
    __lsan_register_root_region(f->stack_.limit, f->stack_.size);
  }
#endif
}

}  // namespace

void Hub::discard_for_fork(FiberBase* f) noexcept {
  keep_reachable(f, f == &main_);
  if (f->state_ == FiberState::ready) ready_.remove(f);
  if (f->in_timer_) {
    ev_timer_stop(loop_, reinterpret_cast<ev_timer*>(f->timer_));
    f->in_timer_ = false;
    --active_watchers_;
  }
  if (Waiter* w = f->waiting_on_) {
    if (w->list) w->list->unlink(*w);
    f->waiting_on_ = nullptr;
  }
  f->state_ = FiberState::done;  // from here on unpark() ignores it
  f->kill_pending_ = false;
  f->wait_reason_ = nullptr;
  try {
    f->error_ = std::make_exception_ptr(std::system_error(
        ECANCELED, std::generic_category(), "greenev: fiber did not survive fork() (only the forking fiber runs in the child)"));
  } catch (...) {
    f->killed_ = true;  // no memory for the error: join() reports it as killed
  }
  f->error_observed_ = true;  // expected, not a crash: never reported at destruction
}

void Hub::after_fork_child() noexcept {
  ev_loop_fork(loop_);
  {
    // Posts from threads that do not exist here, for fibers that will not run here.
    std::lock_guard lk(inbox_->mu);
    inbox_->items.clear();
  }
  inbox_->keepalive.store(0, std::memory_order_relaxed);
  FiberBase* keep = current_;
  if (keep == &hub_fiber_) return;  // forked from a loop callback: no fiber is running

  // Pass 1: every other fiber becomes done, so no wake-up below can make one ready again.
  for (FiberBase* f = live_head_; f; f = f->all_next_)
    if (f != keep) discard_for_fork(f);
  if (keep != &main_) {
    discard_for_fork(&main_);
    fork_root_ = keep;
  }
  if (io_) io_hub_after_fork(this);

  // Pass 2: joiners and link callbacks see them finish; the hub drops its references. Joiners can
  // only be discarded fibers (the caller is running), so their waiters are simply unlinked.
  for (FiberBase* f = live_head_; f;) {
    FiberBase* next = f->all_next_;
    if (f != keep) {
      while (Waiter* w = f->joiners_.front()) f->joiners_.unlink(*w);
      if (f->extras_) {
        for (auto& cb : f->extras_->on_done) {
          try {
            cb(f->id_);
          } catch (...) {
          }
        }
        f->extras_->on_done.clear();
      }
      unlink_live(f);
      f->stack_ = {};  // left mapped on purpose (see top); never back in the pool
      context_destroy(f);
      f->release();  // the hub's reference
    }
    f = next;
  }
}

void Hub::fork_root_finished(FiberBase* f) noexcept {
  int status = 0;
  if (f->error_ && !f->killed_) {
    status = 1;
    const char* name = name_of(f);
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(f->error_);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    f->error_observed_ = true;
    std::fprintf(stderr, "greenev: fiber '%s%s' (the fork child's only fiber) died with an unhandled exception: %s\n",
                 name ? name : "fiber-", name ? "" : std::to_string(f->id_).c_str(), what.c_str());
  }
  std::fflush(nullptr);
  std::exit(status);
}

}  // namespace greenev::detail
