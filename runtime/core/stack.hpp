// runtime/core/stack.hpp — fiber stacks: mmap'd, guarded, pooled warm, never exhausted.
//
// Each hub keeps a LIFO free list per stack size so a finished fiber's stack (its pages already
// faulted in) is the next one handed out: no mmap, munmap or page faults in steady state.
// Guarded stacks cost two kernel mappings each (the stack and its PROT_NONE guard), and the kernel
// allows vm.max_map_count (65530 by default) in all, so past ~30k guarded stacks the allocator
// switches to slab stacks: many stacks carved from one mapping, with a canary word at the bottom of
// each that is checked every time the fiber switches out. It says so once on stderr.
// Rejected: segmented/copying stacks (third-party C code keeps pointers into its stack) and
// growing guarded stacks on demand with mremap (still one mapping each).
#pragma once
#include <greenev/detail/fiber_base.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace greenev::detail {

// The canary of a slab stack is its lowest 32 bytes staying zero. Nothing is written there, so
// the bottom page is never faulted in (reading it maps the shared zero page, not counted in RSS)
// and an idle fiber costs one page, as with a guarded stack.

class StackPool {
 public:
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();

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
  std::vector<Bucket> buckets_;  // few sizes in practice: a linear scan
  std::size_t last_ = 0;         // index of the bucket found last
};

// Rounds a requested size to whole pages, applying the default for 0.
std::size_t stack_usable_size(std::size_t requested) noexcept;

// True if the slab canary of `s` is intact (always true for other kinds).
inline bool stack_canary_ok(const StackRef& s) noexcept {
  if (s.kind != StackKind::slab) return true;
  auto* w = static_cast<const volatile std::uint64_t*>(s.limit);
  return (w[0] | w[1] | w[2] | w[3]) == 0;
}

// Per-thread: the alternate signal stack that lets the SIGSEGV handler run after an overflow.
void stack_install_overflow_handler() noexcept;

// Reports "stack overflow in fiber ..." and aborts (canary path).
[[noreturn]] void stack_overflow_abort(const FiberBase* f) noexcept;

}  // namespace greenev::detail
