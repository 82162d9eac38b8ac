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
//                     fiber never runs. kill(no_wait) only requests it. A fiber that catches
//                     FiberExit and goes on keeps kill() waiting: after 5 s stderr says so once,
//                     naming both fibers and where the victim waits (also at thread exit and
//                     HubThread::stop, which kill the same way).
//   kill(e)           as kill(), raising the exception e (any type) in the fiber instead of
//                     FiberExit: gevent's kill(exception=...). The fiber ends with e as its
//                     outcome unless it catches it; join() then rethrows e.
//   on_done(cb)       runs cb(id) right after the fiber finishes (must not block).
//   link(cb)          gevent's link: once the fiber finishes, spawns a new fiber on the same hub
//                     running cb(Fiber<T>) (it may block, join, spawn). Already finished: spawned
//                     at once. link_value(cb): only if it returned normally, cb(const T&) (a copy
//                     taken when it finished, so a join() that moves the value out cannot race it;
//                     cb() for void). link_exception(cb): only if it did not, cb(std::exception_ptr)
//                     — its exception, kill(e)'s e, or FiberKilled for a plain kill (unlike gevent,
//                     where GreenletExit counts as success: here join() of a killed fiber throws,
//                     so the link agrees with join). A linked exception counts as observed (not
//                     reported as unhandled). The link fiber's own exceptions are reported as any
//                     fiber's, under the name "link-of-<name>". Fibers killed because their
//                     hub's thread exits have their links spawned but killed unstarted: they
//                     do not run.
//   killall(r)        kills every fiber of a range at once, then waits for all (gevent.killall);
//                     killall(r, no_wait) only requests, killall(r, d) waits at most d (true: all
//                     finished), killall(r, e) raises e in each instead of FiberExit. An empty
//                     handle in r: std::logic_error before anything is killed.
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
#include <ranges>
#include <concepts>
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
template <class F>
void spawn_link(const std::string& of, F&& fn);  // below, after spawn()

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
  void on_done(std::function<void(std::uint64_t)> cb) { detail::add_done_callback(checked("on_done"), std::move(cb)); }

  // gevent's link / link_value / link_exception; see the file comment.
  template <class F>
    requires std::invocable<F&, Fiber<T>&>
  void link(F cb) {
    detail::FiberResult<T>* t = checked("link");
    detail::add_done_callback(t, [t, cb = std::move(cb)](std::uint64_t) mutable {
      t->add_ref();
      Fiber<T> self(t);
      greenev::detail::spawn_link(self.name(), [self, cb = std::move(cb)]() mutable { cb(self); });
    });
  }
  template <class F>
  void link_value(F cb) {
    detail::FiberResult<T>* t = checked("link_value");
    detail::add_done_callback(t, [t, cb = std::move(cb)](std::uint64_t) mutable {
      if (t->killed_ || t->error_) return;
      if constexpr (std::is_void_v<T>) {
        static_assert(std::is_invocable_v<F&>, "greenev: link_value on Fiber<void> takes cb()");
        greenev::detail::spawn_link(detail::fiber_name(t), std::move(cb));
      } else {
        static_assert(std::is_copy_constructible_v<T>, "greenev: link_value needs a copyable result type");
        static_assert(std::is_invocable_v<F&, const T&>, "greenev: link_value takes cb(const T&)");
        greenev::detail::spawn_link(detail::fiber_name(t), [v = T(*t->result_), cb = std::move(cb)]() mutable {
          cb(std::as_const(v));
        });
      }
    });
  }
  template <class F>
    requires std::invocable<F&, std::exception_ptr>
  void link_exception(F cb) {
    detail::FiberResult<T>* t = checked("link_exception");
    detail::add_done_callback(t, [t, cb = std::move(cb)](std::uint64_t) mutable {
      if (!t->killed_ && !t->error_) return;
      std::exception_ptr e = t->error_ ? t->error_ : std::make_exception_ptr(FiberKilled());
      t->error_observed_ = true;
      greenev::detail::spawn_link(detail::fiber_name(t), [e, cb = std::move(cb)]() mutable { cb(e); });
    });
  }

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

// Spawns a link callback as its own fiber ("link-of-<name>"); runs inside a done-callback.
template <class F>
void spawn_link(const std::string& of, F&& fn) {
  auto f = greenev::spawn(SpawnOptions{"link-of-" + of}, std::forward<F>(fn));
  f.detach();
}

template <class Range>
void check_all_handles(Range& r, const char* what) {
  for (auto& f : r)
    if (!f) throw_empty_handle(what);
}
}  // namespace detail

// gevent.killall: kill every fiber of r (all requested first, so they unwind concurrently),
// then wait for each as kill() does (unbounded by the caller's Timeouts).
template <std::ranges::range Range>
void killall(Range&& fibers) {
  detail::check_all_handles(fibers, "killall");
  for (auto& f : fibers) detail::request_kill(f.native());
  for (auto& f : fibers) detail::kill_and_wait(f.native());
}
// gevent's killall(greenlets, exception): raises `exception` (any type, copied per fiber) in each
// instead of FiberExit, then waits as killall(r) does.
template <std::ranges::range Range, class E>
  requires(!std::is_same_v<std::decay_t<E>, no_wait_t> && !requires { typename std::decay_t<E>::period; })
void killall(Range&& fibers, const E& exception) {
  detail::check_all_handles(fibers, "killall");
  for (auto& f : fibers) {
    detail::set_kill_exception(f.native(), std::make_exception_ptr(exception));
    detail::request_kill(f.native());
  }
  for (auto& f : fibers) detail::kill_and_wait(f.native());
}
// Only requests the kills (gevent's block=False).
template <std::ranges::range Range>
void killall(Range&& fibers, no_wait_t) {
  detail::check_all_handles(fibers, "killall");
  for (auto& f : fibers) detail::request_kill(f.native());
}
// Requests the kills and waits at most d ("join"): true when every fiber has finished.
template <std::ranges::range Range, class Rep, class Per>
bool killall(Range&& fibers, std::chrono::duration<Rep, Per> d) {
  detail::check_all_handles(fibers, "killall");
  const detail::Deadline at = detail::deadline_after(d);
  for (auto& f : fibers) detail::request_kill(f.native());
  for (auto& f : fibers)
    if (!detail::wait_done(f.native(), at)) return false;
  return true;
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
