// runtime/core/context.hpp — the only code that touches Boost.Context.
//
// A switch is one jump_fcontext(): the jumping fiber passes itself as the transfer data and the
// resumed side stores the jumper's new context (after_switch). A fiber that finished passes itself
// the same way, and the resumed side retires it (returns its stack): a stack is never freed while
// the CPU is on it. Sanitizer annotations (ASan fake stacks, TSan fibers) live here and nowhere else.
#pragma once
#include <greenev/detail/fiber_base.hpp>

namespace greenev::detail {

class Hub;

// Switches from `self` (the running fiber) to `to`; returns when something switches back.
void context_switch(Hub& hub, FiberBase* self, FiberBase* to) noexcept;

// Final switch out of a finished fiber; never returns.
[[noreturn]] void context_exit(Hub& hub, FiberBase* self, FiberBase* to) noexcept;

// Sanitizer bookkeeping for fibers that never ran but are destroyed (TSan handle).
void context_destroy(FiberBase* f) noexcept;

}  // namespace greenev::detail
