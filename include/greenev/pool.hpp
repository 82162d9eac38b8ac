// greenev/pool.hpp — Group (a set of fibers managed together) and Pool(n) (a Group that runs at
// most n at once), as gevent.pool.
//
// A fiber is a member from spawn()/add() until it finishes; finished fibers leave by themselves
// (a done-callback), so size() is the number still running. join() waits ("group_join") until
// the group is empty, kill() kills every member and waits for them.
// Pool(n): spawn()/add() wait ("pool_spawn") while n members run. A finishing member hands its
// slot straight to the first waiting spawner (FIFO), so at most n members ever run, a spawner
// cannot be overtaken, and a spawner that times out or is killed while waiting takes no slot.
// map(f, range) runs f on every element (through spawn, so a Pool bounds the concurrency) and
// returns the results in input order (void f: returns nothing, after all finished);
// imap(f, range) yields them in input order as they become available, imap_unordered(f, range)
// in completion order (both a ResultStream). All rethrow the first exception they meet.
// apply(f, args...) runs f as a member and waits for its value (gevent's Pool.apply: the pool's
// bound applies); apply_async(f, args...) spawns it and returns the Fiber at once.
// The group's bookkeeping is shared with its members' callbacks, so destroying a Group (or Pool)
// while members run is safe: they keep running, unmanaged. Confined to one hub thread.
// Rejected: a slot Semaphore released by a wrapper around the user's callable (a fiber killed
// before it starts never runs its wrapper) — the done-callback runs on every way out.
#pragma once
#include <greenev/detail/confined.hpp>
#include <greenev/detail/sync_common.hpp>
#include <greenev/fiber.hpp>
#include <greenev/queue.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace greenev {

namespace detail {

// Members, join waiters and slot accounting (runtime/sync/sync_pool.cpp).
struct GREENEV_API GroupState : std::enable_shared_from_this<GroupState> {
  explicit GroupState(std::size_t limit) : limit(limit) {}
  ~GroupState();

  // Waits for a free slot (always free without a limit); the caller then owns a reservation.
  bool reserve(Deadline d);
  void unreserve() noexcept;  // the reserved slot is not used after all
  // Makes f a member, consuming a reservation (f has not run yet) or, for a running fiber, none.
  void add(FiberBase* f, bool reserved);
  bool join(Deadline d);
  void kill(bool wait);

  std::size_t limit;
  std::size_t reserved = 0;             // slots handed out, member not added yet
  std::unordered_set<FiberBase*> members;  // each holds a reference
  WaitList joiners;                     // "group_join"
  WaitList spawners;                    // "pool_spawn"

 private:
  void on_member_done(FiberBase* f) noexcept;
};

// Releases a reservation unless the spawn went through.
struct Reservation {
  GroupState* st;
  bool armed = true;
  ~Reservation() {
    if (armed) st->unreserve();
  }
};

}  // namespace detail

template <class R>
class ResultStream;

class Group {
 public:
  Group() : st_(std::make_shared<detail::GroupState>(std::numeric_limits<std::size_t>::max())) {}
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Spawns a member (waits for a slot in a Pool).
  template <class F, class... Args>
  auto spawn(F&& f, Args&&... args) {
    GREENEV_CHECK_CONFINED(st_->joiners, "Group::spawn");
    st_->reserve(detail::kForever);
    detail::Reservation res{st_.get()};
    auto fib = greenev::spawn(std::forward<F>(f), std::forward<Args>(args)...);
    res.armed = false;
    st_->add(fib.native(), true);
    return fib;
  }
  template <class F, class... Args>
  auto spawn(SpawnOptions opts, F&& f, Args&&... args) {
    GREENEV_CHECK_CONFINED(st_->joiners, "Group::spawn");
    st_->reserve(detail::kForever);
    detail::Reservation res{st_.get()};
    auto fib = greenev::spawn(std::move(opts), std::forward<F>(f), std::forward<Args>(args)...);
    res.armed = false;
    st_->add(fib.native(), true);
    return fib;
  }
  // Adopts an already spawned fiber (waits for a slot in a Pool). A finished one is ignored.
  template <class R>
  void add(const Fiber<R>& f) {
    GREENEV_CHECK_CONFINED(st_->joiners, "Group::add");
    if (f.ready()) return;
    st_->reserve(detail::kForever);
    st_->add(f.native(), true);
  }

