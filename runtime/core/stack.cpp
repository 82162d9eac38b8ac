// runtime/core/stack.cpp — stack allocation, pooling, guard pages, slab fallback, overflow reports.
//
// Layout of a guarded stack (addresses grow upwards):  [guard page | usable ... top]
// Layout of a slab:   [guard page | red zone, stack 0 | red zone, stack 1 | ... ]
// Layout of a red zone (64 KiB):  [guard region (MADV_GUARD_INSTALL, if the kernel has it) | canary page]
// The SIGSEGV handler runs on a per-thread alternate stack; when the fault address is in the
// running fiber's guard page, or anywhere in a slab while the running fiber is on a slab stack,
// it names the fiber and dies by SIGSEGV (core dumps still work). The slab registry it reads is
// append-only (slabs are never unmapped), so the handler needs no lock.
#include "core/stack.hpp"

#include "core/hub.hpp"

#include <greenev/fiber.hpp>
#include <greenev/hub.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/random.h>
#include <unistd.h>
#include <utility>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13: guard pages without a mapping of their own
#endif

#if defined(GREENEV_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GREENEV_VALGRIND 1
#endif

namespace greenev::detail {

std::uint32_t g_canary_offsets[kCanarySamples];
std::atomic<bool> g_slab_stacks_used{false};

namespace {

constexpr std::size_t kDefaultStack = 256 * 1024;
constexpr std::size_t kRedZone = 64 * 1024;   // below every slab stack; its top page is the canary
constexpr std::size_t kCanaryPage = 4096;
constexpr std::size_t kMaxSlabs = 1 << 16;    // registry capacity (4M slab stacks at 64 per slab)
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

// Canary samples: one 8-byte word in each 512-byte block of the canary page, at a random offset
// per process, so any contiguous write of 512 bytes or more into it is seen and no fixed frame
// layout can step over all of them.
[[maybe_unused]] const bool g_canary_init = [] {
  std::uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed))
    seed = reinterpret_cast<std::uintptr_t>(&seed) ^ static_cast<std::uint64_t>(getpid()) * 0x9e3779b97f4a7c15ull;
  for (std::size_t i = 0; i < kCanarySamples; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    g_canary_offsets[i] = static_cast<std::uint32_t>(i * 512 + ((seed >> 33) % 64) * 8);
  }
  return true;
}();

// Append-only registry of slab mappings, read by the SIGSEGV handler without a lock.
struct SlabRange {
  std::atomic<std::uintptr_t> lo{0}, hi{0};
};
SlabRange g_slab_ranges[kMaxSlabs];
std::atomic<std::size_t> g_slab_count{0};

bool in_any_slab(std::uintptr_t addr) noexcept {
  const std::size_t n = g_slab_count.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n && i < kMaxSlabs; ++i)
    if (addr >= g_slab_ranges[i].lo.load(std::memory_order_relaxed) && addr < g_slab_ranges[i].hi.load(std::memory_order_relaxed))
      return true;
  return false;
}

// Guard regions inside slabs: on unless GREENEV_SLAB_GUARDS=0, and off for good once the kernel
// says it has no MADV_GUARD_INSTALL.
std::atomic<bool> g_guard_regions{[] {
  const char* e = std::getenv("GREENEV_SLAB_GUARDS");
  return !(e && e[0] == '0');
}()};

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
    const std::size_t stride = size + kRedZone;
    // 64 stacks per slab for ordinary sizes; fewer for big ones (at least one).
    std::size_t n = (std::size_t{16} << 20) / stride;
    n = n < 1 ? 1 : n > kSlabStacks ? kSlabStacks : n;
    const std::size_t guard = page_size();
    void* p = mmap(nullptr, guard + n * stride, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw StackAllocError(size, errno);
    char* base = static_cast<char*>(p);
    mprotect(base, guard, PROT_NONE);  // the slab's bottom: a deep overflow ends here, loudly
    const std::size_t i = g_slab_count.fetch_add(1, std::memory_order_acq_rel);
    if (i < kMaxSlabs) {  // a reader racing this append sees an empty range: no match, harmless
      g_slab_ranges[i].hi.store(reinterpret_cast<std::uintptr_t>(base + guard + n * stride), std::memory_order_relaxed);
      g_slab_ranges[i].lo.store(reinterpret_cast<std::uintptr_t>(base), std::memory_order_release);
    }
    // Hand out the highest stack first: an overflow then runs into a mapped neighbour's red zone.
    for (std::size_t k = 0; k < n; ++k) {
      char* zone = base + guard + k * stride;
      if (g_guard_regions.load(std::memory_order_relaxed) &&
          madvise(zone, kRedZone - kCanaryPage, MADV_GUARD_INSTALL) != 0)
        g_guard_regions.store(false, std::memory_order_relaxed);  // kernel without guard regions
      sf.free.push_back({zone + kRedZone, size, StackKind::slab});
    }
  }
  StackRef s = sf.free.back();
  sf.free.pop_back();
  g_slab_stacks_used.store(true, std::memory_order_relaxed);  // the switch checks canaries from now on
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
#if defined(GREENEV_ASAN)
  // Frames a fiber abandoned in its final switch leave poisoned shadow; memory mapped here
  // later (by anyone) must not inherit it.
  __asan_unpoison_memory_region(s.limit, s.size);
