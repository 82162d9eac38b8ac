// greenev/detail/unique_function.hpp — a move-only type-erased callable (std::move_only_function's
// shape; GCC 12 has none in C++20 mode).
//
// UniqueFunction<R(Args...)> holds any callable that is move-constructible (copyable or not):
// lambdas capturing std::promise / std::unique_ptr, std::function, function pointers. Callables
// of at most kInline bytes (alignment <= 16) that are nothrow-move-constructible live inline (no
// allocation: the common cross-thread post captures a pointer or two); larger ones go to the heap.
// Invariants: empty() after default construction or after being moved from; calling an empty one
// is a bug (asserted), not an exception. One vtable pointer per instance: invoke / move / destroy.
// Rejected: std::function (copyable targets only: the reason this exists), and a shared_ptr
// wrapper to make move-only lambdas copyable (an allocation + atomic refcount per post).
#pragma once
#include <cassert>
#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace greenev::detail {

template <class Sig>
class UniqueFunction;

template <class R, class... Args>
class UniqueFunction<R(Args...)> {
 public:
  static constexpr std::size_t kInline = 48;

  UniqueFunction() noexcept = default;
  UniqueFunction(std::nullptr_t) noexcept {}

  template <class F, class D = std::decay_t<F>>
    requires(!std::is_same_v<D, UniqueFunction> && std::is_invocable_r_v<R, D&, Args...> &&
             std::is_constructible_v<D, F>)
  UniqueFunction(F&& f) {  // NOLINT: implicit, like std::function
    if (is_null(f)) return;  // an empty std::function / null pointer gives an empty one
    if constexpr (fits_inline<D>()) {
      ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
      ops_ = &inline_ops<D>;
    } else {
      *reinterpret_cast<D**>(buf_) = new D(std::forward<F>(f));
      ops_ = &heap_ops<D>;
    }
  }

  UniqueFunction(UniqueFunction&& o) noexcept : ops_(o.ops_) {
    if (ops_) {
      ops_->move(o.buf_, buf_);
      o.ops_ = nullptr;
    }
  }
  UniqueFunction& operator=(UniqueFunction&& o) noexcept {
    if (this != &o) {
      reset();
      if (o.ops_) {
        o.ops_->move(o.buf_, buf_);
        ops_ = std::exchange(o.ops_, nullptr);
      }
    }
    return *this;
  }
  UniqueFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;
  ~UniqueFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  R operator()(Args... args) {
    assert(ops_ && "greenev: calling an empty UniqueFunction");
    return ops_->invoke(buf_, std::forward<Args>(args)...);
  }

  void reset() noexcept {
    if (ops_) std::exchange(ops_, nullptr)->destroy(buf_);
  }

 private:
  struct Ops {
    R (*invoke)(void*, Args&&...);
    void (*move)(void* from, void* to) noexcept;  // leaves `from` destroyed
    void (*destroy)(void*) noexcept;
  };

  template <class D>
  static constexpr bool fits_inline() {
    return sizeof(D) <= kInline && alignof(D) <= 16 && std::is_nothrow_move_constructible_v<D>;
  }
  template <class F>
  static bool is_null(const F& f) {
    if constexpr (std::is_pointer_v<std::decay_t<F>> || std::is_member_pointer_v<std::decay_t<F>>) {
      return f == nullptr;
    } else if constexpr (requires { typename std::decay_t<F>::result_type; } &&
                         std::is_constructible_v<bool, const F&>) {
      return !static_cast<bool>(f);  // std::function and look-alikes
    } else {
      return false;
    }
  }

  template <class D>
  static constexpr Ops inline_ops{
      [](void* p, Args&&... a) -> R { return std::invoke(*static_cast<D*>(p), std::forward<Args>(a)...); },
      [](void* from, void* to) noexcept {
        ::new (to) D(std::move(*static_cast<D*>(from)));
        static_cast<D*>(from)->~D();
      },
      [](void* p) noexcept { static_cast<D*>(p)->~D(); }};

  template <class D>
  static constexpr Ops heap_ops{
      [](void* p, Args&&... a) -> R { return std::invoke(**static_cast<D**>(p), std::forward<Args>(a)...); },
      [](void* from, void* to) noexcept { *static_cast<D**>(to) = *static_cast<D**>(from); },
      [](void* p) noexcept { delete *static_cast<D**>(p); }};

  alignas(16) unsigned char buf_[kInline];
  const Ops* ops_ = nullptr;
};

}  // namespace greenev::detail
