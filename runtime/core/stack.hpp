// runtime/core/stack.hpp — fiber stacks: mmap'd, guarded, pooled warm, never exhausted.
//
// Each hub keeps a LIFO free list per stack size so a finished fiber's stack (its pages already
// faulted in) is the next one handed out: no mmap, munmap or page faults in steady state.
// Guarded stacks cost two kernel mappings each (the stack and its PROT_NONE guard), and the kernel
// allows vm.max_map_count (65530 by default) in all, so past ~30k guarded stacks the allocator
// switches to slab stacks: many stacks carved from one mapping. Below each slab stack lies a
// 64 KiB red zone: where the kernel has MADV_GUARD_INSTALL (Linux 6.13+) its lower part is a
// guard region that costs no mapping (a fault there is reported like a guard-page hit); its top
// page is a canary, never written, sampled at per-process random offsets every time the fiber
// switches out. The slab's bottom is a real guard page. The SIGSEGV handler recognises faults in
// any slab and names the running fiber. Remaining limit (README): without guard regions, a single
// frame larger than the red zone whose writes all land beyond it can corrupt a neighbour silently.
// Rejected: segmented/copying stacks (third-party C code keeps pointers into its stack), growing
// guarded stacks on demand with mremap (still one mapping each), and a random-valued canary
// (writing it would fault in a page per idle fiber: +4 KiB RSS each).
#pragma once
#include <greenev/detail/fiber_base.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace greenev::detail {

// The canary of a slab stack is the page just below its usable area staying zero. Nothing is
// written there, so it is never faulted in (reading it maps the shared zero page, not counted in
// RSS) and an idle fiber costs one page, as with a guarded stack.
inline constexpr std::size_t kCanarySamples = 8;
extern std::uint32_t g_canary_offsets[kCanarySamples];  // byte offsets inside the canary page

// A stack that cannot be had; what() names the size. A std::bad_alloc, as operator new's is.
class StackAllocError : public std::bad_alloc {
 public:
  StackAllocError(std::size_t size, int err);
  const char* what() const noexcept override { return msg_.c_str(); }

 private:
  std::string msg_;
};

class StackPool {
 public:
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();

  // Throws StackAllocError when no memory can be mapped for it.
  StackRef acquire(std::size_t requested);
  void release(StackRef s) noexcept;

 private:
  struct Bucket {
    std::size_t size;
    std::vector<StackRef> warm;  // LIFO: back() is the most recently used
  };
  // Almost every call asks for the size asked last (the default): that check is inline.
  Bucket& bucket(std::size_t size) {
    if (last_ < buckets_.size() && buckets_[last_].size == size) [[likely]]
      return buckets_[last_];
    return find_bucket(size);
  }
  Bucket& find_bucket(std::size_t size);
  StackRef acquire_new(std::size_t size);         // no warm stack: map one
  void release_to_bucket(StackRef s) noexcept;    // into its size's warm list
  void release_cold(StackRef s) noexcept;         // warm list full: unmap / back to the slab
  // The default-size stack released last, kept out of its bucket: spawn + join of short fibers
  // hands the same stack back and forth, and this slot makes that two compares and two copies.
  StackRef spare_{};             // kind none: empty; else size == default_usable_
  std::vector<Bucket> buckets_;  // few sizes in practice: a linear scan
  std::size_t last_ = 0;         // index of the bucket found last
  std::size_t default_raw_ = 0;     // the default size seen last (set_default_stack_size may change it)
  std::size_t default_usable_ = 0;  // ... and its usable size
};

// The largest stack a fiber may ask for (SpawnOptions::stack_size, set_default_stack_size).
inline constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;

// Rounds a requested size to whole pages, applying the default for 0 (requested <= kMaxStackSize).
std::size_t stack_usable_size(std::size_t requested) noexcept;

// The first-run acquisition inside a switch (noexcept): a failure there aborts naming the fiber.
StackRef stack_acquire_or_die(StackPool& pool, const FiberBase* f) noexcept;

// Set once this process hands out its first slab stack, never cleared: until then the switch
// checks no canary and reads no stack kind (one load of this hot global instead).
extern std::atomic<bool> g_slab_stacks_used __attribute__((visibility("hidden")));  // hidden: a direct load
inline bool slab_stacks_used() noexcept { return g_slab_stacks_used.load(std::memory_order_relaxed); }

// True if the slab canary of `s` is intact (always true for other kinds).
inline bool stack_canary_ok(const StackRef& s) noexcept {
  if (s.kind != StackKind::slab) [[likely]]
    return true;
  const auto* page = static_cast<const volatile char*>(s.limit) - 4096;
  std::uint64_t acc = 0;
  for (std::uint32_t off : g_canary_offsets) acc |= *reinterpret_cast<const volatile std::uint64_t*>(page + off);
  return acc == 0;
}

// Per-thread: the alternate signal stack that lets the SIGSEGV handler run after an overflow.
void stack_install_overflow_handler() noexcept;
// Per-thread: unmaps that alternate stack again (the thread's hub is going away).
void stack_remove_overflow_handler() noexcept;

// fork(): take every slab mutex before, release after (parent and child alike).
void stack_fork_prepare() noexcept;
void stack_fork_parent() noexcept;
void stack_fork_child() noexcept;

// Reports "stack overflow in fiber ..." and aborts (canary path).
[[noreturn]] void stack_overflow_abort(const FiberBase* f) noexcept;

}  // namespace greenev::detail
