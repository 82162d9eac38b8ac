// runtime/process/fork.cpp — the after-fork registry and the fork driver (see greenev/fork.hpp).
//
// The registry is a vector of hook sets sorted by (order, registration sequence), guarded by one
// mutex that a fork holds from the first prepare hook to the last parent/child hook: registering
// from another thread waits for the fork, and a fork never sees a half-added entry. In the child
// the mutex is unlocked by the thread that locked it (the same pthread, now alone).
// Invariants: hooks run with the mutex held, so a hook that adds/removes hooks or forks deadlocks
// (documented rule); prepare runs high order -> low, parent/child low -> high.
// Rejected: one pthread_atfork call per layer (their order is registration order, which depends
// on which layer happened to initialise first; prepare of the pool could run before a layer above
// it let go of its jobs) and running the hooks only from pthread_atfork (inside glibc's fork the
// child hooks would run before glibc finishes its own reset).
#include "process/fork.hpp"

#include <greenev/fork.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <exception>
#include <mutex>
#include <pthread.h>
#include <system_error>
#include <vector>

namespace greenev::detail {

namespace {

struct Entry {
  int order;
  std::uint64_t id;
  void (*raw_prepare)() noexcept = nullptr;
  void (*raw_parent)() noexcept = nullptr;
  void (*raw_child)() noexcept = nullptr;
  ForkHooks fns;     // user hooks (the raw pointers are null then)
  bool raw = false;  // a layer's: never removed
};

// Globals with trivial destructors only: a fork during static destruction still works.
constinit std::mutex g_mu;
constinit std::vector<Entry>* g_entries = nullptr;  // leaked on purpose
constinit std::uint64_t g_next_id = 1;
constinit std::atomic<std::uint64_t> g_generation{0};
constinit std::once_flag g_atfork_once;
constinit thread_local bool t_forking = false;  // this thread is inside fork_with_hooks

void call(const std::function<void()>& fn, const char* phase) noexcept {
  if (!fn) return;
  try {
    fn();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greenev: a fork %s hook threw (%s); ignored\n", phase, e.what());
  } catch (...) {
    std::fprintf(stderr, "greenev: a fork %s hook threw; ignored\n", phase);
  }
}

void run_prepare() noexcept {
  g_mu.lock();
  if (!g_entries) return;
  for (auto it = g_entries->rbegin(); it != g_entries->rend(); ++it) {
    if (it->raw_prepare) it->raw_prepare();
    call(it->fns.prepare, "prepare");
  }
}

void run_parent() noexcept {
  if (g_entries)
    for (auto& e : *g_entries) {
      if (e.raw_parent) e.raw_parent();
      call(e.fns.parent, "parent");
    }
  g_mu.unlock();
}

void run_child() noexcept {
  g_generation.fetch_add(1, std::memory_order_relaxed);
  if (g_entries)
    for (auto& e : *g_entries) {
      if (e.raw_child) e.raw_child();
      call(e.fns.child, "child");
    }
  g_mu.unlock();
}

// glibc's fork reached without the patched symbol: run the registry from its atfork handlers.
void atfork_prepare() noexcept {
  if (!t_forking) run_prepare();
}
void atfork_parent() noexcept {
  if (!t_forking) run_parent();
}
void atfork_child() noexcept {
  if (!t_forking) run_child();
}

void install_atfork() noexcept {
  std::call_once(g_atfork_once, [] {
    if (pthread_atfork(&atfork_prepare, &atfork_parent, &atfork_child) != 0) {
      std::fputs("greenev: pthread_atfork failed; fork() reached outside the patched symbol will not reset the hub\n",
                 stderr);
    }
  });
}

__attribute__((constructor(103))) void fork_load() { install_atfork(); }

std::uint64_t add_locked(Entry e) {
  if (!g_entries) g_entries = new std::vector<Entry>;
  const std::uint64_t id = g_next_id++;
  e.id = id;
  auto pos = std::upper_bound(g_entries->begin(), g_entries->end(), e.order,
                              [](int o, const Entry& x) { return o < x.order; });
  g_entries->insert(pos, std::move(e));
  return id;
}

using ForkFn = pid_t (*)();

ForkFn real_fork() noexcept {
  static const ForkFn f = [] {
    auto p = reinterpret_cast<ForkFn>(dlsym(RTLD_NEXT, "fork"));
    if (!p) {
      std::fputs("greenev: cannot resolve the real fork (dlsym RTLD_NEXT)\n", stderr);
      std::abort();
    }
    return p;
  }();
  return f;
}

}  // namespace

void add_fork_hooks_raw(int order, void (*prepare)() noexcept, void (*parent)() noexcept,
                        void (*child)() noexcept) noexcept {
  install_atfork();
  std::lock_guard lk(g_mu);
  Entry e{order, 0, prepare, parent, child, {}, true};
  try {
    add_locked(std::move(e));
  } catch (...) {
    std::fputs("greenev: out of memory registering a fork hook\n", stderr);
    std::abort();  // a layer that cannot reset after fork would corrupt the child
  }
}

pid_t fork_with_hooks() noexcept {
  (void)real_fork();  // resolved before any lock is taken
  t_forking = true;
  run_prepare();
  const pid_t pid = real_fork()();
  const int saved = errno;
  if (pid == 0) {
    run_child();
  } else {
    run_parent();
  }
  t_forking = false;
  errno = saved;
  return pid;
}

}  // namespace greenev::detail

namespace greenev {

pid_t fork() {
  const pid_t pid = detail::fork_with_hooks();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "greenev: fork");
  return pid;
}

std::uint64_t add_fork_hooks(ForkHooks hooks) {
  detail::install_atfork();
  std::lock_guard lk(detail::g_mu);
  detail::Entry e{hooks.order, 0, nullptr, nullptr, nullptr, std::move(hooks), false};
  return detail::add_locked(std::move(e));
}

bool remove_fork_hooks(std::uint64_t id) {
  std::lock_guard lk(detail::g_mu);
  if (!detail::g_entries) return false;
  auto& v = *detail::g_entries;
  auto it = std::find_if(v.begin(), v.end(), [id](const detail::Entry& e) { return e.id == id && !e.raw; });
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}

std::uint64_t fork_generation() noexcept { return detail::g_generation.load(std::memory_order_relaxed); }

}  // namespace greenev
