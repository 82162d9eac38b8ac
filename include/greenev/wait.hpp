// greenev/wait.hpp — wait_any / wait_all over fibers, Events, AsyncResults and queues (gevent.wait,
// gevent.joinall, Go's select).
//
//   std::size_t i = wait_any(f1, ev, res);             // index of the first one ready
//   std::optional<std::size_t> i = wait_any(100ms, f1, ev);   // nullopt on timeout
//   wait_all(fibers);  bool ok = wait_all(1s, fibers);  // ranges of one type work too
//   wait_all(raise_error, f1, f2);   // rethrows the first failure as soon as it happens
//   switch (select(1s, jobs, results_ch, can_put(out), worker).value_or(-1)) { ... }
//
// "Ready": a fiber has finished, an Event is set (or was set while we waited, even if cleared
// since), an AsyncResult holds a value or an exception, a Queue/Channel would not make get() wait
// (an item, a blocked putter, or closed), can_put(q) would not make put() wait (room, a waiting
// getter, or closed). Returns as soon as the condition holds; nothing is consumed, so the same
// objects can be waited on again. Queue readiness is level-triggered (re-tested after each
// wake-up, since another fiber may have taken the item first), and nothing runs between the
// return and the caller's next statement, so after select() returns i for a queue, q.try_get() (or
// try_put for can_put) succeeds, or the queue is closed. Go's select in one line:
//   if (auto i = select(200ms, a, b)) { if (*i == 0) use(a.try_get()); else use(b.try_get()); }
// raise_error: a fiber that threw, or an AsyncResult holding an exception, rethrows that
// exception (killed fibers count as finished, as in gevent). Parks once ("wait_any" / "wait_all")
// with one waiter on each object's own wait list, all pointing at the calling fiber — no helper
// fibers, no callbacks, no allocation for the variadic forms. Waiting on cross_thread objects
// keeps the hub alive.
#pragma once
#include <greenev/detail/sync_common.hpp>
#include <greenev/event.hpp>
#include <greenev/fiber.hpp>
#include <greenev/queue.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <optional>
#include <ranges>
#include <type_traits>
#include <vector>

