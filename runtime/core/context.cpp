// runtime/core/context.cpp — the cold parts of the switch: first-run set-up, retiring a finished
// fiber, the stack-capture loop, the final switch out of a fiber, sanitizer handles.
//
// Debian's Boost.Context is the fcontext (assembly) build, which does not annotate switches for
// ASan/TSan itself; context.hpp does it around every jump. See context.hpp for the protocol.
#include "core/context.hpp"

#include "core/hub.hpp"

namespace greenev::detail {
namespace bctx = boost::context::detail;

#if defined(GREENEV_TSAN)
void* context_tsan_handle(FiberBase* f) noexcept {
  if (!f->san_) f->san_ = f->stack_.kind == StackKind::main ? __tsan_get_current_fiber() : __tsan_create_fiber(0);
  return f->san_;
}
#endif

namespace {

[[noreturn]] void fiber_entry(bctx::transfer_t t) noexcept {
  ctx_detail::after_switch(t, nullptr);
  t_held_locks = 0;  // a new fiber holds no thread-level lock (held_locks.hpp)
  Hub* hub = Hub::current_or_null();
  hub->run_current();  // never returns
}

}  // namespace

void context_prepare(Hub& hub, FiberBase* to) noexcept {
  if (to->stack_.kind == StackKind::none) to->stack_ = stack_acquire_or_die(hub.stacks(), to);
  char* top = static_cast<char*>(to->stack_.limit) + to->stack_.size;
  to->ctx_ = bctx::make_fcontext(top, to->stack_.size, &fiber_entry);
}

void context_retire(FiberBase* from) noexcept { from->hub_->retire(from); }

// A fiber dump resumed us only to record this stack (runtime/diag/stack_capture.cpp): record it
// here, in our own context, and switch straight back without being woken, until really resumed.
void context_capture(FiberBase* self) noexcept {
  do {
    self->capture_stack_ = false;
    FiberBase* to = diag_capture_resumed(self);
    if (!stack_canary_ok(self->stack_)) stack_overflow_abort(self);
    void* fake = nullptr;
    ctx_detail::before_switch(to, &fake);
    ctx_detail::after_switch(bctx::jump_fcontext(to->ctx_, self), fake);
  } while (self->capture_stack_);
}

void context_exit(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
  if (!stack_canary_ok(self->stack_)) stack_overflow_abort(self);
  if (to->ctx_ == nullptr) context_prepare(hub, to);
  ctx_detail::before_switch(to, nullptr);  // nullptr: this stack's fake frames die with it
  bctx::jump_fcontext(to->ctx_, self);
  __builtin_unreachable();
}

#if defined(GREENEV_TSAN)
void context_destroy(FiberBase* f) noexcept {
  if (f->san_ && f->stack_.kind != StackKind::main) __tsan_destroy_fiber(f->san_);
  f->san_ = nullptr;
}
#endif

}  // namespace greenev::detail
