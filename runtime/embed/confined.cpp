// runtime/embed/confined.cpp — the thread-confinement checks (greenev/detail/confined.hpp).
//
// Debug-only paths: a gettid() per checked operation is fine here. The owner is a tid, not a Hub*
// (a dead hub's address can be reused, and the message must name the owner after it is gone).
// fork(): the child's only thread has a new tid; pthread_atfork records (parent tid -> child tid)
// for the forking thread so its pre-fork objects stay its own in the child (chains over nested
// forks). The owner word is written by its owning thread only (first use); a violating thread
// reads it racily, which is the bug being reported.
#include <greenev/detail/confined.hpp>

#include "core/hub.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <pthread.h>
#include <unistd.h>

namespace greenev::detail {

namespace {

constexpr int kMaxForks = 16;
std::int32_t g_fork_from[kMaxForks];
std::int32_t g_fork_to[kMaxForks];
int g_forks = 0;
std::int32_t g_forking_tid = 0;

const bool g_atfork_installed = [] {
  pthread_atfork([] { g_forking_tid = static_cast<std::int32_t>(gettid()); }, nullptr, [] {
    if (g_forks < kMaxForks) {
      g_fork_from[g_forks] = g_forking_tid;
      g_fork_to[g_forks] = static_cast<std::int32_t>(gettid());
      ++g_forks;
    }
  });
  return true;
}();

// The tid `owner` has in this process now (through the forks since it was recorded).
std::int32_t through_forks(std::int32_t owner) noexcept {
  for (int i = 0; i < g_forks; ++i)
    if (owner == g_fork_from[i]) owner = g_fork_to[i];
  return owner;
}

void thread_name(std::int32_t tid, char* out, std::size_t n) noexcept {
  std::snprintf(out, n, "?");
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
  if (FILE* f = std::fopen(path, "r")) {
    if (std::fgets(out, static_cast<int>(n), f)) out[std::strcspn(out, "\n")] = '\0';
    std::fclose(f);
  } else {
    std::snprintf(out, n, "exited");
  }
}

[[noreturn]] void report(const char* what, const char* extra, std::int32_t owner) noexcept {
  const auto me = static_cast<std::int32_t>(gettid());
  char mine[32], theirs[32];
  thread_name(me, mine, sizeof mine);
  thread_name(owner, theirs, sizeof theirs);
  std::fprintf(stderr,
               "greenev: %s%s called on thread %d '%s', but it belongs to thread %d '%s' (hub-confined: "
               "use it from its own hub's thread, or reach that hub with HubHandle::post / a cross_thread "
               "Event / ThreadQueue)\n",
               what, extra, me, mine, owner, theirs);
  std::fflush(stderr);
  std::abort();
}

}  // namespace

void check_confined(WaitList& l, const char* what) noexcept {
  const auto me = static_cast<std::int32_t>(gettid());
  const std::int32_t owner = l.owner_tid_;
  if (owner == me) return;
  if (owner == 0 || through_forks(owner) == me) {
    l.owner_tid_ = me;
    return;
  }
  report(what, "", owner);
}

void check_fiber_confined(const FiberBase* f, const char* what) noexcept {
  Hub* h = f->hub_;
  if (!h || h == Hub::current_or_null()) return;
  char op[64], extra[96];
  std::snprintf(op, sizeof op, "Fiber::%s", what);
  const char* name = h->name_of(f);
  std::snprintf(extra, sizeof extra, " (fiber %llu '%s')", static_cast<unsigned long long>(f->id_),
                name ? name : "unnamed");
  report(op, extra, static_cast<std::int32_t>(h->diag().tid));
}

}  // namespace greenev::detail