namespace greenev {

struct raise_error_t {
  explicit raise_error_t() = default;
};
inline constexpr raise_error_t raise_error{};

namespace detail {

template <class R>
struct WaitableTraits<Fiber<R>> {
  static bool ready(const Fiber<R>& f) noexcept { return f.ready(); }
  static WaitList& list(const Fiber<R>& f) noexcept { return f.native()->joiners_; }
  static bool cross_thread(const Fiber<R>&) noexcept { return false; }
  static std::exception_ptr error(const Fiber<R>& f) noexcept {
    FiberBase* b = f.native();
    if (!b->done() || !b->error_) return nullptr;
    b->error_observed_ = true;
    return b->error_;
  }
};

template <>
struct WaitableTraits<Event> {
  static bool ready(const Event& e) noexcept { return e.is_set(); }
  static WaitList& list(Event& e) noexcept { return e.waiters_; }
  static bool cross_thread(const Event& e) noexcept { return e.cross_thread(); }
  static std::exception_ptr error(const Event&) noexcept { return nullptr; }
};

template <class T>
struct WaitableTraits<AsyncResult<T>> {
  static bool ready(const AsyncResult<T>& r) noexcept { return r.ready(); }
  static WaitList& list(AsyncResult<T>& r) noexcept { return r.s_->waiters(); }
  static bool cross_thread(const AsyncResult<T>& r) noexcept { return r.cross_thread(); }
  static std::exception_ptr error(const AsyncResult<T>& r) noexcept { return r.exception(); }
};

// Every queue type (Queue, LifoQueue, PriorityQueue, JoinableQueue, Channel): ready = get() would
// not wait. Level-triggered: a wake-up only says "test again".
template <class Q>
  requires requires(Q& q) {
    { q.can_get() } -> std::same_as<bool>;
    { q.watch_list() } -> std::same_as<WaitList&>;
  }
struct WaitableTraits<Q> {
  static constexpr bool level = true;
  static bool ready(const Q& q) noexcept { return q.can_get(); }
  static WaitList& list(Q& q) noexcept { return q.watch_list(); }
  static bool cross_thread(const Q&) noexcept { return false; }
  static std::exception_ptr error(const Q&) noexcept { return nullptr; }
};

template <class Q>
struct PutReady {
  Q* q;
};
template <class Q>
struct WaitableTraits<PutReady<Q>> {
  static constexpr bool level = true;
  static bool ready(const PutReady<Q>& p) noexcept { return p.q->can_put(); }
  static WaitList& list(PutReady<Q>& p) noexcept { return p.q->watch_list(); }
  static bool cross_thread(const PutReady<Q>&) noexcept { return false; }
  static std::exception_ptr error(const PutReady<Q>&) noexcept { return nullptr; }
};

// One object to wait on, type-erased.
struct WaitItem {
  void* obj;
  WaitList* list;
  bool (*ready)(void*) noexcept;
  std::exception_ptr (*error)(void*) noexcept;
  bool cross;
  bool level = false;  // readiness may be withdrawn: a fired waiter re-tests instead of counting
};

template <class Tr>
constexpr bool level_triggered() {
  if constexpr (requires { Tr::level; }) return Tr::level;
  else return false;
}

template <class W>
WaitItem make_wait_item(W& w) {
  using Tr = WaitableTraits<std::remove_const_t<W>>;
  using U = std::remove_const_t<W>;
  return WaitItem{const_cast<U*>(&w), &Tr::list(const_cast<U&>(w)),
                  [](void* p) noexcept { return Tr::ready(*static_cast<U*>(p)); },
                  [](void* p) noexcept { return Tr::error(*static_cast<U*>(p)); },
                  Tr::cross_thread(w), level_triggered<Tr>()};
}

struct WaitOutcome {
  std::size_t ready = 0;                   // how many were ready when it returned
  std::size_t first = static_cast<std::size_t>(-1);  // the lowest ready index
};

// Waits until `need` of the n items are ready, or the deadline (fewer ready). `ws` is scratch
// space for n waiters. raise_error: rethrows the first failure seen. (runtime/sync/sync_wait.cpp)
GREENEV_API WaitOutcome wait_some(WaitItem* items, Waiter* ws, std::size_t n, std::size_t need,
                                  Deadline d, bool raise_error, const char* reason);

template <class... W>
WaitOutcome wait_pack(std::size_t need, Deadline d, bool raise, const char* reason, W&... ws) {
  std::array<WaitItem, sizeof...(W)> items{make_wait_item(ws)...};
  std::array<Waiter, sizeof...(W)> waiters{};
  return wait_some(items.data(), waiters.data(), items.size(), need, d, raise, reason);
}

template <class Range>
WaitOutcome wait_range(Range& r, bool all, Deadline d, bool raise, const char* reason) {
  std::vector<WaitItem> items;
  for (auto& w : r) items.push_back(make_wait_item(w));
  std::vector<Waiter> waiters(items.size());
  const std::size_t need = all ? items.size() : (items.empty() ? 0 : 1);
  return wait_some(items.data(), waiters.data(), items.size(), need, d, raise, reason);
}

}  // namespace detail

template <class W>
concept Waitable = requires(std::remove_cvref_t<W>& w) {
  { detail::WaitableTraits<std::remove_cvref_t<W>>::ready(w) } -> std::same_as<bool>;
};
template <class R>
concept WaitableRange = std::ranges::range<R> && !Waitable<R> && Waitable<std::ranges::range_value_t<R>>;

// A Waitable that is ready when q.put() would not wait (Go's select send case):
//   select(d, can_put(out), ...) then out.try_put(std::move(v)).
template <class Q>
detail::PutReady<Q> can_put(Q& q) noexcept {
  return detail::PutReady<Q>{&q};
}

// --- wait_any ---

template <Waitable... W>
  requires(sizeof...(W) > 0)
std::size_t wait_any(W&&... ws) {
  return detail::wait_pack(1, detail::kForever, false, "wait_any", ws...).first;
}
template <class Rep, class Per, Waitable... W>
  requires(sizeof...(W) > 0)
std::optional<std::size_t> wait_any(std::chrono::duration<Rep, Per> d, W&&... ws) {
  auto o = detail::wait_pack(1, detail::deadline_after(d), false, "wait_any", ws...);
  return o.ready ? std::optional<std::size_t>(o.first) : std::nullopt;
}
// Over a range: the index of the first ready element (an empty range returns 0 at once).
template <WaitableRange R>
std::size_t wait_any(R&& r) {
  auto o = detail::wait_range(r, false, detail::kForever, false, "wait_any");
  return o.ready ? o.first : 0;
}
template <class Rep, class Per, WaitableRange R>
std::optional<std::size_t> wait_any(std::chrono::duration<Rep, Per> d, R&& r) {
  auto o = detail::wait_range(r, false, detail::deadline_after(d), false, "wait_any");
  return o.ready ? std::optional<std::size_t>(o.first) : std::nullopt;
}

// --- wait_all ---

template <Waitable... W>
  requires(sizeof...(W) > 0)
void wait_all(W&&... ws) {
  detail::wait_pack(sizeof...(W), detail::kForever, false, "wait_all", ws...);
}
template <Waitable... W>
  requires(sizeof...(W) > 0)
void wait_all(raise_error_t, W&&... ws) {
  detail::wait_pack(sizeof...(W), detail::kForever, true, "wait_all", ws...);
}
// True when all were ready before d passed.
template <class Rep, class Per, Waitable... W>
  requires(sizeof...(W) > 0)
bool wait_all(std::chrono::duration<Rep, Per> d, W&&... ws) {
  return detail::wait_pack(sizeof...(W), detail::deadline_after(d), false, "wait_all", ws...).ready == sizeof...(W);
}
template <WaitableRange R>
void wait_all(R&& r) {
  detail::wait_range(r, true, detail::kForever, false, "wait_all");
}
template <WaitableRange R>
void wait_all(raise_error_t, R&& r) {
  detail::wait_range(r, true, detail::kForever, true, "wait_all");
}
template <class Rep, class Per, WaitableRange R>
bool wait_all(std::chrono::duration<Rep, Per> d, R&& r) {
  auto o = detail::wait_range(r, true, detail::deadline_after(d), false, "wait_all");
  return o.ready == static_cast<std::size_t>(std::ranges::distance(r));
}

// --- select: wait_any under Go's name, for mixes of queues, channels and fibers ---

template <Waitable... W>
  requires(sizeof...(W) > 0)
std::size_t select(W&&... ws) {
  return wait_any(ws...);
}
template <class Rep, class Per, Waitable... W>
  requires(sizeof...(W) > 0)
std::optional<std::size_t> select(std::chrono::duration<Rep, Per> d, W&&... ws) {
  return wait_any(d, ws...);
}

}  // namespace greenev
