// runtime/embed/thread_wait.cpp — sliced blocking waits on the thread pool (greenev/thread_wait.hpp).
//
// Each slice is one Interrupt::deferred pool job: the fiber waits for the slice to end whatever
// happens, so the job may use the caller's object (the future, the std::thread), and a kill or
// Timeout that lands meanwhile stays pending; yield_now() between slices raises it. A slice ends
// at the earliest of 50 ms, the wait's deadline and the innermost Timeout scope's deadline, so a
// scope is honoured on time and a kill within 50 ms.
// std::thread after pthread_timedjoin_np succeeded: the thread is joined but the object still
// holds its id; a fresh std::thread is constructed in its storage without running the old
// destructor (which would terminate: it is "joinable"), which [basic.life] allows because nothing
// depends on that destructor's side effects.
#include <greenev/thread_wait.hpp>
#include <greenev/this_fiber.hpp>
#include <greenev/threadpool.hpp>

#include "core/hub.hpp"
#include "core/scope.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <new>
#include <pthread.h>
#include <system_error>

namespace greenev::detail {

namespace {
constexpr Deadline kSlice = 50'000'000;  // 50 ms
}

bool wait_sliced(SliceFn slice, Deadline deadline) {
  Hub* h = Hub::current_or_null();
  if (!h) return slice.fn(slice.ctx, deadline);  // a plain thread: just block
  for (;;) {
    const Deadline now = now_ns();
    FiberBase* self = h->running();
    if (self->kill_pending_ || (self->scopes_ && scope_deadline(self) <= now)) yield_now();  // raises
    Deadline end = std::min(deadline, now + kSlice);
    if (self->scopes_) end = std::min(end, scope_deadline(self));
    bool ready = false;
    std::exception_ptr err;
    const WakeReason r = run_blocking_nothrow(
        [&]() noexcept {
          try {
            ready = slice.fn(slice.ctx, end);
          } catch (...) {
            err = std::current_exception();
          }
        },
        Interrupt::deferred);
    if (r == WakeReason::loop_exit) throw_lost_to_fork();
    if (err) std::rethrow_exception(err);
    if (ready) return true;
    yield_now();  // raises a kill or Timeout that arrived during the slice
    if (now_ns() >= deadline) return slice.fn(slice.ctx, 0);  // one last look, without blocking
  }
}

namespace {
bool timed_join_slice(void* ctx, Deadline end) {
  auto* t = static_cast<std::thread*>(ctx);
  timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  const Deadline left = std::max<Deadline>(0, end - now_ns());
  const std::int64_t ns = rt.tv_nsec + left % 1'000'000'000;
  timespec abs{rt.tv_sec + static_cast<time_t>(left / 1'000'000'000 + ns / 1'000'000'000),
               static_cast<long>(ns % 1'000'000'000)};
  const int rc = end == 0 ? pthread_tryjoin_np(t->native_handle(), nullptr)
                          : pthread_timedjoin_np(t->native_handle(), nullptr, &abs);
  if (rc == 0) {
    ::new (static_cast<void*>(t)) std::thread();  // joined: the object must stop holding its id
    return true;
  }
  if (rc == ETIMEDOUT || rc == EBUSY) return false;
  throw std::system_error(rc, std::generic_category(), "greenev::join(std::thread&)");
}
}  // namespace

bool join_thread_until(std::thread& t, Deadline deadline) {
  if (!t.joinable()) throw std::system_error(std::make_error_code(std::errc::invalid_argument), "greenev::join(std::thread&)");
  if (t.get_id() == std::this_thread::get_id())
    throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur), "greenev::join(std::thread&)");
  if (!Hub::current_or_null() && deadline == kForever) {
    t.join();
    return true;
  }
  return wait_sliced(SliceFn{&timed_join_slice, &t}, deadline);
}

}  // namespace greenev::detail

namespace greenev {
void join(std::thread& t) { detail::join_thread_until(t, detail::kForever); }
}  // namespace greenev
