// runtime/core/hub_signal.cpp — SignalHandler: an ev_signal watcher whose callback spawns a fiber.
//
// libev catches the signal (self-pipe/signalfd) and calls us from the loop, outside signal
// context; we only spawn, so the user's handler runs as an ordinary fiber. The watcher is unref'd:
// it does not keep the loop alive by itself (gevent's signal_handler does the same).
#include "core/hub.hpp"

#include <greenev/fiber.hpp>
#include <greenev/signal.hpp>

#include <ev.h>

#include <cassert>

namespace greenev {

struct SignalHandler::Impl {
  ev_signal watcher;
  detail::Hub* hub;
  std::function<void()> fn;

  static void on_signal(struct ev_loop*, ev_signal* w, int) noexcept {
    auto* self = static_cast<Impl*>(w->data);
    auto f = spawn(SpawnOptions{"signal-" + std::to_string(w->signum)}, self->fn);
    f.detach();
  }
};

SignalHandler::SignalHandler(int signo, std::function<void()> fn) : impl_(std::make_unique<Impl>()) {
  impl_->hub = &detail::Hub::current();
  impl_->fn = std::move(fn);
  ev_signal_init(&impl_->watcher, &Impl::on_signal, signo);
  impl_->watcher.data = impl_.get();
  ++detail::t_internal_sigaction;  // delivered as a fiber, never as an EINTR (patches/signal.cpp)
  ev_signal_start(impl_->hub->loop(), &impl_->watcher);
  --detail::t_internal_sigaction;
  ev_unref(impl_->hub->loop());
  impl_->hub->watcher_started();
}

SignalHandler::~SignalHandler() {
  if (!impl_) return;
  assert(impl_->hub == detail::Hub::current_or_null() && "greenev: SignalHandler destroyed on another thread");
  ev_ref(impl_->hub->loop());
  ev_signal_stop(impl_->hub->loop(), &impl_->watcher);
  impl_->hub->watcher_stopped();
}

SignalHandler::SignalHandler(SignalHandler&&) noexcept = default;
SignalHandler& SignalHandler::operator=(SignalHandler&& o) noexcept {
  SignalHandler tmp(std::move(*this));
  impl_ = std::move(o.impl_);
  return *this;
}

}  // namespace greenev
