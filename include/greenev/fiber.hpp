// greenev/fiber.hpp — spawn a fiber and the handle to it (gevent's Greenlet, std::thread's shape).
//
// greenev::spawn(fn, args...) schedules fn on the calling thread's hub and returns Fiber<R>.
// The fiber starts when the spawner next suspends (spawn never switches). Handles are cheap
// copyable references, confined to the hub's thread; a fiber runs to completion whether or not a
// handle is kept. An exception nobody retrieves is reported on stderr with the fiber's name.
//
//   join()            waits; returns the value, rethrows the fiber's exception, or throws
//                     FiberKilled. Itself a suspension point (may throw FiberExit/TimeoutError).
//   join(d)           as join, but gives up after d: std::optional<R> (bool for void).
//   wait(d)           waits without retrieving the outcome: true once done.
//   kill()            raises FiberExit in the fiber and waits for it to finish; an unstarted
//                     fiber never runs. kill(no_wait) only requests it.
//   kill(e)           as kill(), raising the exception e (any type) in the fiber instead of
//                     FiberExit: gevent's kill(exception=...). The fiber ends with e as its
//                     outcome unless it catches it; join() then rethrows e.
//   on_done(cb)       runs cb(id) right after the fiber finishes (must not block).
//   spawn_later(d, fn) spawns a fiber that starts fn after d (killing it before then: fn never
//                     runs).
//
// What throws what:
//   spawn             std::invalid_argument for an impossible stack_size, std::bad_alloc when its
//                     stack cannot be mapped (both name the size), std::system_error when the
//                     thread's hub cannot be created (e.g. EMFILE).
//   join/get          the fiber's exception, FiberKilled; as suspension points FiberExit (the
//                     caller was killed), TimeoutError (the caller's Timeout), LoopExit.
//   join(d)/wait(d)   as join; expiry of d itself is a return value, not an exception.
//   kill()            finishes its job whatever the caller's Timeouts say: it returns once the
//                     fiber is gone and never raises TimeoutError. A kill of the caller that lands
//                     meanwhile is kept pending (raised at its next suspension point), so kill()
//                     is safe in destructors. Only LoopExit (the victim swallowed FiberExit and
//                     waits on something nobody can ever set) can escape it.
// Any of these on an empty handle (default-constructed, moved from, detached): std::logic_error.
#pragma once
#include <greenev/detail/confined.hpp>
#include <greenev/detail/fiber_base.hpp>
#include <greenev/errors.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace greenev {

struct SpawnOptions {
  std::string name;            // shown in reports and fiber dumps; default "fiber-<id>"
  std::size_t stack_size = 0;  // bytes; 0 = default_stack_size()
};

struct no_wait_t {
  explicit no_wait_t() = default;
};
inline constexpr no_wait_t no_wait{};

namespace detail {
GREENEV_API void set_fiber_name(FiberBase* f, std::string name);
GREENEV_API std::string fiber_name(const FiberBase* f);
GREENEV_API void add_done_callback(FiberBase* f, std::function<void(std::uint64_t)> cb);
GREENEV_API void detach_fiber(FiberBase* f) noexcept;
// Requests the kill and waits for f to finish, unbounded by the caller's Timeout scopes.
GREENEV_API void kill_and_wait(FiberBase* f);
[[noreturn]] GREENEV_API void throw_empty_handle(const char* what);
GREENEV_API void set_kill_exception(FiberBase* f, std::exception_ptr e);
// Checks SpawnOptions::stack_size; throws std::invalid_argument naming an impossible size.
GREENEV_API void check_stack_request(std::size_t bytes);

template <class R>
class FiberResult : public FiberBase {
 public:
  std::optional<std::conditional_t<std::is_void_v<R>, char, R>> result_;
};

// The callable lives inline in the control block: one allocation per spawn.
template <class R, class Fn>
class FiberTask final : public FiberResult<R> {
 public:
  template <class G>
  explicit FiberTask(G&& g) : fn_(std::in_place, std::forward<G>(g)) {}
  void run() override {
    if constexpr (std::is_void_v<R>) {
      (*fn_)();
    } else {
      this->result_.emplace((*fn_)());
    }
    fn_.reset();  // release captures while the fiber is still alive
  }

 private:
  std::optional<Fn> fn_;
};

template <class F, class... Args>
auto make_task(F&& f, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  if constexpr (sizeof...(Args) == 0) {
    return new FiberTask<R, std::decay_t<F>>(std::forward<F>(f));
  } else {
    auto bound = [fn = std::forward<F>(f),
                  tup = std::make_tuple(std::forward<Args>(args)...)]() mutable -> R {
      return std::apply(fn, std::move(tup));
    };
    return new FiberTask<R, decltype(bound)>(std::move(bound));
  }
}
}  // namespace detail

