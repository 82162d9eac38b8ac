// greenev/detail/hub_submit.hpp — HubHandle::submit_async, defined where AsyncResult is complete
// (included at the end of <greenev/event.hpp>; hub.hpp cannot include event.hpp: event.hpp's
// cross-thread machinery itself needs HubHandle).
//
// The AsyncResult is created cross_thread on the *calling* thread's hub, so the target hub sets
// it from its thread and the caller's fibers park on it (the wait keeps the caller's loop alive).
#pragma once
#include <greenev/event.hpp>
#include <greenev/hub.hpp>

namespace greenev {
namespace detail {
template <class R>
struct ResultSink {
  AsyncResult<R> r;
  template <class... V>
  void done(V&&... v) { r.set(std::forward<V>(v)...); }
  void fail(std::exception_ptr e) { r.set_exception(std::move(e)); }
};
}  // namespace detail

template <class F, class R>
AsyncResult<R> HubHandle::submit_async(F&& fn, SpawnOptions opts) const {
  detail::ResultSink<R> sink{AsyncResult<R>(cross_thread)};
  AsyncResult<R> res = sink.r;
  post(std::move(opts), detail::PostedCall<std::decay_t<F>, detail::ResultSink<R>>(
                            std::decay_t<F>(std::forward<F>(fn)), std::move(sink)));
  return res;  // a refused post destroyed the call unrun: res already holds HubStopped
}

}  // namespace greenev
