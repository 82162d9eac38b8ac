// greenev/fiber_local.hpp — per-fiber storage (gevent.local, boost::fibers::fiber_specific_ptr).
//
// FiberLocal<T> gives each fiber (main included) its own T, default-constructed on first access and
// destroyed when the fiber finishes. Slots are an index into a per-fiber vector: O(1) access.
// A FiberLocal must outlive every fiber that touched it (typically: a static or global).
#pragma once
#include <greenev/detail/config.hpp>

#include <cstddef>

namespace greenev {

namespace detail {
GREENEV_API std::size_t fls_new_key() noexcept;
GREENEV_API void* fls_get(std::size_t key, void* (*make)(), void (*destroy)(void*));
}  // namespace detail

template <class T>
class FiberLocal {
 public:
  FiberLocal() : key_(detail::fls_new_key()) {}
  FiberLocal(const FiberLocal&) = delete;
  FiberLocal& operator=(const FiberLocal&) = delete;

  T& get() {
    return *static_cast<T*>(detail::fls_get(
        key_, []() -> void* { return new T(); }, [](void* p) { delete static_cast<T*>(p); }));
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }

 private:
  std::size_t key_;
};

}  // namespace greenev
