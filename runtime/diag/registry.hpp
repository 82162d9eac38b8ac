// runtime/diag/registry.hpp — the process-wide list of hubs, for the monitor, dumps and metrics.
//
// A hub registers when its thread creates it and leaves in its destructor, both under the registry
// mutex, so whoever holds the mutex may read any registered hub's diagnostics fields (atomics) and
// post to its inbox, but never touch its non-atomic state: that belongs to the hub's thread.
// After fork() only the forking thread's hub survives in the child; the others' threads are gone,
// so the child handler drops their entries (their memory stays: it may be in use by nothing).
// Rejected: walking thread-local hubs through a TLS iterator (none is portable or signal-safe).
#pragma once
#include <greenev/hub.hpp>

#include <mutex>
#include <vector>

namespace greenev::detail {

class Hub;

struct HubEntry {
  Hub* hub;
  HubHandle handle;  // for posting work (a dump) to it from another thread
};

// Runs fn(const HubEntry&) for every registered hub, holding the registry mutex.
void for_each_hub(const std::function<void(const HubEntry&)>& fn);

}  // namespace greenev::detail
