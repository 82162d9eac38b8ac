// runtime/core/context.cpp — the switch itself (x86-64 assembly; Boost.Context's jump_fcontext on
// other architectures or with -DGREENEV_BOOST_SWITCH=ON) and the cold parts around it:
// first-run set-up, retiring a finished fiber, the stack-capture loop, the final switch out of a
// fiber, sanitizer handles. See context.hpp for the protocol and why it is not Boost.Context's.
//
// Saved frame, from the stored stack pointer up: MXCSR (4 bytes) and the x87 control word
// (at +4), r15, r14, r13, r12, rbx, rbp, the return address. A fiber's first run is
// greenev_ctx_start: it saves that frame, then calls greenev_fiber_main(from) on the fresh stack
// and, when the fiber has finished, pops the frame of whatever that returns. The final switch of
// a finished fiber into one that never ran needs a made frame instead (context_prepare): it
// returns into greenev_ctx_entry, which calls greenev_fiber_start(from). The CFI of both entry
// routines marks the end of the stack for unwinders (fiber dumps). The switch has no CFI:
// nothing unwinds through it (the resumed side has returned from it before anything else runs).
#include "core/context.hpp"

#include "core/hub.hpp"

#include <cstdint>

extern "C" __attribute__((visibility("hidden"), noreturn)) void greenev_fiber_start(greenev::detail::FiberBase* from) noexcept;

#if GREENEV_OWN_SWITCH
extern "C" __attribute__((visibility("hidden"))) void greenev_ctx_entry() noexcept;

// What greenev_fiber_main returns to greenev_ctx_start: in rax the stack pointer to resume, in
// rdx the finished fiber (the resumed side's `from`).
struct GreenevResume {
  void* ctx;
  greenev::detail::FiberBase* from;
};
extern "C" __attribute__((visibility("hidden"))) GreenevResume greenev_fiber_main(greenev::detail::FiberBase* from) noexcept;

asm(R"(
  # The saved frame (file comment): pushed onto the current stack, its address stored at (%rdi).
  .macro GREENEV_SAVE_FRAME
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  .endm
  # Resumes the frame at \ctx: its registers back, then `ret` to its return address, handing the
  # resumed side \from in %rax.
  .macro GREENEV_RESUME_FRAME ctx, from
  movq \ctx, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  movq \from, %rax
  ret
  .endm

  .text
  .globl greenev_ctx_switch
  .hidden greenev_ctx_switch
  .type greenev_ctx_switch, @function
  .p2align 4
greenev_ctx_switch:
  GREENEV_SAVE_FRAME
  GREENEV_RESUME_FRAME %rsi, %rdx
  .size greenev_ctx_switch, .-greenev_ctx_switch

  .globl greenev_ctx_start
  .hidden greenev_ctx_start
  .type greenev_ctx_start, @function
  .p2align 4
greenev_ctx_start:
  .cfi_startproc
  .cfi_undefined rip
  GREENEV_SAVE_FRAME
  movq %rsi, %rsp
  movq %rdx, %rdi
  call greenev_fiber_main
  GREENEV_RESUME_FRAME %rax, %rdx
  .cfi_endproc
  .size greenev_ctx_start, .-greenev_ctx_start

  .globl greenev_ctx_entry
  .hidden greenev_ctx_entry
  .type greenev_ctx_entry, @function
  .p2align 4
greenev_ctx_entry:
  .cfi_startproc
  .cfi_undefined rip
  movq %rax, %rdi
  call greenev_fiber_start
  ud2
  .cfi_endproc
  .size greenev_ctx_entry, .-greenev_ctx_entry
)");
#else
// Other architectures (or -DGREENEV_BOOST_SWITCH=ON): Boost.Context's jump_fcontext behind the
// same interface. Its resumed side learns the jumper's context, so it stores it in the jumper's
// ctx_ — `save` is always &from->ctx_ (every caller passes its own fiber as both).
#include <boost/context/detail/fcontext.hpp>

namespace bctx = boost::context::detail;

extern "C" greenev::detail::FiberBase* greenev_ctx_switch(void**, void* to, greenev::detail::FiberBase* from) noexcept {
  const bctx::transfer_t t = bctx::jump_fcontext(to, from);
  auto* jumper = static_cast<greenev::detail::FiberBase*>(t.data);
  jumper->ctx_ = t.fctx;
  return jumper;
}

namespace {
[[noreturn]] void boost_entry(bctx::transfer_t t) noexcept {
  auto* from = static_cast<greenev::detail::FiberBase*>(t.data);
  from->ctx_ = t.fctx;
  greenev_fiber_start(from);
}
}  // namespace
#endif

