// runtime/core/context.hpp — the context switch: the only code that changes stacks.
//
// A switch is one call of greenev_ctx_switch (context.cpp, x86-64 assembly; other architectures
// use Boost.Context's jump_fcontext behind the same function, see there): it pushes the
// callee-saved registers, MXCSR and the x87 control word, stores the stack pointer in the
// jumping fiber's ctx_, loads the resumed fiber's and returns there, handing it the jumper. The
// resumed side retires the jumper if it had finished: a stack is never freed while the CPU is on
// it. Sanitizer annotations (ASan fake stacks, TSan fibers) live here and nowhere else.
// Why not Boost.Context's jump_fcontext (used until issue 13): it ends in an indirect jump, so
// the return-stack predictor is one entry off after every switch and the next `ret` mispredicts
// (~4 ns per switch measured, README). Here the resumed side returns through its own call of the
// switch: fibers suspend at the same few call sites, so the prediction holds.
// A fiber's first run is different (greenev_ctx_start, below): it is entered by a call and left
// by the return of that call, so a fiber that finishes without switching keeps the predictor right.
// The switch is inline (hub.cpp is its only hot caller); the first run stays out of line.
// LTO not adopted: not measured to pay beyond this, and it slows every build of the library.
#pragma once
#include <greenev/detail/fiber_base.hpp>

// greenev's own switch on x86-64; Boost.Context's jump_fcontext elsewhere, or when the build asks
// for it (-DGREENEV_BOOST_SWITCH=ON defines GREENEV_BOOST_SWITCH).
#if defined(__x86_64__) && !defined(GREENEV_BOOST_SWITCH)
#define GREENEV_OWN_SWITCH 1
#else
#define GREENEV_OWN_SWITCH 0
#endif

#include "core/held_locks.hpp"
#include "core/stack.hpp"

#if defined(GREENEV_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(GREENEV_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace greenev::detail {

class Hub;

// Out of line: the resumed side's handling of a fiber that switched away finished.
void context_retire(FiberBase* from) noexcept;
// Out of line: the stack-capture resume loop of runtime/diag; returns when self is really resumed.
void context_capture(FiberBase* self) noexcept;
#if defined(GREENEV_TSAN)
void* context_tsan_handle(FiberBase* f) noexcept;
#endif

}  // namespace greenev::detail

// Saves the current context at *save, resumes `to` (a stack pointer stored by an earlier switch
// or made by context_prepare) and returns there `from`; returns here when switched back to.
extern "C" __attribute__((visibility("hidden"))) greenev::detail::FiberBase* greenev_ctx_switch(
    void** save, void* to, greenev::detail::FiberBase* from) noexcept;

#if GREENEV_OWN_SWITCH
// The first switch to a fiber: saves the current context at *save as greenev_ctx_switch does,
// then *calls* the fiber's body on the fresh stack `top` (greenev_fiber_main, context.cpp), and
// when the body returns (the fiber finished) resumes the context it names. Entering by a call and
// leaving by the `ret` of the context that started it keeps the CPU's return-stack predictor
// right for a fiber that runs to completion without switching (spawn + join): entering through a
// made-up frame and leaving through a call of the switch mispredicted both returns.
extern "C" __attribute__((visibility("hidden"))) greenev::detail::FiberBase* greenev_ctx_start(
    void** save, void* top, greenev::detail::FiberBase* from) noexcept;
#endif

namespace greenev::detail {
namespace ctx_detail {

// Runs on the resumed side of every switch.
inline void after_switch(FiberBase* from, [[maybe_unused]] void* fake_stack) noexcept {
#if defined(GREENEV_ASAN)
  const void* bottom = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(fake_stack, &bottom, &size);
  if (from->stack_.kind == StackKind::main && from->stack_.limit == nullptr) {
    from->stack_.limit = const_cast<void*>(bottom);
    from->stack_.size = size;
  }
#endif
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

namespace ctx_detail {
// A switch's body around the jump itself (greenev_ctx_switch, or greenev_ctx_start for a fiber's
// first run): the sanitizers, the thread-level lock count, a dump's stack capture.
template <class Jump>
__attribute__((always_inline)) inline void switch_with(FiberBase* self, FiberBase* to, Jump jump) noexcept {
#if defined(GREENEV_TSAN)
  context_tsan_handle(self);
#endif
  const int held = t_held_locks;  // this fiber's count waits on its own stack (held_locks.hpp)
  void* fake = nullptr;
  before_switch(to, &fake);
  after_switch(jump(), fake);
  // A fiber dump resumed us only to record this stack (runtime/diag/stack_capture.cpp).
  if (self->capture_stack_) [[unlikely]]
    context_capture(self);
  t_held_locks = held;
}
}  // namespace ctx_detail

// Out of line (context.cpp): a switch to a fiber that never ran (its stack, then the start).
void context_start(Hub& hub, FiberBase* self, FiberBase* to) noexcept;

// Switches from `self` (the running fiber) to `to`; returns when something switches back.
inline void context_switch(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
  if (slab_stacks_used() && !stack_canary_ok(self->stack_)) [[unlikely]]  // one hot load until slabs exist
    stack_overflow_abort(self);
  if (to->ctx_ == nullptr) [[unlikely]]
    return context_start(hub, self, to);
  ctx_detail::switch_with(self, to, [&] { return greenev_ctx_switch(&self->ctx_, to->ctx_, self); });
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
