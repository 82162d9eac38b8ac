// greenev/wait.hpp — wait_any / wait_all over fibers, Events and AsyncResults (gevent.wait,
// gevent.joinall).
//
//   std::size_t i = wait_any(f1, ev, res);             // index of the first one ready
//   std::optional<std::size_t> i = wait_any(100ms, f1, ev);   // nullopt on timeout
//   wait_all(fibers);  bool ok = wait_all(1s, fibers);  // ranges of one type work too
//   wait_all(raise_error, f1, f2);   // rethrows the first failure as soon as it happens
//
// "Ready": a fiber has finished, an Event is set (or was set while we waited, even if cleared
// since), an AsyncResult holds a value or an exception. Returns as soon as the condition holds;
// nothing is consumed, so the same objects can be waited on again. raise_error: a fiber that
// threw, or an AsyncResult holding an exception, rethrows that exception (killed fibers count as
// finished, as in gevent). Parks once ("wait_any" / "wait_all") with one waiter on each object's
// own wait list, all pointing at the calling fiber — no helper fibers, no callbacks, no
// allocation for the variadic forms. Waiting on cross_thread objects keeps the hub alive.
#pragma once
#include <greenev/detail/sync_common.hpp>
#include <greenev/event.hpp>
#include <greenev/fiber.hpp>

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

// One object to wait on, type-erased.
struct WaitItem {
  void* obj;
  WaitList* list;
  bool (*ready)(void*) noexcept;
  std::exception_ptr (*error)(void*) noexcept;
  bool cross;
};

template <class W>
WaitItem make_wait_item(W& w) {
  using Tr = WaitableTraits<std::remove_const_t<W>>;
  using U = std::remove_const_t<W>;
  return WaitItem{const_cast<U*>(&w), &Tr::list(const_cast<U&>(w)),
                  [](void* p) noexcept { return Tr::ready(*static_cast<U*>(p)); },
                  [](void* p) noexcept { return Tr::error(*static_cast<U*>(p)); },
                  Tr::cross_thread(w)};
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
concept WaitableRange = std::ranges::range<R> && Waitable<std::ranges::range_value_t<R>>;

// --- wait_any ---

template <Waitable... W>
  requires(sizeof...(W) > 0)
std::size_t wait_any(W&... ws) {
  return detail::wait_pack(1, detail::kForever, false, "wait_any", ws...).first;
}
template <class Rep, class Per, Waitable... W>
  requires(sizeof...(W) > 0)
std::optional<std::size_t> wait_any(std::chrono::duration<Rep, Per> d, W&... ws) {
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
void wait_all(W&... ws) {
  detail::wait_pack(sizeof...(W), detail::kForever, false, "wait_all", ws...);
}
template <Waitable... W>
  requires(sizeof...(W) > 0)
void wait_all(raise_error_t, W&... ws) {
  detail::wait_pack(sizeof...(W), detail::kForever, true, "wait_all", ws...);
}
// True when all were ready before d passed.
template <class Rep, class Per, Waitable... W>
  requires(sizeof...(W) > 0)
bool wait_all(std::chrono::duration<Rep, Per> d, W&... ws) {
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

}  // namespace greenev
