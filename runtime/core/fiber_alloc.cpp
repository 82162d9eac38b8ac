// runtime/core/fiber_alloc.cpp — allocation of fiber control blocks.
//
// spawn + join of a short fiber is dominated by fixed costs, and malloc/free were ~10% of them.
// Control blocks are recycled through per-thread free lists in 64-byte size classes (up to 1 KiB;
// larger callables go to malloc). A block freed on another thread joins that thread's list, which
// is harmless: the memory came from malloc either way. Each list is capped so a burst of a million
// fibers does not pin its peak memory forever.
#include "core/hub.hpp"

#include <greenev/detail/fiber_base.hpp>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace greenev::detail {
namespace {

constexpr std::size_t kClass = 64;
constexpr std::size_t kClasses = 16;  // up to 1 KiB
constexpr std::size_t kKeepPerClass = 4096;

struct FreeBlock {
  FreeBlock* next;
};

// The lists themselves are trivially destructible constinit thread_locals with the initial-exec
// model: each access is one %fs-relative load, with no TLS wrapper call or init guard (a
// thread_local with a destructor costs both on every access). A separate guard object, created by
// fiber_alloc_thread_init() before the thread's hub, frees them at thread exit and closes them.
struct FreeLists {
  FreeBlock* head[kClasses];
  std::uint32_t count[kClasses];
  bool open;  // false until the guard exists and again once it is gone: malloc/free only
};
constinit thread_local FreeLists t_free __attribute__((tls_model("initial-exec"))) = {};

struct FreeListsGuard {
  FreeListsGuard() noexcept { t_free.open = true; }
  ~FreeListsGuard() {
    t_free.open = false;
    for (std::size_t c = 0; c < kClasses; ++c) {
      for (FreeBlock* h = t_free.head[c]; h;) {
        FreeBlock* n = h->next;
        std::free(h);
        h = n;
      }
      t_free.head[c] = nullptr;
      t_free.count[c] = 0;
    }
  }
};
thread_local FreeListsGuard t_free_guard;

inline std::size_t class_of(std::size_t size) noexcept { return (size + kClass - 1) / kClass - 1; }

}  // namespace

void fiber_alloc_thread_init() noexcept { (void)&t_free_guard; }

void* FiberBase::operator new(std::size_t size) {
  const std::size_t c = class_of(size);
  if (c < kClasses) {
    if (FreeBlock* b = t_free.head[c]) [[likely]] {  // non-empty only while open
      t_free.head[c] = b->next;
      --t_free.count[c];
      return b;
    }
    if (void* p = std::aligned_alloc(kClass, (c + 1) * kClass)) return p;  // hot fields: fiber_base.hpp
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(size)) return p;
  throw std::bad_alloc();
}

void FiberBase::operator delete(void* p, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (c < kClasses && t_free.count[c] < kKeepPerClass && t_free.open) [[likely]] {
    auto* b = static_cast<FreeBlock*>(p);
    b->next = t_free.head[c];
    t_free.head[c] = b;
    ++t_free.count[c];
    return;
  }
  std::free(p);
}

}  // namespace greenev::detail
