// runtime/sync/sync_common.cpp — what the coordination primitives need from the hub, kept out of the
// headers: which hub owns a cross-thread primitive, and how another thread reaches it.
#include "core/hub.hpp"

#include <greenev/detail/sync_common.hpp>

namespace greenev::detail {

HubAffinity::HubAffinity() : hub_(&Hub::current()), handle_(HubHandle::current()) {}

bool HubAffinity::here() const noexcept { return Hub::current_or_null() == hub_; }

bool HubAffinity::post(std::function<void()> fn) const { return handle_.post(std::move(fn)); }

}  // namespace greenev::detail