  std::size_t size() const noexcept { return st_->members.size(); }
  bool empty() const noexcept { return st_->members.empty(); }

  // Waits until every member finished.
  void join() {
    GREENEV_CHECK_CONFINED(st_->joiners, "Group::join");
    st_->join(detail::kForever);
  }
  template <class Rep, class Per>
  bool join(std::chrono::duration<Rep, Per> d) {
    GREENEV_CHECK_CONFINED(st_->joiners, "Group::join");
    return st_->join(detail::deadline_after(d));
  }
  // Kills every member and waits for them to finish; kill(no_wait) only requests it.
  void kill() {
    GREENEV_CHECK_CONFINED(st_->joiners, "Group::kill");
    st_->kill(true);
  }
  void kill(no_wait_t) {
    GREENEV_CHECK_CONFINED(st_->joiners, "Group::kill");
    st_->kill(false);
  }

  // f(x) for every x of r, concurrently (bounded by a Pool); results in input order. Waits for
  // all of them, then rethrows the first exception in input order, if any.
  // A void f: waits for all, then rethrows the first exception in input order, returns nothing.
  template <class F, class Range>
  auto map(F f, Range&& r) {
    using Item = std::ranges::range_value_t<Range>;
    using R = std::invoke_result_t<F&, Item&>;
    std::vector<Fiber<R>> fibers;
    for (auto&& x : r) fibers.push_back(spawn(f, Item(x)));
    for (auto& fb : fibers) fb.wait();
    if constexpr (std::is_void_v<R>) {
      for (auto& fb : fibers) fb.get();
    } else {
      std::vector<R> out;
      out.reserve(fibers.size());
      for (auto& fb : fibers) out.push_back(fb.get());
      return out;
    }
  }

  // Runs f(args...) as a member (waiting for a slot in a Pool) and returns its value or
  // rethrows its exception (gevent's Pool.apply). The caller waits in join().
  template <class F, class... Args>
  auto apply(F&& f, Args&&... args) {
    return spawn(std::forward<F>(f), std::forward<Args>(args)...).join();
  }
  // Spawns f(args...) as a member and returns the Fiber at once, or after waiting for a slot in
  // a full Pool (gevent's Pool.apply_async); join() it, or link_value()/link_exception() it.
  template <class F, class... Args>
  auto apply_async(F&& f, Args&&... args) {
    return spawn(std::forward<F>(f), std::forward<Args>(args)...);
  }

  // As map(), but a ResultStream that yields each result as soon as it is ready. The elements
  // are copied first; this Group must outlive the stream.
  template <class F, class Range>
  auto imap_unordered(F f, Range&& r);
  // As imap_unordered(), but in input order: the next() waits for the next element's result
  // even when later ones are done (they run meanwhile, bounded by a Pool).
  template <class F, class Range>
  auto imap(F f, Range&& r);

 protected:
  explicit Group(std::size_t limit) : st_(std::make_shared<detail::GroupState>(limit)) {}
  std::shared_ptr<detail::GroupState> st_;
};

class Pool : public Group {
 public:
  explicit Pool(std::size_t n) : Group(n) {
    if (n == 0) throw std::invalid_argument("greenev: Pool size must be at least 1");
  }
  std::size_t capacity() const noexcept { return st_->limit; }
  std::size_t free_count() const noexcept {
    const std::size_t used = st_->members.size() + st_->reserved;
    return used >= st_->limit ? 0 : st_->limit - used;
  }
  bool full() const noexcept { return free_count() == 0; }
  // Waits until a spawn would not wait; true when it would not.
  void wait_available() {
    GREENEV_CHECK_CONFINED(st_->joiners, "Pool::wait_available");
    if (full()) {
      st_->reserve(detail::kForever);
      st_->unreserve();
    }
  }
  template <class Rep, class Per>
  bool wait_available(std::chrono::duration<Rep, Per> d) {
    GREENEV_CHECK_CONFINED(st_->joiners, "Pool::wait_available");
    if (!full()) return true;
    if (!st_->reserve(detail::deadline_after(d))) return false;
    st_->unreserve();
    return true;
  }
};

