// runtime/embed/hub_thread.cpp — HubThread, run(), run_until(): threads that serve as hubs.
//
// HubThread's thread: create the hub and a cross_thread stop Event, publish the handle, serve
// (run_until), then kill what is still alive, close the inbox and let the hub go with the thread.
// stop() sets the Event under Control::mu; the thread clears its pointer to the Event under the
// same mutex before the Event leaves scope, so a set() never reaches a destroyed Event.
// Killing uses the hub's live-fiber list and kill_and_wait (the same path as the thread-exit
// policy in core/hub.cpp, minus its report: here the kill is the documented effect of stop()).
#include <greenev/hub_thread.hpp>
#include <greenev/thread_wait.hpp>

#include "core/hub.hpp"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <stdexcept>
#include <vector>

namespace greenev {

namespace {

void require_main(detail::Hub& h, const char* what) {
  if (h.running() != h.main_fiber()) {
    const char* name = h.name_of(h.running());
    throw std::logic_error(std::string("greenev::") + what + "() called inside fiber '" +
                           (name ? name : "fiber-" + std::to_string(h.running()->id())) +
                           "': call it from the thread's own stack (it would wait on itself)");
  }
}

// Kills and unwinds every live fiber of h, from h's main fiber. Rounds: fibers spawned by others'
// unwinding (or drained from the inbox meanwhile) are killed in the next round.
void kill_all(detail::Hub& h) {
  for (int round = 0; round < 4 && h.live_head(); ++round) {
    std::vector<detail::FiberBase*> snap;
    for (detail::FiberBase* f = h.live_head(); f; f = f->all_next_) snap.push_back(f);
    for (detail::FiberBase* f : snap) f->add_ref();
    try {
      for (detail::FiberBase* f : snap) detail::kill_and_wait(f);
    } catch (...) {  // LoopExit: a victim swallowed FiberExit and parks forever; the hub reports it
      for (detail::FiberBase* f : snap) f->release();
      return;
    }
    for (detail::FiberBase* f : snap) f->release();
  }
}

}  // namespace

struct HubThread::Control {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<HubHandle> handle;  // set once the hub exists
  std::exception_ptr start_error;
  bool started = false;
  Event* stop_ev = nullptr;  // the thread's stop Event while it serves
  bool stop_requested = false;
};

HubThread::HubThread(std::string name)
    : ctl_(std::make_shared<Control>()),
      thread_([c = ctl_, name = std::move(name)] {
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
        std::optional<Event> stop;
        try {
          stop.emplace(cross_thread);  // creates this thread's hub
          std::lock_guard lk(c->mu);
          c->handle = HubHandle::current();
          c->stop_ev = &*stop;
          c->started = true;
        } catch (...) {
          std::lock_guard lk(c->mu);
          c->start_error = std::current_exception();
          c->started = true;
          c->cv.notify_all();
          return;
        }
        c->cv.notify_all();
        run_until(*stop);
        {
          std::lock_guard lk(c->mu);
          c->stop_ev = nullptr;
        }
        detail::Hub& h = detail::Hub::current();
        kill_all(h);
        detail::close_inbox(*h.inbox()).clear();  // unrun posts: destroyed (submits: HubStopped)
        kill_all(h);  // what was drained between the last round and the close
      }),
      handle_(await_start(*this)) {}

HubHandle HubThread::await_start(HubThread& self) {
  Control& c = *self.ctl_;
  std::unique_lock lk(c.mu);
  c.cv.wait(lk, [&] { return c.started; });
  if (c.start_error) {
    lk.unlock();
    self.thread_.join();
    std::rethrow_exception(c.start_error);
  }
  return *c.handle;
}

HubThread::~HubThread() {
  // Blocking join: a destructor may run while FiberExit unwinds the caller, where a cooperative
  // join (a suspension point) would raise a second time.
  request_stop();
  if (thread_.joinable()) thread_.join();
}

void HubThread::request_stop() noexcept {
  std::lock_guard lk(ctl_->mu);
  ctl_->stop_requested = true;
  if (ctl_->stop_ev) std::exchange(ctl_->stop_ev, nullptr)->set();
}

void HubThread::stop() {
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id())
    throw std::logic_error("greenev: HubThread::stop() called on its own thread (it would join itself)");
  request_stop();
  if (detail::Hub::current_or_null()) {
    greenev::join(thread_);  // a fiber (or main) of another hub: park, do not block that hub
  } else {
    thread_.join();
  }
}

void run() {
  detail::Hub& h = detail::Hub::current();
  require_main(h, "run");
  detail::WaitList wl;
  const detail::WakeReason r = wl.wait("hub_run", detail::kForever);
  if (r == detail::WakeReason::loop_exit) {
    if (h.live_head()) {
      std::fprintf(stderr, "greenev: run() returns with %zu fiber(s) parked that nothing can wake:\n",
                   h.stats().fibers_alive);
      h.dump_live(stderr);
    }
    return;
  }
  detail::raise_for(r);
}

void run_until(Event& ev) {
  detail::Hub& h = detail::Hub::current();
  require_main(h, "run_until");
  const HubHandle self = HubHandle::current();
  self.add_keepalive();  // posts from other threads may be what sets ev
  struct Release {
    const HubHandle& s;
    ~Release() { s.release_keepalive(); }
  } release{self};
  ev.wait();
}

}  // namespace greenev
