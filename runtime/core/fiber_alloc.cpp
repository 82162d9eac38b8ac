// runtime/core/fiber_alloc.cpp — allocation of fiber control blocks.
//
// spawn + join of a short fiber is dominated by fixed costs, and malloc/free were ~10% of them.
// Control blocks are recycled through per-thread free lists in 64-byte size classes (up to 1 KiB;
// larger callables go to malloc). A block freed on another thread joins that thread's list, which
// is harmless: the memory came from malloc either way. Each list is capped so a burst of a million
// fibers does not pin its peak memory forever.
#include "core/hub.hpp"

#include <greenev/detail/fiber_base.hpp>

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

struct FreeLists {
  FreeBlock* head[kClasses] = {};
  std::size_t count[kClasses] = {};
  bool dead = false;  // destroyed (thread exit): later blocks go straight to malloc/free
  ~FreeLists() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      for (FreeBlock* h = head[c]; h;) {
        FreeBlock* n = h->next;
        std::free(h);
        h = n;
      }
      head[c] = nullptr;
      count[c] = 0;
    }
    dead = true;
  }
};

thread_local FreeLists tls_free;

inline std::size_t class_of(std::size_t size) noexcept { return (size + kClass - 1) / kClass - 1; }

}  // namespace

void fiber_alloc_thread_init() noexcept { (void)tls_free.dead; }

void* FiberBase::operator new(std::size_t size) {
  const std::size_t c = class_of(size);
  if (c < kClasses && !tls_free.dead) {
    if (FreeBlock* b = tls_free.head[c]) {
      tls_free.head[c] = b->next;
      --tls_free.count[c];
      return b;
    }
    if (void* p = std::malloc((c + 1) * kClass)) return p;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(size)) return p;
  throw std::bad_alloc();
}

void FiberBase::operator delete(void* p, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (c < kClasses && !tls_free.dead && tls_free.count[c] < kKeepPerClass) {
    auto* b = static_cast<FreeBlock*>(p);
    b->next = tls_free.head[c];
    tls_free.head[c] = b;
    ++tls_free.count[c];
    return;
  }
  std::free(p);
}

}  // namespace greenev::detail
