// greenev/hub.hpp — the per-thread hub seen from outside: cross-thread posting, stats, settings.
//
// Each thread gets its own hub (libev loop + ready queue + timers) the first time it uses greenev.
// Fibers never migrate; threads talk to another thread's hub through a HubHandle, which is
// thread-safe (a mutex-protected inbox drained by an ev_async watcher):
//   post(fn)          runs fn (any move-only callable) as a new fiber there; false if that hub is gone.
//   submit(fn)        the same, with fn's value or exception in a std::future (for plain threads).
//   submit_async(fn)  the same, in a cross-thread AsyncResult owned by the *calling* hub: a fiber
//                     waits on it by parking, not by blocking its thread (defined in event.hpp).
// Whatever was posted but had not started when the hub stopped never runs; a submit's result then
// holds HubStopped (never a hang). See docs/embedding.md for the rules and HubThread / run().
// Rejected: std::function in the inbox (refuses move-only callables such as a lambda holding a
// std::promise), and a per-call std::thread (the target hub's fibers could not be reached at all).
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/detail/unique_function.hpp>
#include <greenev/errors.hpp>
#include <greenev/fiber.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace greenev {

template <class T>
class AsyncResult;

// A submit()ted function that will never run: its hub stopped (or its thread exited) first.
class GREENEV_API HubStopped : public std::runtime_error {
 public:
  HubStopped() : std::runtime_error("greenev: the target hub has stopped; the submitted function did not run") {}
};

namespace detail {
struct Inbox;
using PostFn = UniqueFunction<void()>;

// The callable a submit() posts: runs fn and fills `sink`; a call destroyed without having run
// (its hub stopped, or the fiber was killed before it started) fills it with HubStopped instead.
// A kill while fn runs gives FiberKilled, and FiberExit goes on unwinding the fiber.
template <class F, class Sink>
class PostedCall {
 public:
  PostedCall(F&& f, Sink&& s) : fn_(std::move(f)), sink_(std::move(s)), armed_(true) {}
  PostedCall(PostedCall&& o) noexcept(std::is_nothrow_move_constructible_v<F> && std::is_nothrow_move_constructible_v<Sink>)
      : fn_(std::move(o.fn_)), sink_(std::move(o.sink_)), armed_(std::exchange(o.armed_, false)) {}
  PostedCall& operator=(PostedCall&&) = delete;
  ~PostedCall() {
    if (armed_) sink_.fail(std::make_exception_ptr(HubStopped()));
  }
  void operator()() {
    armed_ = false;
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        fn_();
        sink_.done();
      } else {
        sink_.done(fn_());
      }
    } catch (const FiberExit&) {
      sink_.fail(std::make_exception_ptr(FiberKilled()));
      throw;
    } catch (...) {
      sink_.fail(std::current_exception());
    }
  }

 private:
  F fn_;
  Sink sink_;
  bool armed_;
};

template <class R>
struct PromiseSink {
  std::promise<R> p;
  template <class... V>
  void done(V&&... v) { p.set_value(std::forward<V>(v)...); }
  void fail(std::exception_ptr e) { p.set_exception(std::move(e)); }
};
}  // namespace detail

class GREENEV_API HubHandle {
 public:
  // The calling thread's hub (created if needed).
  static HubHandle current();

  // Runs fn as a fiber on the target hub (name and stack size from opts). Thread-safe. False if
  // that hub has shut down (fn is then destroyed here, unrun). std::invalid_argument for an
  // impossible opts.stack_size.
  bool post(detail::PostFn fn) const { return post(SpawnOptions{}, std::move(fn)); }
  bool post(SpawnOptions opts, detail::PostFn fn) const;

  // Runs fn() as a fiber on the target hub; its value or exception arrives in the future. The
  // future holds HubStopped when fn will never run, FiberKilled when its fiber was killed.
  // For plain threads: future::get() blocks the calling thread (from a fiber use submit_async,
  // or greenev::wait(future) from <greenev/embed.hpp>).
  template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
  std::future<R> submit(F&& fn, SpawnOptions opts = {}) const {
    detail::PromiseSink<R> sink;
    std::future<R> fut = sink.p.get_future();
    post(std::move(opts), detail::PostedCall<std::decay_t<F>, detail::PromiseSink<R>>(
                              std::decay_t<F>(std::forward<F>(fn)), std::move(sink)));
    return fut;  // a refused post destroyed the call unrun: the future already holds HubStopped
  }

  // As submit(), but the result is an AsyncResult bound to the calling thread's hub: a fiber
  // there waits on it cooperatively (get() parks the fiber). Defined in <greenev/event.hpp>.
  template <class F, class R = std::invoke_result_t<std::decay_t<F>&>>
  AsyncResult<R> submit_async(F&& fn, SpawnOptions opts = {}) const;

  // True when both handles name the same hub.
  bool operator==(const HubHandle& o) const noexcept { return inbox_ == o.inbox_; }
  // False once the hub is gone (its thread exited or HubThread stopped).
  bool alive() const noexcept;
  // Keeps the target hub's loop from "would block forever" until release_keepalive(): for a
  // thread that will post later. Thread-safe.
  void add_keepalive() const;
  void release_keepalive() const;

 private:
  friend class HubThread;
  explicit HubHandle(std::shared_ptr<detail::Inbox> in) : inbox_(std::move(in)) {}
  std::shared_ptr<detail::Inbox> inbox_;
};

struct HubStats {
  std::uint64_t switches = 0;        // context switches performed by this hub
  std::uint64_t loop_iterations = 0; // libev loop polls
  std::size_t fibers_alive = 0;      // spawned and not finished (main excluded)
  std::size_t active_watchers = 0;   // libev watchers greenev started and has not stopped
  std::size_t fds_watched = 0;       // fds in the loop's poll set (waited on, or kept armed between waits)
};
GREENEV_API HubStats hub_stats();

// Default stack size for new fibers (rounded up to pages). Default 256 KiB: virtual space only
// (pages are touched on demand), enough for third-party C libraries (TLS handshakes, libpq) that
// were written for 8 MiB thread stacks, and an idle fiber still costs ~one 4 KiB page.
GREENEV_API void set_default_stack_size(std::size_t bytes);
GREENEV_API std::size_t default_stack_size() noexcept;

// Prints every fiber of this thread's hub (id, name, state, wait reason) to stderr.
GREENEV_API void dump_fibers();

}  // namespace greenev
