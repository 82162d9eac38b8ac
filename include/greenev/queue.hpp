// greenev/queue.hpp — queues between fibers (gevent.queue): Queue (FIFO), LifoQueue,
// PriorityQueue, JoinableQueue; Channel (channel.hpp) is the same machine with no buffer.
//
// Hand-off, not re-check: put() gives its item straight to the first waiting getter (it is moved
// into a slot on the getter's stack before the getter is unparked), and get() from a full queue
// pulls the first blocked putter's item into the buffer and completes that put. Hence:
//   getters waiting  => buffer empty;     putters waiting => buffer full (size() == maxsize()).
// A woken waiter has already received / delivered its item, even if it is killed or its Timeout
// expires before it runs; a waiter that times out or is killed while still queued has not, and
// its item stays with it. No item is lost or duplicated. Waiters are served FIFO.
// The item stays the caller's whenever a put does not deliver it: put/try_put take T&& (or copy a
// const T&) and move from it only on success, so after try_put(std::move(x)) == false, a timed
// put's false, or ChannelClosed, x still holds the item (a retry or a fallback can use it).
// Storage: a ring buffer (FIFO), a vector (LIFO), a binary heap (priority); each allocates only
// while growing towards maxsize, never per item in steady state. No std::function anywhere.
//
// close(): later put()s throw ChannelClosed; blocked putters wake and throw ChannelClosed (their
// items were not delivered); get() still drains what is buffered, then throws ChannelClosed;
// blocked getters wake and throw ChannelClosed. try_put() returns false and try_get() nullopt
// instead of throwing. Timed forms: put(v, d) -> bool, get(d) -> optional (false / nullopt on
// timeout; ChannelClosed on close). A Timeout scope raises TimeoutError; kill() raises FiberExit.
// for (auto& v : q) gets until the queue is closed and drained. peek() waits for an item and
// returns a reference to it without taking it.
// wait_any / select (wait.hpp) take queues: a queue is ready when get() would not wait (an item,
// a blocked putter, or closed); can_put(q) is ready when put() would not wait. They wait on a
// separate broadcast list (watchers_), notified only when someone watches, so the hand-off lists
// keep their one-waiter-one-item rule.
// Queues are confined to one hub thread (use the thread pool or AsyncResult between threads).
#pragma once
#include <greenev/detail/confined.hpp>
#include <greenev/detail/sync_common.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace greenev {

namespace detail {

// FIFO ring buffer of uninitialised slots; grows by doubling, never shrinks.
template <class T>
class RingStore {
 public:
  explicit RingStore(std::size_t maxsize) : limit_(maxsize) {}
  ~RingStore() {
    while (n_) pop();
    std::allocator<T>().deallocate(buf_, cap_);
  }
  RingStore(const RingStore&) = delete;
  RingStore& operator=(const RingStore&) = delete;

  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  template <class U>
  void push(U&& v) {
    if (n_ == cap_) grow();
    std::size_t tail = head_ + n_;
    if (tail >= cap_) tail -= cap_;
    ::new (static_cast<void*>(buf_ + tail)) T(std::forward<U>(v));
    ++n_;
  }
  const T& front() const noexcept { return *std::launder(buf_ + head_); }
  T pop() {
    T* p = std::launder(buf_ + head_);
    T v(std::move(*p));
    p->~T();
    if (++head_ == cap_) head_ = 0;
    --n_;
    return v;
  }

