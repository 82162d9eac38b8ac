// runtime/core/hub_handle.cpp — HubHandle: posting to another thread's hub through its inbox.
//
// post() pushes a PostItem under the inbox mutex and sends the ev_async while still holding it,
// so the hub cannot be destroyed between the push and the wake-up. An inbox that no longer
// accepts (hub gone, or HubThread stopping) refuses the item; the item is destroyed by the caller
// *after* the lock is released (destroying a submit()'s call fills its future, user code).
// Rejected: a lock-free MPSC list (the mutex is uncontended in practice and keeps fork's
// "take the inbox mutex around fork()" rule simple; see hub.cpp before_fork).
#include "core/hub.hpp"

#include <ev.h>

namespace greenev::detail {

std::vector<PostItem> close_inbox(Inbox& in) noexcept {
  std::vector<PostItem> unrun;
  std::lock_guard lk(in.mu);
  in.accepting = false;
  unrun.swap(in.items);
  return unrun;
}

namespace {
void wake(Inbox& in) noexcept {  // under in.mu, with in.hub set
  ev_async_send(in.hub->loop(), reinterpret_cast<ev_async*>(in.hub->async_storage()));
}
}  // namespace

}  // namespace greenev::detail

namespace greenev {

HubHandle HubHandle::current() { return HubHandle(detail::Hub::current().inbox()); }

bool HubHandle::post(SpawnOptions opts, detail::PostFn fn) const {
  if (!fn) throw std::invalid_argument("greenev: HubHandle::post of an empty function");
  detail::check_stack_request(opts.stack_size);
  detail::PostItem item{std::move(fn), std::move(opts.name), opts.stack_size};
  {
    std::lock_guard lk(inbox_->mu);
    if (inbox_->hub && inbox_->accepting) {
      inbox_->items.push_back(std::move(item));
      detail::wake(*inbox_);
      return true;
    }
  }
  return false;  // `item` (and what fn holds) is destroyed here, outside the lock
}

bool HubHandle::alive() const noexcept {
  std::lock_guard lk(inbox_->mu);
  return inbox_->hub && inbox_->accepting;
}

void HubHandle::add_keepalive() const {
  inbox_->keepalive.fetch_add(1, std::memory_order_release);
  std::lock_guard lk(inbox_->mu);
  if (inbox_->hub) detail::wake(*inbox_);
}

void HubHandle::release_keepalive() const {
  inbox_->keepalive.fetch_sub(1, std::memory_order_release);
  std::lock_guard lk(inbox_->mu);
  if (inbox_->hub) detail::wake(*inbox_);
}

}  // namespace greenev
