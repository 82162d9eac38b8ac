// greenev/signal.hpp — POSIX signals delivered to fibers (gevent.signal_handler).
//
// The handler runs as a fresh fiber on the hub that registered it, never in signal context, so it
// may block, allocate and take locks. The watcher does not keep the loop alive on its own (as in
// gevent): a program that only waits for a signal must wait on something (an Event, a sleep).
// One registration per signal number per process (libev's rule); destroying the handle restores it.
#pragma once
#include <greenev/detail/config.hpp>

#include <functional>
#include <memory>

namespace greenev {

class GREENEV_API SignalHandler {
 public:
  SignalHandler(int signo, std::function<void()> fn);
  ~SignalHandler();
  SignalHandler(SignalHandler&&) noexcept;
  SignalHandler& operator=(SignalHandler&&) noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace greenev
