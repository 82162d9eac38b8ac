// runtime/core/fiber_local.cpp — FiberLocal slots: a vector per fiber indexed by a process-wide key.
//
// Keys are never reused, so a stale slot can never be read through a new FiberLocal. Values are
// destroyed when their fiber finishes (hub.cpp: finish), before joiners wake, as pthread keys are:
// each slot is emptied before its destructor runs, so a destructor that touches another
// FiberLocal (or its own) gets a live value — a fresh one if that slot was already destroyed —
// and slots created during teardown are destroyed by further passes (at most kPasses, like
// PTHREAD_DESTRUCTOR_ITERATIONS). Indices, not iterators: a destructor may grow the vector.
#include "core/hub.hpp"

#include <greenev/fiber_local.hpp>

#include <atomic>

namespace greenev::detail {

static std::atomic<std::size_t> g_next_key{0};

std::size_t fls_new_key() noexcept { return g_next_key.fetch_add(1, std::memory_order_relaxed); }

void fls_destroy_all(FiberExtras& x) noexcept {
  constexpr int kPasses = 4;
  for (int pass = 0; pass < kPasses; ++pass) {
    bool any = false;
    for (std::size_t i = 0; i < x.fls.size(); ++i) {
      auto [p, destroy] = x.fls[i];
      if (!p) continue;
      x.fls[i] = {nullptr, nullptr};
      any = true;
      destroy(p);
    }
    if (!any) break;
  }
  x.fls.clear();  // what a destructor re-created on the last pass is leaked, as pthread does
}

void* fls_get(std::size_t key, void* (*make)(), void (*destroy)(void*)) {
  FiberBase* f = current_fiber();
  if (!f->extras_) f->extras_ = std::make_unique<FiberExtras>();
  auto& slots = f->extras_->fls;
  if (slots.size() <= key) slots.resize(key + 1, {nullptr, nullptr});
  auto& slot = slots[key];
  if (!slot.first) slot = {make(), destroy};
  return slot.first;
}

}  // namespace greenev::detail