namespace greenev::detail {

#if defined(GREENEV_TSAN)
void* context_tsan_handle(FiberBase* f) noexcept {
  if (!f->san_) f->san_ = f->stack_.kind == StackKind::main ? __tsan_get_current_fiber() : __tsan_create_fiber(0);
  return f->san_;
}
#endif

// A fiber's first stack (from the pool, unless spawn mapped it); returns its 16-byte aligned top.
static void* context_stack_top(Hub& hub, FiberBase* to) noexcept {
  if (to->stack_.kind == StackKind::none) to->stack_ = stack_acquire_or_die(hub.stacks(), to);
#if defined(GREENEV_ASAN)
  // A pooled stack still carries the shadow of frames its last fiber abandoned in its final
  // switch (their redzones stay poisoned); uninstrumented frames (the sanitizer's own) would trip on it.
  __asan_unpoison_memory_region(to->stack_.limit, to->stack_.size);
#endif
  const auto top = reinterpret_cast<std::uintptr_t>(to->stack_.limit) + to->stack_.size;
  return reinterpret_cast<void*>(top & ~std::uintptr_t{15});
}

// Makes a saved context for an unstarted fiber, which a plain switch then enters: the final switch
// of a finishing fiber into one, and every start in the Boost.Context build.
static void context_prepare(Hub& hub, FiberBase* to) noexcept {
  const auto top = reinterpret_cast<std::uintptr_t>(context_stack_top(hub, to));
#if !GREENEV_OWN_SWITCH
  to->ctx_ = bctx::make_fcontext(reinterpret_cast<void*>(top),
                                 top - reinterpret_cast<std::uintptr_t>(to->stack_.limit), &boost_entry);
#else
  // 16 bytes of zeros at the top, then the frame greenev_ctx_switch pops (see the file comment):
  // after its `ret` the stack pointer is top - 16, 16-byte aligned, as a call needs.
  auto* frame = reinterpret_cast<std::uint64_t*>(top - 16 - 64);
  std::uint32_t mxcsr;
  std::uint16_t fpucw;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));  // inherited, as a thread's
  frame[0] = mxcsr | (std::uint64_t{fpucw} << 32);
  for (int i = 1; i <= 6; ++i) frame[i] = 0;  // r15 .. rbp
  frame[7] = reinterpret_cast<std::uint64_t>(&greenev_ctx_entry);
  frame[8] = frame[9] = 0;
  to->ctx_ = frame;
#endif
}

void context_start(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
#if GREENEV_OWN_SWITCH
  void* top = context_stack_top(hub, to);
  ctx_detail::switch_with(self, to, [&] { return greenev_ctx_start(&self->ctx_, top, self); });
#else
  context_prepare(hub, to);
  ctx_detail::switch_with(self, to, [&] { return greenev_ctx_switch(&self->ctx_, to->ctx_, self); });
#endif
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
    ctx_detail::after_switch(greenev_ctx_switch(&self->ctx_, to->ctx_, self), fake);
  } while (self->capture_stack_);
}

// Before the final switch out of a finished fiber: the canary check, and `to`'s context if it
// has none yet. Returns the context to resume; the caller tells the sanitizers.
static void* context_exit_prepare(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
  if (!stack_canary_ok(self->stack_)) stack_overflow_abort(self);
  if (to->ctx_ == nullptr) context_prepare(hub, to);
  return to->ctx_;
}

void context_exit(Hub& hub, FiberBase* self, FiberBase* to) noexcept {
  void* ctx = context_exit_prepare(hub, self, to);
  ctx_detail::before_switch(to, nullptr);  // nullptr: this stack's fake frames die with it
  greenev_ctx_switch(&self->ctx_, ctx, self);
  __builtin_unreachable();
}

#if defined(GREENEV_TSAN)
void context_destroy(FiberBase* f) noexcept {
  if (f->san_ && f->stack_.kind != StackKind::main) __tsan_destroy_fiber(f->san_);
  f->san_ = nullptr;
}
#endif

}  // namespace greenev::detail

namespace {
// A fiber's body, however it was entered, on its own stack: runs it to its end and names the
// fiber to resume. Returns before any switch is announced to the sanitizers.
struct FiberEnd {
  greenev::detail::Hub& hub;
  greenev::detail::FiberBase* self;
  greenev::detail::FiberBase* next;
};
FiberEnd run_fiber_body(greenev::detail::FiberBase* from) noexcept {
  using namespace greenev::detail;
  ctx_detail::after_switch(from, nullptr);
  t_held_locks = 0;  // a new fiber holds no thread-level lock (held_locks.hpp)
  Hub& hub = *Hub::current_or_null();
  FiberBase* self = hub.running();
  return {hub, self, hub.run_current()};
}
}  // namespace

// The first code a fiber runs when entered through a made context (greenev_ctx_entry, or
// Boost.Context's entry), on its own stack; ends with the final switch.
extern "C" void greenev_fiber_start(greenev::detail::FiberBase* from) noexcept {
  const FiberEnd e = run_fiber_body(from);
  greenev::detail::context_exit(e.hub, e.self, e.next);
}

#if GREENEV_OWN_SWITCH
// The fiber's body when entered by greenev_ctx_start; returns what that resumes. Not
// instrumented, and it tells the sanitizers of the final switch itself, last (not through
// ctx_detail::before_switch, which GCC will not inline into an uninstrumented function): whatever
// runs after that runs "on" the resumed fiber, and an instrumented epilogue would pop a frame off
// its TSan shadow stack.
extern "C" __attribute__((no_sanitize("address", "thread"))) GreenevResume greenev_fiber_main(greenev::detail::FiberBase* from) noexcept {
  using namespace greenev::detail;
  const FiberEnd e = run_fiber_body(from);
  FiberBase* next = e.next;
  void* ctx = context_exit_prepare(e.hub, e.self, next);
#if defined(GREENEV_ASAN)
  __sanitizer_start_switch_fiber(nullptr, next->stack_.limit, next->stack_.size);  // this stack's fake frames die
#endif
#if defined(GREENEV_TSAN)
  __tsan_switch_to_fiber(context_tsan_handle(next), 0);
#endif
  return {ctx, e.self};
}
#endif
