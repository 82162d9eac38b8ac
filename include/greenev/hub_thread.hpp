// greenev/hub_thread.hpp — a thread that runs a hub: HubThread, run(), run_until().
//
//   greenev::HubThread io("io");                        // a std::thread running a hub
//   auto f = io.handle().submit([] { return fetch(); });  // from any thread
//   io.stop();                                          // or let the destructor do it
//
// HubThread starts a std::thread, creates its hub there, and returns once the hub exists (so
// handle() is usable at once). The thread serves posts until stop(): stop() asks it to end, then
// joins it. On the way out, fibers still alive there are killed and unwound (their destructors
// run, as for Fiber::kill), up to four rounds for fibers spawned while others unwind; then the
// inbox closes (posts return false, unrun submits hold HubStopped) and the hub is destroyed. A
// fiber that swallows FiberExit and parks forever is reported on stderr by the hub at exit; one
// that swallows it and carries on keeps stop() waiting, said on stderr after 5 s (fiber.hpp).
// Called from a fiber on another hub, stop() waits for the thread cooperatively (greenev::join).
//
// run() / run_until(ev) make the *calling* thread serve as a hub from its own stack (the main
// fiber): run() returns when nothing more can happen (every fiber finished, or parked with
// nothing able to wake it — those are listed on stderr; no watcher, no keepalive), run_until(ev)
// when ev is set, holding a keepalive meanwhile so posts from other threads are served.
// Both throw std::logic_error when called inside a fiber (it would wait on itself).
// Rejected: a HubThread that detaches on destruction (a fiber left running after main returns
// touches destroyed statics), and stop() that abandons live fibers (their RAII never runs).
#pragma once
#include <greenev/detail/config.hpp>
#include <greenev/event.hpp>
#include <greenev/hub.hpp>

#include <memory>
#include <string>
#include <thread>

namespace greenev {

class GREENEV_API HubThread {
 public:
  // Starts the thread (named `name`, truncated to 15 bytes for the OS) and waits for its hub.
  // Throws std::system_error when the thread or its hub cannot be created.
  explicit HubThread(std::string name = "greenev-hub");
  ~HubThread();  // stop()
  HubThread(const HubThread&) = delete;
  HubThread& operator=(const HubThread&) = delete;

  const HubHandle& handle() const noexcept { return handle_; }
  // Shorthands for handle().post / submit / submit_async.
  bool post(detail::PostFn fn) const { return handle_.post(std::move(fn)); }
  template <class F>
  auto submit(F&& fn, SpawnOptions opts = {}) const {
    return handle_.submit(std::forward<F>(fn), std::move(opts));
  }
  template <class F>
  auto submit_async(F&& fn, SpawnOptions opts = {}) const {
    return handle_.submit_async(std::forward<F>(fn), std::move(opts));
  }

  // Stops the hub (see the file comment) and joins the thread. Idempotent; call it from one
  // thread at a time. std::logic_error from the hub's own thread (it cannot join itself).
  void stop();
  bool running() const noexcept { return thread_.joinable(); }
  std::thread::id id() const noexcept { return thread_.get_id(); }

 private:
  struct Control;
  void request_stop() noexcept;
  static HubHandle await_start(HubThread& self);
  std::shared_ptr<Control> ctl_;
  std::thread thread_;
  HubHandle handle_;  // after thread_: taken from the started thread
};

// Serves this thread's hub from its own stack until nothing more can happen (see above).
GREENEV_API void run();
// Serves this thread's hub until ev (owned by this hub, or cross_thread) is set.
GREENEV_API void run_until(Event& ev);

}  // namespace greenev
