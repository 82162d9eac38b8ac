// runtime/core/timeout.cpp — Timeout scopes: a per-fiber stack of deadlines consulted by park().
//
// Scopes cost nothing until the fiber parks: park() takes min(own deadline, earliest unfired
// scope) and arms one timer for it. A scope fires once; later suspensions inside it are unbounded
// by it, as with gevent.Timeout.
#include "core/scope.hpp"

#include <greenev/timeout.hpp>

#include <cassert>

namespace greenev {

Timeout::Timeout(detail::Deadline d, int) {
  deadline = d;
  fiber = detail::current_fiber();
  fiber->add_ref();  // a Timeout that outlives its fiber must not write into a freed control block
  owner = this;
  outer = fiber->scopes_;
  fiber->scopes_ = this;
}

Timeout::~Timeout() {
  if (!fiber->done()) {
    assert(fiber->scopes_ == this && "greenev: Timeout scopes must end in reverse order, on their fiber");
    // Release builds: unlink wherever it sits rather than corrupt the chain.
    for (detail::TimeoutScope** p = &fiber->scopes_; *p; p = &(*p)->outer) {
      if (*p == this) {
        *p = outer;
        break;
      }
    }
  }
  fiber->release();
}

bool Timeout::expired() const noexcept { return fired || deadline <= detail::now_ns(); }

}  // namespace greenev

namespace greenev::detail {

void rearm_timeout(const Timeout* t) noexcept {
  if (t) const_cast<Timeout*>(t)->fired = false;
}

Deadline scope_deadline(const FiberBase* f) noexcept {
  Deadline d = kForever;
  for (const TimeoutScope* s = f->scopes_; s; s = s->outer)
    if (!s->fired && s->deadline < d) d = s->deadline;
  return d;
}

void raise_scope_timeout(FiberBase* f) {
  TimeoutScope* earliest = nullptr;
  for (TimeoutScope* s = f->scopes_; s; s = s->outer)
    if (!s->fired && (!earliest || s->deadline <= earliest->deadline)) earliest = s;  // ties: outermost
  assert(earliest && "greenev: scope timeout without a scope");
  earliest->fired = true;
  throw TimeoutError(earliest->owner);
}

}  // namespace greenev::detail
