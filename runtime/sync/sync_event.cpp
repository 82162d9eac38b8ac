// runtime/sync/sync_event.cpp — Event and the non-template half of AsyncResult.
//
// Cross-thread set: the setter publishes the flag / result with a release store, then posts a
// wake-up to the owning hub, which wakes the waiters on its own thread (WaitLists are never
// touched off their hub's thread). A waiter checks the flag before parking; both the check and
// the posted wake-up run on the hub thread, so the wake-up cannot fall between them.
// The posted closure holds a shared reference, so the primitive may be destroyed (on its thread)
// while a wake-up is in flight: an Event's closure finds `ev == nullptr` and does nothing.
#include <greenev/event.hpp>

#include <stdexcept>

namespace greenev {

// Reached from other threads through a shared_ptr; `ev` is read and cleared on the hub thread only.
struct Event::Remote {
  detail::HubAffinity affinity;
  Event* ev = nullptr;
};

Event::Event(cross_thread_t) : remote_(std::make_shared<Remote>()) { remote_->ev = this; }

Event::~Event() {
  if (remote_) remote_->ev = nullptr;
}

void Event::set_any() {
  if (remote_ && !remote_->affinity.here()) {
    // Copy what the wake-up needs *before* publishing: once the flag is visible the owner may
    // see it (is_set(), a wait that returns at once), leave the scope and destroy the Event, so
    // nothing of *this may be touched after the store.
    std::shared_ptr<Remote> r = remote_;
    flag_.store(true, std::memory_order_release);
    if (detail::sync_test_hooks.after_publish) detail::sync_test_hooks.after_publish();
    r->affinity.post([r] {
      if (r->ev) r->ev->wake_all();
    });
    return;
  }
  flag_.store(true, std::memory_order_release);
  wake_all();
}

void Event::wake_all() noexcept { waiters_.notify_all(); }

bool Event::wait_until_ns(detail::Deadline d) {
  if (is_set()) return true;
  if (remote_) {
    detail::LoopRef keep;  // the set may come from another thread
    return detail::wait_on(waiters_, "event_wait", d);
  }
  return detail::wait_on(waiters_, "event_wait", d);
}

namespace detail {

SyncTestHooks sync_test_hooks;

ResultCore::ResultCore(cross_thread_t) : affinity_(std::make_unique<HubAffinity>()) {}

ResultCore::~ResultCore() = default;

void ResultCore::claim() {
  std::uint8_t expect = kEmpty;
  if (!state_.compare_exchange_strong(expect, kSetting, std::memory_order_acquire))
    throw std::logic_error("greenev: AsyncResult already set");
}

void ResultCore::publish(const std::shared_ptr<ResultCore>& self) {
  // `self` may be a reference into the owner's AsyncResult (a setter that captured it by
  // reference): take our own reference before the store makes the result visible.
  std::shared_ptr<ResultCore> keep = self;
  if (keep->affinity_ && !keep->affinity_->here()) {
    keep->state_.store(kReady, std::memory_order_release);
    if (sync_test_hooks.after_publish) sync_test_hooks.after_publish();
    keep->affinity_->post([keep] { keep->waiters_.notify_all(); });
    return;
  }
  keep->state_.store(kReady, std::memory_order_release);
  keep->waiters_.notify_all();
}

bool ResultCore::wait(Deadline d) {
  if (ready()) return true;
  if (affinity_) {
    LoopRef keep;
    wait_on(waiters_, "async_result", d);
  } else {
    wait_on(waiters_, "async_result", d);
  }
  return ready();
}

}  // namespace detail
}  // namespace greenev
