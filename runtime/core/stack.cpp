// runtime/core/stack.cpp — stack allocation, pooling, guard pages, slab fallback, overflow reports.
//
// Layout of a guarded stack (addresses grow upwards):  [guard page | usable ... top]
// Layout of a slab stack:                              [canary word, usable ... top]
// The SIGSEGV handler runs on a per-thread alternate stack; when the fault address is in the
// running fiber's guard page it names the fiber and dies by SIGSEGV (core dumps still work).
#include "core/stack.hpp"

#include "core/hub.hpp"

#include <greenev/hub.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GREENEV_VALGRIND 1
#endif

namespace greenev::detail {
namespace {

constexpr std::size_t kDefaultStack = 256 * 1024;
constexpr std::size_t kWarmPerBucket = 1024;  // warm stacks kept per size; the rest go back
constexpr std::size_t kSlabStacks = 64;       // stacks carved from one slab mapping

std::atomic<std::size_t> g_default_size{kDefaultStack};
std::atomic<long> g_guarded_live{0};
std::atomic<bool> g_slab_notice{false};

std::size_t page_size() noexcept {
  static const std::size_t p = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

// Guarded stacks allowed before falling back to slabs: half of vm.max_map_count, minus headroom
// for the program's own mappings (libraries, malloc arenas, slabs).
long guarded_limit() noexcept {
  static const long limit = [] {
    long max_maps = 65530;
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
      if (std::fscanf(f, "%ld", &max_maps) != 1) max_maps = 65530;
      std::fclose(f);
    }
    if (const char* env = std::getenv("GREENEV_MAX_GUARDED_STACKS")) return std::atol(env);
    return max_maps / 2 - 2500;
  }();
  return limit;
}

void notice_slab(const char* why) noexcept {
  if (!g_slab_notice.exchange(true)) {
    std::fprintf(stderr,
                 "greenev: %s; further fiber stacks are unguarded slab stacks with a canary "
                 "checked on every switch (raise vm.max_map_count to keep guard pages)\n",
                 why);
  }
}

// Process-wide free list of slab stacks by size; slabs are never unmapped.
struct SlabFree {
  std::mutex mu;
  std::vector<StackRef> free;
  std::size_t size;
};
std::mutex g_slab_mu;
// Slab free lists live for the whole process (never destroyed: fibers may still run during
// static destruction).
std::vector<SlabFree*>& slabs() {
  static auto* v = new std::vector<SlabFree*>;
  return *v;
}

SlabFree& slab_for(std::size_t size) {
  std::lock_guard lk(g_slab_mu);
  for (SlabFree* s : slabs())
    if (s->size == size) return *s;
  slabs().push_back(new SlabFree{{}, {}, size});
  return *slabs().back();
}

StackRef slab_acquire(std::size_t size) {
  SlabFree& sf = slab_for(size);
  std::lock_guard lk(sf.mu);
  if (sf.free.empty()) {
    void* p = mmap(nullptr, size * kSlabStacks, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "greenev: cannot map fiber stacks: %s\n", std::strerror(errno));
      std::abort();
    }
    // Hand out the highest stack first: an overflow then runs into a mapped neighbour, where the
    // canary catches it, rather than off the bottom of the slab.
    for (std::size_t i = 0; i < kSlabStacks; ++i)
      sf.free.push_back({static_cast<char*>(p) + i * size, size, StackKind::slab});
  }
  StackRef s = sf.free.back();
  sf.free.pop_back();
  return s;
}

void slab_release(StackRef s) noexcept {
  madvise(s.limit, s.size, MADV_DONTNEED);  // give the RAM back; the addresses stay ours
  SlabFree& sf = slab_for(s.size);
  std::lock_guard lk(sf.mu);
  sf.free.push_back(s);
}

StackRef guarded_acquire(std::size_t size) {
  if (g_guarded_live.load(std::memory_order_relaxed) >= guarded_limit()) {
    notice_slab("guarded stack limit reached (vm.max_map_count)");
    return slab_acquire(size);
  }
  const std::size_t guard = page_size();
  void* p = mmap(nullptr, size + guard, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    notice_slab("mmap of a guarded stack failed");
    return slab_acquire(size);
  }
  if (mprotect(p, guard, PROT_NONE) != 0) {
    munmap(p, size + guard);
    notice_slab("mprotect of a guard page failed (vm.max_map_count reached)");
    return slab_acquire(size);
  }
  g_guarded_live.fetch_add(1, std::memory_order_relaxed);
  return {static_cast<char*>(p) + guard, size, StackKind::guarded};
}

void guarded_release(StackRef s) noexcept {
  munmap(static_cast<char*>(s.limit) - page_size(), s.size + page_size());
  g_guarded_live.fetch_sub(1, std::memory_order_relaxed);
}

// --- overflow detection ---

struct sigaction g_prev_segv;
std::once_flag g_segv_once;

void write_str(const char* s) noexcept {
  ssize_t r = ::write(2, s, std::strlen(s));
  (void)r;
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  Hub* hub = Hub::current_or_null();
  FiberBase* f = hub ? hub->running() : nullptr;
  if (f && f->stack_.kind == StackKind::guarded) {
    auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    auto lo = reinterpret_cast<std::uintptr_t>(f->stack_.limit);
    if (addr < lo && addr >= lo - page_size() * 16) {  // guard page, or a big frame just past it
      // Async-signal context: no allocation, only write(2) and snprintf into a local buffer.
      char buf[160];
      const char* name = hub->name_of(f);
      const auto id = static_cast<unsigned long long>(f->id_);
      if (name) {
        write_str("greenev: stack overflow in fiber '");
        write_str(name);
        std::snprintf(buf, sizeof buf, "' (id %llu)\n", id);
      } else {
        std::snprintf(buf, sizeof buf, "greenev: stack overflow in fiber 'fiber-%llu' (id %llu)\n", id, id);
      }
      write_str(buf);
      signal(SIGSEGV, SIG_DFL);
      return;  // the faulting instruction re-runs and the default action kills the process
    }
  }
  if (g_prev_segv.sa_flags & SA_SIGINFO) {
    if (g_prev_segv.sa_sigaction) return g_prev_segv.sa_sigaction(sig, info, uctx);
  } else if (g_prev_segv.sa_handler != SIG_DFL && g_prev_segv.sa_handler != SIG_IGN) {
    return g_prev_segv.sa_handler(sig);
  }
  signal(SIGSEGV, SIG_DFL);
}

}  // namespace

