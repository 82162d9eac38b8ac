// greenev/errors.hpp — the exceptions greenev raises.
//
// FiberExit deliberately does not derive from std::exception: `catch (const std::exception&)` in
// user code must not swallow a kill, so RAII unwinds the fiber to its top where greenev catches it.
#pragma once
#include <greenev/detail/config.hpp>

#include <stdexcept>

namespace greenev {

class Timeout;

// Raised inside a fiber at the suspension point where kill() reaches it. Rethrow it if caught.
struct FiberExit {};

// join()/get() on a fiber that was killed instead of finishing.
class GREENEV_API FiberKilled : public std::runtime_error {
 public:
  FiberKilled() : std::runtime_error("greenev: fiber was killed") {}
};

// The current fiber would wait forever: nothing is ready and no watcher can wake it (gevent's
// LoopExit), e.g. main joins a fiber that waits on an Event nobody will set.
class GREENEV_API LoopExit : public std::runtime_error {
 public:
  LoopExit() : std::runtime_error("greenev: this operation would block forever") {}
};

// A greenev::Timeout scope expired while the fiber was suspended.
class GREENEV_API TimeoutError : public std::runtime_error {
 public:
  explicit TimeoutError(const Timeout* scope)
      : std::runtime_error("greenev: timeout expired"), scope_(scope) {}
  // True when `t` is the scope that expired (nested scopes: the earliest deadline wins).
  bool is(const Timeout& t) const noexcept { return scope_ == &t; }
  // The scope that expired (for the runtime's own bookkeeping; compare with is()).
  const Timeout* scope() const noexcept { return scope_; }

 private:
  const Timeout* scope_;
};

}  // namespace greenev
