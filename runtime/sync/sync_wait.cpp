// runtime/sync/sync_wait.cpp — the multi-object wait behind wait_any / wait_all.
//
// One Waiter per not-yet-ready object is linked on that object's own WaitList, all naming the
// calling fiber, which parks with no `waiting_on_` (so a wake-up unlinks only the waiter that
// fired). Only broadcast lists are eligible (fiber joiners, Event, AsyncResult: notify_all, no
// payload hand-off), so a waiter unlinked by a notify while the fiber is already ready costs
// nothing and loses nothing. Waiter::payload marks a waiter's state (below); every still-linked
// waiter is unlinked on the way out, exceptions included. Queues (WaitItem::level) wait on their
// broadcast watch list, but their readiness can be withdrawn before we run (another fiber took
// the item): a fired level waiter is re-tested and, if no longer ready, linked again.
#include <greenev/wait.hpp>

#include <optional>

namespace greenev::detail {

namespace {
// Waiter::payload values.
void* const kIdle = nullptr;                        // not linked
void* const kLinked = reinterpret_cast<void*>(1);   // linked by us
void* const kFired = reinterpret_cast<void*>(2);    // unlinked by the object's notify: it fired

struct UnlinkAll {
  Waiter* ws;
  std::size_t n;
  ~UnlinkAll() {
    for (std::size_t i = 0; i < n; ++i)
      if (ws[i].list) ws[i].list->unlink(ws[i]);
  }
};
}  // namespace

WaitOutcome wait_some(WaitItem* items, Waiter* ws, std::size_t n, std::size_t need, Deadline d,
                      bool raise_error, const char* reason) {
  UnlinkAll guard{ws, n};
  std::optional<LoopRef> keep;
  FiberBase* self = nullptr;
  bool expired = false;
  for (;;) {
    WaitOutcome o;
    for (std::size_t i = 0; i < n; ++i) {
      if (ws[i].payload == kLinked && ws[i].list == nullptr) ws[i].payload = kFired;
      if (ws[i].payload == kFired && items[i].level) ws[i].payload = kIdle;  // re-test, re-link
      if (ws[i].payload == kFired || items[i].ready(items[i].obj)) {
        if (raise_error)
          if (std::exception_ptr e = items[i].error(items[i].obj)) std::rethrow_exception(e);
        ++o.ready;
        if (o.first == static_cast<std::size_t>(-1)) o.first = i;
      }
    }
    if (o.ready >= need || expired) return o;
    if (!self) {
      self = current_fiber();
      for (std::size_t i = 0; i < n; ++i)
        if (items[i].cross && !keep) keep.emplace();
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (ws[i].payload != kIdle || items[i].ready(items[i].obj)) continue;
      ws[i].fiber = self;
      ws[i].payload = kLinked;
      items[i].list->push_back(ws[i]);
    }
    const WakeReason r = park(reason, d);
    if (r == WakeReason::timed_out) expired = true;  // one last count, then return
    else if (r != WakeReason::woken) raise_for(r);
  }
}

}  // namespace greenev::detail