std::size_t stack_usable_size(std::size_t requested) noexcept {
  std::size_t n = requested ? requested : g_default_size.load(std::memory_order_relaxed);
  const std::size_t p = page_size();
  if (n < 4 * p) n = 4 * p;
  return (n + p - 1) & ~(p - 1);
}

StackPool::Bucket& StackPool::find_bucket(std::size_t size) {
  for (last_ = 0; last_ < buckets_.size(); ++last_)
    if (buckets_[last_].size == size) return buckets_[last_];
  buckets_.push_back({size, {}});
  return buckets_.back();
}

StackRef StackPool::acquire(std::size_t requested) {
  const std::size_t size = stack_usable_size(requested);
  Bucket& b = bucket(size);
  if (!b.warm.empty()) {
    StackRef s = b.warm.back();
    b.warm.pop_back();
    return s;
  }
  StackRef s = guarded_acquire(size);
#if defined(GREENEV_VALGRIND)
  VALGRIND_STACK_REGISTER(s.limit, static_cast<char*>(s.limit) + s.size);  // once per stack
#endif
  return s;
}

void StackPool::release(StackRef s) noexcept {
  Bucket& b = bucket(s.size);
  if (b.warm.size() < kWarmPerBucket) {
    b.warm.push_back(s);
  } else if (s.kind == StackKind::slab) {
    slab_release(s);
  } else {
    guarded_release(s);
  }
}

StackPool::~StackPool() {
  for (Bucket& b : buckets_)
    for (StackRef s : b.warm) s.kind == StackKind::slab ? slab_release(s) : guarded_release(s);
}

void stack_install_overflow_handler() noexcept {
  // Per thread: an alternate stack so the handler can run when the fiber stack is exhausted.
  const std::size_t alt = 64 * 1024;
  void* p = mmap(nullptr, alt, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) {
    stack_t ss{};
    ss.ss_sp = p;
    ss.ss_size = alt;
    stack_t old{};
    // Keep an alternate stack the application already installed.
    if (sigaltstack(nullptr, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
      munmap(p, alt);
    } else if (sigaltstack(&ss, nullptr) != 0) {
      munmap(p, alt);
    }
  }
  std::call_once(g_segv_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_prev_segv);
  });
}

void stack_overflow_abort(const FiberBase* f) noexcept {
  Hub* hub = Hub::current_or_null();
  const char* name = hub ? hub->name_of(f) : nullptr;
  std::fprintf(stderr, "greenev: stack overflow in fiber '%s' (id %llu): slab stack canary overwritten\n",
               name ? name : "unnamed", static_cast<unsigned long long>(f->id_));
  std::abort();
}

}  // namespace greenev::detail

namespace greenev {
void set_default_stack_size(std::size_t bytes) { detail::g_default_size.store(bytes ? bytes : detail::kDefaultStack); }
std::size_t default_stack_size() noexcept { return detail::stack_usable_size(0); }
}  // namespace greenev