#endif
  munmap(static_cast<char*>(s.limit) - page_size(), s.size + page_size());
  g_guarded_live.fetch_sub(1, std::memory_order_relaxed);
}

// --- overflow detection ---

struct sigaction g_prev_segv;
std::once_flag g_segv_once;
thread_local void* t_altstack = nullptr;  // the alternate signal stack this thread mapped, if any
constexpr std::size_t kAltStack = 64 * 1024;

// The raw system call, never the patched write(2): in a fiber the patch may park, which in a
// signal handler on an overflowed stack switches away for good.
void write_str(const char* s) noexcept {
  long r = ::syscall(SYS_write, 2, s, std::strlen(s));
  (void)r;
}

// Async-signal context: no allocation, only write(2) and snprintf into a local buffer.
void report_overflow(Hub* hub, const FiberBase* f, const char* tail) noexcept {
  char buf[192];
  const char* name = hub->name_of(f);
  const auto id = static_cast<unsigned long long>(f->id_);
  if (name) {
    write_str("greenev: stack overflow in fiber '");
    write_str(name);
    std::snprintf(buf, sizeof buf, "' (id %llu)%s\n", id, tail);
  } else {
    std::snprintf(buf, sizeof buf, "greenev: stack overflow in fiber 'fiber-%llu' (id %llu)%s\n", id, id, tail);
  }
  write_str(buf);
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  Hub* hub = Hub::current_or_null();
  FiberBase* f = hub ? hub->running() : nullptr;
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (f && f->stack_.kind == StackKind::guarded) {
    auto lo = reinterpret_cast<std::uintptr_t>(f->stack_.limit);
    if (addr < lo && addr >= lo - page_size() * 16) {  // guard page, or a big frame just past it
      report_overflow(hub, f, "");
      signal(SIGSEGV, SIG_DFL);
      return;  // the faulting instruction re-runs and the default action kills the process
    }
  }
  if (f && f->stack_.kind == StackKind::slab) {
    const auto lo = reinterpret_cast<std::uintptr_t>(f->stack_.limit);
    // Below our own stack and inside a slab: our red zone's guard region, or (no guard regions)
    // the slab's bottom guard page after running through the stacks below us.
    if (addr < lo && in_any_slab(addr)) {
      report_overflow(hub, f, addr >= lo - kRedZone
                                  ? " (slab stack: hit its guard region)"
                                  : " (slab stack: ran past its red zone; stacks below it in the slab may be corrupted)");
      signal(SIGSEGV, SIG_DFL);
      return;
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

StackAllocError::StackAllocError(std::size_t size, int err)
    : msg_("greenev: cannot map a fiber stack of " + std::to_string(size) + " bytes: " + std::strerror(err)) {}

std::size_t stack_usable_size(std::size_t requested) noexcept {
  std::size_t n = requested ? requested : g_default_size.load(std::memory_order_relaxed);
  const std::size_t p = page_size();
  if (n < 4 * p) n = 4 * p;
  return (n + p - 1) & ~(p - 1);  // n <= kMaxStackSize (checked at spawn): cannot wrap
}

StackRef stack_acquire_or_die(StackPool& pool, const FiberBase* f) noexcept {
  try {
    return pool.acquire(f->stack_request_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greenev: fiber %llu cannot start: %s\n", static_cast<unsigned long long>(f->id_), e.what());
    std::abort();
  }
}

StackPool::Bucket& StackPool::find_bucket(std::size_t size) {
  for (last_ = 0; last_ < buckets_.size(); ++last_)
    if (buckets_[last_].size == size) return buckets_[last_];
  buckets_.push_back({size, {}});
  return buckets_.back();
}

StackRef StackPool::acquire(std::size_t requested) {
  std::size_t size;
  const std::size_t dflt = g_default_size.load(std::memory_order_relaxed);
  if (requested == 0 && dflt == default_raw_) [[likely]] {  // the default, as last time: no rounding
    if (spare_.kind != StackKind::none) [[likely]]
      return std::exchange(spare_, StackRef{});
    size = default_usable_;
  } else {
    size = stack_usable_size(requested ? requested : dflt);
    if (requested == 0) {
      if (spare_.kind != StackKind::none) release_to_bucket(std::exchange(spare_, StackRef{}));  // the old default's
      default_raw_ = dflt;
      default_usable_ = size;
    }
  }
  Bucket& b = bucket(size);
  if (!b.warm.empty()) [[likely]] {
    StackRef s = b.warm.back();
    b.warm.pop_back();
    return s;
  }
  return acquire_new(size);
}

// Out of line: keeps acquire()'s warm path free of the mapping code's register saves.
__attribute__((noinline)) StackRef StackPool::acquire_new(std::size_t size) {
  StackRef s = guarded_acquire(size);
#if defined(GREENEV_VALGRIND)
  VALGRIND_STACK_REGISTER(s.limit, static_cast<char*>(s.limit) + s.size);  // once per stack
#endif
  return s;
}

void StackPool::release(StackRef s) noexcept {
  if (s.size == default_usable_) [[likely]] {  // LIFO kept: the slot's older stack goes below it
    if (spare_.kind != StackKind::none) [[unlikely]]
      release_to_bucket(spare_);
    spare_ = s;
    return;
  }
  release_to_bucket(s);
}

void StackPool::release_to_bucket(StackRef s) noexcept {
  Bucket& b = bucket(s.size);
  if (b.warm.size() < kWarmPerBucket) [[likely]]
    b.warm.push_back(s);
  else
    release_cold(s);
}

__attribute__((noinline)) void StackPool::release_cold(StackRef s) noexcept {
  if (s.kind == StackKind::slab)
    slab_release(s);
  else
    guarded_release(s);
}

StackPool::~StackPool() {
  if (spare_.kind != StackKind::none) release_cold(spare_);
  for (Bucket& b : buckets_)
    for (StackRef s : b.warm) release_cold(s);
}

void stack_install_overflow_handler() noexcept {
  // Per thread: an alternate stack so the handler can run when the fiber stack is exhausted.
  if (!t_altstack) {
    void* p = mmap(nullptr, kAltStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      stack_t ss{};
      ss.ss_sp = p;
      ss.ss_size = kAltStack;
      stack_t old{};
      // Keep an alternate stack the application already installed.
      if (sigaltstack(nullptr, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
        munmap(p, kAltStack);
      } else if (sigaltstack(&ss, nullptr) != 0) {
        munmap(p, kAltStack);
      } else {
        t_altstack = p;
      }
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

void stack_remove_overflow_handler() noexcept {
  if (!t_altstack) return;
  stack_t cur{};
  // Only ours, and never while a handler runs on it (SS_ONSTACK).
  if (sigaltstack(nullptr, &cur) != 0 || cur.ss_sp != t_altstack || (cur.ss_flags & SS_ONSTACK)) return;
  stack_t off{};
  off.ss_flags = SS_DISABLE;
  if (sigaltstack(&off, nullptr) != 0) return;
  munmap(t_altstack, kAltStack);
  t_altstack = nullptr;
}

void stack_fork_prepare() noexcept {
  g_slab_mu.lock();  // held across the fork: no new size class appears meanwhile
  for (SlabFree* sf : slabs()) sf->mu.lock();
}

void stack_fork_parent() noexcept {
  for (SlabFree* sf : slabs()) sf->mu.unlock();
  g_slab_mu.unlock();
}

void stack_fork_child() noexcept { stack_fork_parent(); }

void stack_overflow_abort(const FiberBase* f) noexcept {
  Hub* hub = Hub::current_or_null();
  const char* name = hub ? hub->name_of(f) : nullptr;
  char id[32];
  std::snprintf(id, sizeof id, "fiber-%llu", static_cast<unsigned long long>(f->id_));
  std::fprintf(stderr, "greenev: stack overflow in fiber '%s' (id %llu): slab stack canary overwritten\n",
               name ? name : id, static_cast<unsigned long long>(f->id_));
  std::abort();
}

}  // namespace greenev::detail

namespace greenev {

void detail::check_stack_request(std::size_t bytes) {
  if (bytes > kMaxStackSize)
    throw std::invalid_argument("greenev: stack_size of " + std::to_string(bytes) +
                                " bytes is impossible (the maximum is " + std::to_string(kMaxStackSize) + ")");
}

void set_default_stack_size(std::size_t bytes) {
  detail::check_stack_request(bytes);
  detail::g_default_size.store(bytes ? bytes : detail::kDefaultStack);
}
std::size_t default_stack_size() noexcept { return detail::stack_usable_size(0); }
}  // namespace greenev
