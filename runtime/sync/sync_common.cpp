// runtime/sync/sync_common.cpp — what the coordination primitives need from the hub, kept out of the
// headers: which hub owns a cross-thread primitive, and how another thread reaches it.
#include "core/hub.hpp"

#include <greenev/detail/sync_common.hpp>
#include <greenev/timeout.hpp>

#include <iterator>

namespace greenev::detail {

HubAffinity::HubAffinity() : hub_(&Hub::current()), handle_(HubHandle::current()) {}

bool HubAffinity::here() const noexcept { return Hub::current_or_null() == hub_; }

void PendingRaise::add(WakeReason r) {
  switch (r) {
    case WakeReason::woken:
    case WakeReason::timed_out:
      return;
    case WakeReason::killed:
      current_fiber()->kill_pending_ = false;  // delivered by raise(); the re-lock must park
      killed_ = true;
      return;
    case WakeReason::scope_timeout:
      try {
        raise_for(r);  // marks the expired scope fired
      } catch (const TimeoutError& e) {
        add_timeout(e.scope());
      }
      return;
    case WakeReason::loop_exit:
      loop_exit_ = true;
      return;
  }
}

void PendingRaise::add_timeout(const Timeout* t) noexcept {
  if (!timeout_) {
    timeout_ = t;
  } else if (n_later_ < std::size(later_)) {
    later_[n_later_++] = t;
  }
}

void PendingRaise::rearm_deferred(bool include_first) noexcept {
  if (include_first) rearm_timeout(timeout_);
  for (std::size_t i = 0; i < n_later_; ++i) rearm_timeout(later_[i]);
  n_later_ = 0;
}

void PendingRaise::raise() {
  raised_ = true;
  rearm_deferred(killed_);  // a kill is raised: every Timeout waits for the next suspension
  if (killed_) raise_for(WakeReason::killed);  // FiberExit, or the kill(exception) type
  if (timeout_) throw TimeoutError(timeout_);
  throw LoopExit();
}

PendingRaise::~PendingRaise() {
  if (raised_) return;
  if (killed_) current_fiber()->kill_pending_ = true;
  rearm_deferred(true);
}

bool HubAffinity::post(std::function<void()> fn) const { return handle_.post(std::move(fn)); }

}  // namespace greenev::detail