// Results of imap_unordered (completion order) or imap (input order). next() waits ("queue_get",
// or "join" for imap) for the next one:
// nullopt once all are delivered; a task's exception is rethrown by the next() that meets it.
// Also an input range: for (auto& v : stream).
template <class R>
class ResultStream {
 public:
  struct Outcome {
    std::optional<R> value;
    std::exception_ptr error;
  };
  struct State {
    Queue<Outcome> q;  // unordered: unbounded; closed by the feeder once every task has finished
    Queue<Fiber<R>> ordered;  // imap: the tasks in input order; closed once all are spawned
    bool is_ordered = false;
  };

  ResultStream(std::shared_ptr<State> st, Fiber<void> feeder) : st_(std::move(st)), feeder_(std::move(feeder)) {}
  ResultStream(ResultStream&&) noexcept = default;
  ResultStream& operator=(ResultStream&&) = delete;
  ~ResultStream() {
    if (feeder_ && !feeder_.ready()) feeder_.kill(no_wait);  // stops spawning; started tasks finish
  }

  std::optional<R> next() {
    if (st_->is_ordered) {
      Fiber<R> t;
      try {
        t = st_->ordered.get();
      } catch (const ChannelClosed&) {
        return std::nullopt;
      }
      return t.join();
    }
    Outcome o;
    try {
      o = st_->q.get();
    } catch (const ChannelClosed&) {
      return std::nullopt;
    }
    if (o.error) std::rethrow_exception(o.error);
    return std::move(o.value);
  }

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(ResultStream* s) : s_(s) { ++*this; }
    R& operator*() { return *cur_; }
    iterator& operator++() {
      cur_ = s_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !cur_; }

   private:
    ResultStream* s_ = nullptr;
    std::optional<R> cur_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  std::shared_ptr<State> st_;
  Fiber<void> feeder_;
};

template <class F, class Range>
auto Group::imap_unordered(F f, Range&& r) {
  using Item = std::ranges::range_value_t<Range>;
  using R = std::invoke_result_t<F&, Item&>;
  static_assert(!std::is_void_v<R>, "greenev: imap_unordered() needs a function that returns a value");
  using Stream = ResultStream<R>;
  auto st = std::make_shared<typename Stream::State>();
  std::vector<Item> items(std::ranges::begin(r), std::ranges::end(r));
  auto feeder = greenev::spawn([this, st, f = std::move(f), items = std::move(items)]() mutable {
    std::vector<Fiber<void>> tasks;
    tasks.reserve(items.size());
    for (auto& x : items) {
      tasks.push_back(spawn([st, f, x = std::move(x)]() mutable {
        typename Stream::Outcome o;
        try {
          o.value.emplace(f(x));
        } catch (const FiberExit&) {
          throw;
        } catch (...) {
          o.error = std::current_exception();
        }
        st->q.put(std::move(o));
      }));
    }
    for (auto& t : tasks) t.wait();
    st->q.close();
  });
  return Stream(std::move(st), std::move(feeder));
}

template <class F, class Range>
auto Group::imap(F f, Range&& r) {
  using Item = std::ranges::range_value_t<Range>;
  using R = std::invoke_result_t<F&, Item&>;
  static_assert(!std::is_void_v<R>, "greenev: imap() needs a function that returns a value");
  using Stream = ResultStream<R>;
  auto st = std::make_shared<typename Stream::State>();
  st->is_ordered = true;
  std::vector<Item> items(std::ranges::begin(r), std::ranges::end(r));
  auto feeder = greenev::spawn([this, st, f = std::move(f), items = std::move(items)]() mutable {
    struct CloseAtEnd {
      typename Stream::State* s;
      ~CloseAtEnd() { s->ordered.close(); }  // also when killed: the consumer sees the end
    } closer{st.get()};
    for (auto& x : items) st->ordered.put(spawn([f, x = std::move(x)]() mutable { return f(x); }));
  });
  return Stream(std::move(st), std::move(feeder));
}

}  // namespace greenev
