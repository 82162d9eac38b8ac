// runtime/core/hub_signal.cpp — SignalHandler: an ev_signal watcher whose callback spawns a fiber.
//
// libev catches the signal (self-pipe/signalfd) and calls us from the loop, outside signal
// context; we only spawn, so the user's handler runs as an ordinary fiber. The watcher is unref'd:
// it does not keep the loop alive by itself (gevent's signal_handler does the same).
// A SignalHandler may outlive its hub (a static one: the main thread's hub, a thread_local, goes
// before static destructors run): the hub stops the watcher when it is destroyed and detaches
// the handler (hub = null), whose destructor then has nothing left to do.
#include "core/hub.hpp"

#include <greenev/fiber.hpp>
#include <greenev/signal.hpp>

#include <ev.h>

#include <cassert>
#include <cstdio>

namespace greenev {

struct SignalHandler::Impl {
  ev_signal watcher;
  detail::Hub* hub;
  std::function<void()> fn;

  static void on_signal(struct ev_loop* loop, ev_signal* w, int) noexcept {
    auto* self = static_cast<Impl*>(w->data);
    try {
      auto f = spawn(SpawnOptions{"signal-" + std::to_string(w->signum)}, self->fn);
      f.detach();
    } catch (const std::exception& e) {
      // Out of memory for the handler's fiber: the signal is not lost, it is fed again and the
      // next loop iteration retries (other fibers run meanwhile and may free memory).
      std::fprintf(stderr, "greenev: cannot start the handler for signal %d (%s); retrying\n", w->signum, e.what());
      ev_feed_signal_event(loop, w->signum);
    }
  }

  void stop() noexcept {
    ev_ref(hub->loop());  // libev: re-ref an unref'd watcher before stopping it
    ev_signal_stop(hub->loop(), &watcher);
    hub->watcher_stopped();
    hub = nullptr;
  }
  static void on_hub_destroyed(void* p) noexcept { static_cast<Impl*>(p)->stop(); }
};

SignalHandler::SignalHandler(int signo, std::function<void()> fn) : impl_(std::make_unique<Impl>()) {
  impl_->hub = &detail::Hub::current();
  impl_->fn = std::move(fn);
  ev_signal_init(&impl_->watcher, &Impl::on_signal, signo);
  impl_->watcher.data = impl_.get();
  impl_->hub->at_destroy(impl_.get(), &Impl::on_hub_destroyed);
  ev_signal_start(impl_->hub->loop(), &impl_->watcher);
  ev_unref(impl_->hub->loop());
  impl_->hub->watcher_started();
}

SignalHandler::~SignalHandler() {
  if (!impl_ || !impl_->hub) return;  // moved from, or its hub is gone (it stopped the watcher)
  assert(impl_->hub == detail::Hub::current_or_null() && "greenev: SignalHandler destroyed on another thread");
  impl_->hub->cancel_at_destroy(impl_.get());
  impl_->stop();
}

SignalHandler::SignalHandler(SignalHandler&&) noexcept = default;
SignalHandler& SignalHandler::operator=(SignalHandler&& o) noexcept {
  SignalHandler tmp(std::move(*this));
  impl_ = std::move(o.impl_);
  return *this;
}

}  // namespace greenev