template <class T>
class Fiber {
 public:
  Fiber() noexcept = default;
  explicit Fiber(detail::FiberResult<T>* t) noexcept : t_(t) {}  // adopts one reference
  Fiber(const Fiber& o) noexcept : t_(o.t_) { if (t_) t_->add_ref(); }
  Fiber(Fiber&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  Fiber& operator=(Fiber o) noexcept { std::swap(t_, o.t_); return *this; }
  ~Fiber() { if (t_) t_->release(); }

  explicit operator bool() const noexcept { return t_ != nullptr; }
  std::uint64_t id() const noexcept { return t_->id(); }
  std::string name() const { return detail::fiber_name(t_); }
  void set_name(std::string n) { detail::set_fiber_name(t_, std::move(n)); }
  bool ready() const noexcept { return t_->done(); }
  bool killed() const noexcept { return t_->killed(); }
  bool successful() const noexcept { return t_->done() && !t_->killed() && !t_->error_; }
  const char* wait_reason() const noexcept { return t_->wait_reason(); }

  T join() {
    detail::wait_done(checked("join"), detail::kForever);
    return get();
  }
  template <class Rep, class Per>
  auto join(std::chrono::duration<Rep, Per> d) {
    checked("join");
    bool done = detail::wait_done(t_, detail::deadline_after(d));
    if constexpr (std::is_void_v<T>) {
      if (done) get();
      return done;
    } else {
      return done ? std::optional<T>(get()) : std::optional<T>();
    }
  }
  template <class Rep, class Per>
  bool wait(std::chrono::duration<Rep, Per> d) {
    return detail::wait_done(checked("wait"), detail::deadline_after(d));
  }
  void wait() { detail::wait_done(checked("wait"), detail::kForever); }

  // The outcome of a finished fiber (precondition: ready()).
  T get() {
    checked("get");
    assert(t_->done() && "greenev: Fiber::get() before the fiber finished");
    if (t_->killed_ || t_->error_) detail::rethrow_outcome(t_);
    if constexpr (!std::is_void_v<T>) return std::move(*t_->result_);
  }

  void kill() { detail::kill_and_wait(checked("kill")); }
  void kill(no_wait_t) { detail::request_kill(checked("kill")); }
  template <class E>
    requires(!std::is_same_v<std::decay_t<E>, no_wait_t>)
  void kill(E&& exception) {
    detail::set_kill_exception(checked("kill"), std::make_exception_ptr(std::forward<E>(exception)));
    detail::kill_and_wait(t_);
  }
  void detach() noexcept {
    if (t_) detail::detach_fiber(std::exchange(t_, nullptr));
  }
  void on_done(std::function<void(std::uint64_t)> cb) { detail::add_done_callback(t_, std::move(cb)); }

  detail::FiberBase* native() const noexcept { return t_; }

 private:
  detail::FiberResult<T>* checked(const char* what) const {
    if (!t_) detail::throw_empty_handle(what);
    GREENEV_CHECK_FIBER_CONFINED(t_, what);
    return t_;
  }
  detail::FiberResult<T>* t_ = nullptr;
};

template <class F, class... Args>
auto spawn(SpawnOptions opts, F&& f, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  detail::check_stack_request(opts.stack_size);
  detail::FiberResult<R>* t = detail::make_task(std::forward<F>(f), std::forward<Args>(args)...);
  t->stack_request_ = opts.stack_size;
  if (!opts.name.empty()) {
    try {
      detail::set_fiber_name(t, std::move(opts.name));
    } catch (...) {
      t->release();
      throw;
    }
  }
  detail::schedule_new(t);
  return Fiber<R>(t);
}

template <class F, class... Args>
  requires(!std::is_same_v<std::decay_t<F>, SpawnOptions>)
auto spawn(F&& f, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
  detail::FiberResult<R>* t = detail::make_task(std::forward<F>(f), std::forward<Args>(args)...);
  detail::schedule_new(t);
  return Fiber<R>(t);
}

namespace detail {
GREENEV_API void sleep_until_ns(Deadline d);
}

// Spawns a fiber that sleeps d, then runs fn(args...) (gevent.spawn_later). Its Timeout scopes
// and kills behave as for any fiber: killed before d, fn never runs.
template <class Rep, class Per, class F, class... Args>
auto spawn_later(std::chrono::duration<Rep, Per> d, F&& f, Args&&... args) {
  const detail::Deadline at = detail::deadline_after(d);
  return spawn([at, fn = std::forward<F>(f), tup = std::make_tuple(std::forward<Args>(args)...)]() mutable {
    detail::sleep_until_ns(at);
    return std::apply(fn, std::move(tup));
  });
}

}  // namespace greenev