 private:
  void grow() {
    std::size_t ncap = cap_ ? cap_ * 2 : 16;
    if (ncap > limit_) ncap = std::max(limit_, cap_ + 1);  // a bounded queue stops at maxsize
    T* nb = std::allocator<T>().allocate(ncap);
    for (std::size_t i = 0; i < n_; ++i) {
      std::size_t j = head_ + i;
      if (j >= cap_) j -= cap_;
      ::new (static_cast<void*>(nb + i)) T(std::move(buf_[j]));
      buf_[j].~T();
    }
    std::allocator<T>().deallocate(buf_, cap_);
    buf_ = nb;
    cap_ = ncap;
    head_ = 0;
  }
  T* buf_ = nullptr;
  std::size_t cap_ = 0, head_ = 0, n_ = 0;
  std::size_t limit_;
};

template <class T>
class StackStore {
 public:
  explicit StackStore(std::size_t) {}
  std::size_t size() const noexcept { return v_.size(); }
  bool empty() const noexcept { return v_.empty(); }
  template <class U>
  void push(U&& x) {
    v_.push_back(std::forward<U>(x));
  }
  const T& front() const noexcept { return v_.back(); }
  T pop() {
    T x(std::move(v_.back()));
    v_.pop_back();
    return x;
  }

 private:
  std::vector<T> v_;
};

// Smallest first (per Compare), like Python's heapq / gevent's PriorityQueue.
template <class T, class Compare>
class HeapStore {
 public:
  explicit HeapStore(std::size_t) {}
  std::size_t size() const noexcept { return v_.size(); }
  bool empty() const noexcept { return v_.empty(); }
  template <class U>
  void push(U&& x) {
    v_.push_back(std::forward<U>(x));
    std::push_heap(v_.begin(), v_.end(), Greater{cmp_});
  }
  const T& front() const noexcept { return v_.front(); }
  T pop() {
    std::pop_heap(v_.begin(), v_.end(), Greater{cmp_});
    T x(std::move(v_.back()));
    v_.pop_back();
    return x;
  }

 private:
  struct Greater {
    Compare& c;
    bool operator()(const T& a, const T& b) const { return c(b, a); }
  };
  std::vector<T> v_;
  Compare cmp_{};
};

}  // namespace detail

// The queue machine; use Queue / LifoQueue / PriorityQueue / JoinableQueue / Channel.
template <class T, class Store>
class BasicQueue {
 public:
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  // Appends v, waiting for room ("queue_put") while the queue is full. On ChannelClosed the
  // item is still in v.
  void put(T&& v) { put_ns(v, detail::kForever); }
  void put(const T& v) {
    T copy(v);
    put_ns(copy, detail::kForever);
  }
  // As put(), gives up after d: false on timeout, and v still holds the item.
  template <class Rep, class Per>
  bool put(T&& v, std::chrono::duration<Rep, Per> d) {
    return put_ns(v, detail::deadline_after(d));
  }
  template <class Rep, class Per>
  bool put(const T& v, std::chrono::duration<Rep, Per> d) {
    T copy(v);
    return put_ns(copy, detail::deadline_after(d));
  }
  // Never waits: false when full (or closed), and v still holds the item.
  bool try_put(T&& v) {
    GREENEV_CHECK_CONFINED(getters_, "Queue::try_put");
    if (closed_) return false;
    return offer(v);
  }
  bool try_put(const T& v) {
    if (closed_ || !can_put()) return false;
    T copy(v);
    return offer(copy);
  }

  // Removes the next item, waiting ("queue_get") while the queue is empty.
  T get() { return *get_ns(detail::kForever); }
  // As get(), gives up after d: nullopt on timeout.
  template <class Rep, class Per>
  std::optional<T> get(std::chrono::duration<Rep, Per> d) {
    return get_ns(detail::deadline_after(d));
  }
  // Never waits: nullopt when empty (or closed and drained).
  std::optional<T> try_get() {
    GREENEV_CHECK_CONFINED(getters_, "Queue::try_get");
    return take();
  }

  // The item the next get() would return, left in the queue; waits ("queue_peek") while there
  // is none. ChannelClosed once closed and drained. The reference is valid until the queue
  // changes (a get, a put that reorders a PriorityQueue, a putter that gives up).
  const T& peek() { return *peek_ns(detail::kForever); }
  // As peek(), gives up after d: nullptr on timeout.
  template <class Rep, class Per>
  const T* peek(std::chrono::duration<Rep, Per> d) {
    return peek_ns(detail::deadline_after(d));
  }
  // Never waits: nullptr when nothing is there.
  const T* try_peek() const noexcept {
    if (!store_.empty()) return &store_.front();
    if (detail::Waiter* w = putters_.front()) return static_cast<const PutSlot*>(w->payload)->item;
    return nullptr;
  }

