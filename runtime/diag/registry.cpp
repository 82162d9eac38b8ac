// runtime/diag/registry.cpp — hubs register here (see registry.hpp for the locking rule).
#include "diag/registry.hpp"

#include "core/hub.hpp"

#include <algorithm>
#include <pthread.h>
#include <unistd.h>

namespace greenev::detail {

namespace {

// Leaked on purpose: hubs of other threads may unregister during static destruction.
std::mutex& registry_mu() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::vector<HubEntry>& registry() {
  static auto* v = new std::vector<HubEntry>;
  return *v;
}

void atfork_prepare() noexcept { registry_mu().lock(); }
void atfork_parent() noexcept { registry_mu().unlock(); }
void atfork_child() noexcept {
  Hub* mine = Hub::current_or_null();
  auto& v = registry();
  std::erase_if(v, [&](const HubEntry& e) { return e.hub != mine; });
  if (mine) {
    mine->diag().tid = gettid();
    mine->diag().thread = pthread_self();
  }
  registry_mu().unlock();
}

}  // namespace

void diag_hub_created(Hub* h) noexcept {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(&atfork_prepare, &atfork_parent, &atfork_child); });
  HubDiag& d = h->diag();
  d.created = now_ns();
  d.loop_stamp.store(d.created, std::memory_order_relaxed);
  d.tid = gettid();
  d.thread = pthread_self();
  diag_configure_from_env();  // once; also keeps diagnostics.cpp in static links
  try {
    std::lock_guard lk(registry_mu());
    registry().push_back({h, HubHandle::current()});
  } catch (...) {
    // Out of memory: this hub goes unmonitored rather than failing its thread.
  }
}

void diag_hub_destroyed(Hub* h) noexcept {
  std::lock_guard lk(registry_mu());
  std::erase_if(registry(), [&](const HubEntry& e) { return e.hub == h; });
}

void for_each_hub(const std::function<void(const HubEntry&)>& fn) {
  std::lock_guard lk(registry_mu());
  for (const HubEntry& e : registry()) fn(e);
}

}  // namespace greenev::detail
