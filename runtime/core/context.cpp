// runtime/core/context.cpp — stack switching on Boost.Context's fcontext, with sanitizer annotations.
//
// Debian's Boost.Context is the fcontext (assembly) build, which does not annotate switches for
// ASan/TSan itself; we do it around every jump. See context.hpp for the transfer protocol.
#include "core/context.hpp"

#include "core/held_locks.hpp"
#include "core/hub.hpp"
#include "core/stack.hpp"

#include <boost/context/detail/fcontext.hpp>

#if defined(GREENEV_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(GREENEV_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace greenev::detail {
namespace bctx = boost::context::detail;

namespace {

#if defined(GREENEV_TSAN)
void* tsan_handle(FiberBase* f) {
  if (!f->san_) f->san_ = f->stack_.kind == StackKind::main ? __tsan_get_current_fiber() : __tsan_create_fiber(0);
  return f->san_;
}
#endif

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
  if (from->state_ == FiberState::done) from->hub_->retire(from);
}

[[noreturn]] void fiber_entry(bctx::transfer_t t) noexcept {
  after_switch(t, nullptr);
  t_held_locks = 0;  // a new fiber holds no thread-level lock (held_locks.hpp)
  Hub* hub = Hub::current_or_null();
  hub->run_current();  // never returns
}

inline void before_switch([[maybe_unused]] FiberBase* to, [[maybe_unused]] void** fake_stack) noexcept {
#if defined(GREENEV_ASAN)
  __sanitizer_start_switch_fiber(fake_stack, to->stack_.limit, to->stack_.size);
#endif
#if defined(GREENEV_TSAN)
  __tsan_switch_to_fiber(tsan_handle(to), 0);
#endif
}

inline void prepare(Hub& hub, FiberBase* to) {
  if (to->ctx_ == nullptr) {
    if (to->stack_.kind == StackKind::none) to->stack_ = stack_acquire_or_die(hub.stacks(), to);
    char* top = static_cast<char*>(to->stack_.limit) + to->stack_.size;
    to->ctx_ = bctx::make_fcontext(top, to->stack_.size, &fiber_entry);
  }
}

}  // namespace

void context_switch(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
  if (!stack_canary_ok(self->stack_)) stack_overflow_abort(self);
  prepare(hub, to);
#if defined(GREENEV_TSAN)
  tsan_handle(self);
#endif
  const int held = t_held_locks;  // this fiber's count waits on its own stack (held_locks.hpp)
  for (;;) {
    void* fake = nullptr;
    before_switch(to, &fake);
    bctx::transfer_t t = bctx::jump_fcontext(to->ctx_, self);
    after_switch(t, fake);
    // A fiber dump resumed us only to record this stack (runtime/diag/stack_capture.cpp): record
    // it here, in our own context, and switch straight back without being woken.
    if (!self->capture_stack_) [[likely]]
      break;
    self->capture_stack_ = false;
    to = diag_capture_resumed(self);
    if (!stack_canary_ok(self->stack_)) stack_overflow_abort(self);
  }
  t_held_locks = held;
}

void context_exit(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
  if (!stack_canary_ok(self->stack_)) stack_overflow_abort(self);
  prepare(hub, to);
  before_switch(to, nullptr);  // nullptr: this stack's fake frames die with it
  bctx::jump_fcontext(to->ctx_, self);
  __builtin_unreachable();
}

void context_destroy([[maybe_unused]] FiberBase* f) noexcept {
#if defined(GREENEV_TSAN)
  if (f->san_ && f->stack_.kind != StackKind::main) __tsan_destroy_fiber(f->san_);
#endif
  f->san_ = nullptr;
}

}  // namespace greenev::detail