  // True when get() would not wait (an item or a blocked putter is there, or closed); true when
  // put() would not wait (room, a waiting getter, or closed). What wait_any(q) / can_put(q) test.
  bool can_get() const noexcept { return closed_ || !store_.empty() || !putters_.empty(); }
  bool can_put() const noexcept { return closed_ || !getters_.empty() || store_.size() < max_; }

  // for (auto& v : q): get() until the queue is closed and drained (an input range).
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(BasicQueue* q) : q_(q) { ++*this; }
    T& operator*() const { return *cur_; }
    iterator& operator++() {
      try {
        cur_.emplace(q_->get());
      } catch (const ChannelClosed&) {
        cur_.reset();
      }
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const noexcept { return !cur_; }

   private:
    BasicQueue* q_ = nullptr;
    mutable std::optional<T> cur_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

  // For wait_any (wait.hpp): notified whenever can_get() or can_put() may have become true.
  detail::WaitList& watch_list() noexcept { return watchers_; }

  // Wakes every waiter; see the file comment for what each operation does afterwards.
  void close() noexcept {
    GREENEV_CHECK_CONFINED(getters_, "Queue::close");
    closed_ = true;
    notify_watchers();
    getters_.notify_all();  // empty slots: they throw ChannelClosed
    putters_.notify_all();  // done == false: they throw ChannelClosed
  }
  bool closed() const noexcept { return closed_; }

  std::size_t size() const noexcept { return store_.size(); }
  bool empty() const noexcept { return store_.empty(); }
  bool full() const noexcept { return store_.size() >= max_; }
  std::size_t maxsize() const noexcept { return max_; }  // unbounded: SIZE_MAX; Channel: 0
  std::size_t getters_waiting() const noexcept { return getters_.size(); }
  std::size_t putters_waiting() const noexcept { return putters_.size(); }

 protected:
  explicit BasicQueue(std::size_t max) : store_(max), max_(max) {}
  ~BasicQueue() = default;

  std::size_t accepted_ = 0;  // items ever accepted (JoinableQueue counts its tasks with it)

 private:
  struct PutSlot {
    T* item;
    bool done;  // set by the getter that took *item
  };
  using GetSlot = std::optional<T>;

  // Delivers v without waiting, if a getter waits or there is room.
  bool offer(T& v) {
    if (detail::Waiter* w = getters_.front()) {
      static_cast<GetSlot*>(w->payload)->emplace(std::move(v));
      ++accepted_;
      getters_.notify_one();
      return true;
    }
    if (store_.size() < max_) {
      store_.push(std::move(v));
      ++accepted_;
      notify_watchers();
      return true;
    }
    return false;
  }

  void notify_watchers() noexcept {
    if (!watchers_.empty()) watchers_.notify_all();
  }

  bool put_ns(T& v, detail::Deadline d) {
    GREENEV_CHECK_CONFINED(getters_, "Queue::put");
    if (closed_) throw ChannelClosed();
    if (offer(v)) return true;
    PutSlot slot{&v, false};
    notify_watchers();  // a blocked putter makes get() ready (Channel)
    const bool woken = detail::wait_on(putters_, "queue_put", d, &slot);
    if (slot.done) return true;
    if (woken) throw ChannelClosed();  // woken without a taker: close()
    return false;
  }

  // Takes an item without waiting: from the buffer (then refills it from the first blocked
  // putter), or straight from a blocked putter (no buffer: Channel).
  std::optional<T> take() {
    if (!store_.empty()) {
      std::optional<T> v(store_.pop());
      notify_watchers();  // room for a put
      if (detail::Waiter* w = putters_.front()) {
        auto* s = static_cast<PutSlot*>(w->payload);
        store_.push(std::move(*s->item));
        s->done = true;
        ++accepted_;
        putters_.notify_one();
      }
      return v;
    }
    if (detail::Waiter* w = putters_.front()) {
      auto* s = static_cast<PutSlot*>(w->payload);
      std::optional<T> v(std::move(*s->item));
      s->done = true;
      ++accepted_;
      putters_.notify_one();
      return v;
    }
    return std::nullopt;
  }

  const T* peek_ns(detail::Deadline d) {
    GREENEV_CHECK_CONFINED(getters_, "Queue::peek");
    for (;;) {
      if (const T* p = try_peek()) return p;
      if (closed_) throw ChannelClosed();
      if (!detail::wait_on(watchers_, "queue_peek", d)) return try_peek();
    }
  }

  std::optional<T> get_ns(detail::Deadline d) {
    GREENEV_CHECK_CONFINED(getters_, "Queue::get");
    if (std::optional<T> v = take()) return v;
    if (closed_) throw ChannelClosed();
    GetSlot slot;
    notify_watchers();  // a waiting getter makes put() ready (Channel)
    const bool woken = detail::wait_on(getters_, "queue_get", d, &slot);
    if (slot) return slot;
    if (woken) throw ChannelClosed();  // woken empty-handed: close()
    return std::nullopt;
  }

  Store store_;
  std::size_t max_;
  bool closed_ = false;
  detail::WaitList getters_;
  detail::WaitList putters_;
  detail::WaitList watchers_;  // wait_any / peek: broadcast, no hand-off
};

// FIFO. maxsize 0 (the default) means unbounded, as in gevent/Python.
template <class T>
class Queue : public BasicQueue<T, detail::RingStore<T>> {
 public:
  explicit Queue(std::size_t maxsize = 0)
      : BasicQueue<T, detail::RingStore<T>>(maxsize ? maxsize : BasicQueue<T, detail::RingStore<T>>::unbounded) {}
};

// Last in, first out.
template <class T>
class LifoQueue : public BasicQueue<T, detail::StackStore<T>> {
 public:
  explicit LifoQueue(std::size_t maxsize = 0)
      : BasicQueue<T, detail::StackStore<T>>(maxsize ? maxsize : BasicQueue<T, detail::StackStore<T>>::unbounded) {}
};

// Smallest item first (Compare(a, b) true: a comes out before b). Equal items: any order.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, detail::HeapStore<T, Compare>> {
  using Base = BasicQueue<T, detail::HeapStore<T, Compare>>;

 public:
  explicit PriorityQueue(std::size_t maxsize = 0) : Base(maxsize ? maxsize : Base::unbounded) {}
};

// A FIFO queue that counts unfinished tasks: every accepted put() adds one, task_done() removes
// one, join() waits ("queue_join") until the count is zero.
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  using Queue<T>::Queue;
  ~JoinableQueue() = default;

  // Marks one item taken with get() as processed. std::logic_error if called too often.
  void task_done() {
    if (done_ >= this->accepted_) throw std::logic_error("greenev: task_done() called more times than items were put");
    if (++done_ == this->accepted_) joiners_.notify_all();
  }
  std::size_t unfinished_tasks() const noexcept { return this->accepted_ - done_; }
  void join() {
    while (unfinished_tasks() > 0) detail::wait_on(joiners_, "queue_join", detail::kForever);
  }
  template <class Rep, class Per>
  bool join(std::chrono::duration<Rep, Per> d) {
    const detail::Deadline dl = detail::deadline_after(d);
    while (unfinished_tasks() > 0)
      if (!detail::wait_on(joiners_, "queue_join", dl)) return unfinished_tasks() == 0;
    return true;
  }

 private:
  std::size_t done_ = 0;
  detail::WaitList joiners_;
};

}  // namespace greenev
