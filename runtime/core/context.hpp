// runtime/core/context.hpp — the only code that touches Boost.Context.
//
// A switch is one jump_fcontext(): the jumping fiber passes itself as the transfer data and the
// resumed side stores the jumper's new context (after_switch). A fiber that finished passes itself
// the same way, and the resumed side retires it (returns its stack): a stack is never freed while
// the CPU is on it. Sanitizer annotations (ASan fake stacks, TSan fibers) live here and nowhere else.
// The switch is inline (hub.cpp is its only hot caller): a call into another translation unit cost
// more than the rest of the bookkeeping (callgrind, README). First-run set-up stays out of line.
// LTO would get the same inlining without moving code; not adopted: not measured to pay beyond
// this (README), and it slows every build of the library.
#pragma once
#include <greenev/detail/fiber_base.hpp>

#include "core/held_locks.hpp"
#include "core/stack.hpp"

#include <boost/context/detail/fcontext.hpp>

#if defined(GREENEV_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(GREENEV_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace greenev::detail {

class Hub;

// Out of line (context.cpp): the first switch to a fiber maps its stack and makes its context.
void context_prepare(Hub& hub, FiberBase* to) noexcept;
// Out of line: the resumed side's handling of a fiber that switched away finished.
void context_retire(FiberBase* from) noexcept;
// Out of line: the stack-capture resume loop of runtime/diag; returns when self is really resumed.
void context_capture(FiberBase* self) noexcept;
#if defined(GREENEV_TSAN)
void* context_tsan_handle(FiberBase* f) noexcept;
#endif

namespace ctx_detail {
namespace bctx = boost::context::detail;

// Runs on the resumed side of every switch.
inline void after_switch(bctx::transfer_t t, [[maybe_unused]] void* fake_stack) noexcept {
  auto* from = static_cast<FiberBase*>(t.data);
#if defined(GREENEV_ASAN)
  const void* bottom = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(fake_stack, &bottom, &size);
  if (from->stack_.kind == StackKind::main && from->stack_.limit == nullptr) {
    from->stack_.limit = const_cast<void*>(bottom);
    from->stack_.size = size;
  }
#endif
  from->ctx_ = t.fctx;
  if (from->state_ == FiberState::done) [[unlikely]]
    context_retire(from);
}

inline void before_switch([[maybe_unused]] FiberBase* to, [[maybe_unused]] void** fake_stack) noexcept {
#if defined(GREENEV_ASAN)
  __sanitizer_start_switch_fiber(fake_stack, to->stack_.limit, to->stack_.size);
#endif
#if defined(GREENEV_TSAN)
  __tsan_switch_to_fiber(context_tsan_handle(to), 0);
#endif
}

}  // namespace ctx_detail

// Switches from `self` (the running fiber) to `to`; returns when something switches back.
inline void context_switch(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
  if (slab_stacks_used() && !stack_canary_ok(self->stack_)) [[unlikely]]  // one hot load until slabs exist
    stack_overflow_abort(self);
  if (to->ctx_ == nullptr) [[unlikely]]
    context_prepare(hub, to);
#if defined(GREENEV_TSAN)
  context_tsan_handle(self);
#endif
  const int held = t_held_locks;  // this fiber's count waits on its own stack (held_locks.hpp)
  void* fake = nullptr;
  ctx_detail::before_switch(to, &fake);
  ctx_detail::after_switch(ctx_detail::bctx::jump_fcontext(to->ctx_, self), fake);
  // A fiber dump resumed us only to record this stack (runtime/diag/stack_capture.cpp).
  if (self->capture_stack_) [[unlikely]]
    context_capture(self);
  t_held_locks = held;
}

// Final switch out of a finished fiber; never returns.
[[noreturn]] void context_exit(Hub& hub, FiberBase* self, FiberBase* to) noexcept;

// Sanitizer bookkeeping for a fiber being retired or destroyed (TSan handle); trivial otherwise.
#if defined(GREENEV_TSAN)
void context_destroy(FiberBase* f) noexcept;
#else
inline void context_destroy(FiberBase* f) noexcept { f->san_ = nullptr; }
#endif

}  // namespace greenev::detail
