// runtime/diag/monitor.cpp — the blocked-hub monitor thread.
//
// One thread, started on request, wakes every threshold/4 and reads each registered hub's loop
// stamp (hub_diag.hpp). A hub out of its loop for longer than the threshold, with live fibers, is
// reported once per episode (an episode is one stamp value: the hub left its loop at that instant
// and has not been back). The report is built here, off the hub: /proc for the system call, one
// real-time signal for the running fiber's stack (stack_capture.cpp), symbols on this thread.
// When the episode ends, stderr gets one more line with its full length.
// fork(): the child has no monitor thread; the atfork child handler starts a new one.
// Rejected: a timer signal per hub (a signal every tick to healthy hubs) and checking in the hub's
// own loop (a blocked hub never gets there: the detector must live on another thread).
#include "diag/monitor.hpp"

#include "core/hub.hpp"
#include "diag/registry.hpp"
#include "diag/stack_capture.hpp"
#include "diag/syscalls.hpp"

#include <greenev/patches.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <string_view>
#include <thread>
#include <unistd.h>

namespace greenev::detail {

namespace {

bool is_runtime_object(std::string_view path) {
  auto base = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  for (std::string_view p : {"libc.so", "libgreenev", "libstdc++", "libpthread", "ld-linux", "libboost_context",
                             "libev.so", "libgcc_s", "libasan", "libtsan", "libubsan", "linux-vdso", "libm.so"})
    if (base.starts_with(p)) return true;
  return false;
}

std::string fmt_ms(std::chrono::nanoseconds d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f ms", static_cast<double>(d.count()) / 1e6);
  return b;
}

}  // namespace

BlockedCapture capture_blocked_hub(Hub* h, std::chrono::nanoseconds blocked_for) {
  patches::Disable real_calls;  // /proc reads: plain blocking calls, never a yield
  BlockedCapture c;
  c.tid = h->diag().tid;
  c.blocked_for = blocked_for;
  // The system call first: the capture signal interrupts it (and restarts it).
  c.sc = read_syscall(c.tid);
  if (c.sc.in_syscall) c.syscall_args_text = syscall_args_text(c.sc.nr, c.sc.args);
  if (c.sc.in_syscall && syscall_breaks_on_signal(c.sc.nr, c.sc.args)) {
    c.skip_note = "not taken: a signal would make " + syscall_name(c.sc.nr) + " fail with EINTR";
    return c;
  }
  c.signalled = true;
  c.running = capture_running(h, c.tid, std::chrono::milliseconds(500));
  return c;
}

diag::BlockedReport finish_blocked_report(const BlockedCapture& c) {
  patches::Disable real_calls;  // debug-info reads: plain blocking calls
  diag::BlockedReport r;
  r.thread_id = c.tid;
  r.blocked_for = c.blocked_for;
  const SyscallState& sc = c.sc;
  r.in_syscall = sc.in_syscall;
  if (sc.in_syscall) {
    r.syscall_nr = sc.nr;
    r.syscall_name = syscall_name(sc.nr);
    r.syscall_args = sc.args;
    r.syscall_args_text = c.syscall_args_text;
    Dl_info dl{};
    if (dladdr(reinterpret_cast<const void*>(sc.pc), &dl) && dl.dli_fname) {
      r.syscall_object = dl.dli_fname;
      if (dl.dli_sname) r.syscall_object += std::string(" (") + dl.dli_sname + ")";
    }
  }
  if (!c.signalled) {
    r.backtrace_note = c.skip_note;
  } else if (!c.running.ok) {
    r.backtrace_note = c.running.note;
  } else {
    r.fiber_id = c.running.fiber_id;
    r.fiber_name = c.running.fiber_name[0] ? c.running.fiber_name : "fiber-" + std::to_string(c.running.fiber_id);
    auto frames = symbolize(c.running.stack);
    r.backtrace = format_frames(frames);
    for (const FrameInfo& f : frames) {
      if (!f.object.empty() && !is_runtime_object(f.object)) {
        r.caller_object = f.object;
        r.caller_function = f.function;
        break;
      }
    }
  }

  std::string& t = r.text;
  t = "greenev: hub on thread " + std::to_string(r.thread_id) + " blocked for " + fmt_ms(r.blocked_for);
  if (!r.fiber_name.empty()) t += " by fiber " + std::to_string(r.fiber_id) + " '" + r.fiber_name + "'";
  t += " (not back in its event loop)\n";
  if (r.in_syscall) {
    t += "  in system call " + r.syscall_name + "(" + r.syscall_args_text + ")";
    if (!r.syscall_object.empty()) t += " from " + r.syscall_object;
    t += "\n";
  } else if (sc.running) {
    t += "  running in user space (not in a system call)\n";
  }
  if (!r.caller_object.empty()) t += "  called from " + r.caller_object + " (" + r.caller_function + ")\n";
  if (!r.backtrace.empty()) {
    t += "  backtrace:\n";
    for (const std::string& l : r.backtrace) t += "    " + l + "\n";
  } else {
    t += "  backtrace " + r.backtrace_note + "\n";
  }
  return r;
}

namespace {

class Monitor {
 public:
  void start(std::chrono::milliseconds threshold, diag::BlockedCallback cb) {
    std::unique_lock lk(mu_);
    threshold_ = threshold;
    cb_ = std::move(cb);
    if (running_) return;
    running_ = true;
    stop_ = false;
    thread_ = std::thread([this] { run(); });
    symbolizer_warm_up();  // the first report then comes out in milliseconds
  }
  void stop() {
    std::thread t;
    {
      std::lock_guard lk(mu_);
      if (!running_) return;
      stop_ = true;
      running_ = false;
      t = std::move(thread_);
    }
    cv_.notify_all();
    if (t.joinable()) t.join();
  }
  bool running() {
    std::lock_guard lk(mu_);
    return running_;
  }
  // fork child: the thread is gone. Forget it (never join a thread of the parent) and start anew.
  void after_fork_child() {
    mu_.unlock();
    if (!running_) return;
    new (&thread_) std::thread;  // the old handle names a parent thread: forget it, never join it
    running_ = false;
    start(threshold_, cb_);
  }
  void before_fork() { mu_.lock(); }
  void after_fork_parent() { mu_.unlock(); }

 private:
  void run() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      const auto threshold = threshold_;
      auto period = std::max<std::chrono::milliseconds>(threshold / 4, std::chrono::milliseconds(1));
      cv_.wait_for(lk, period, [&] { return stop_; });
      if (stop_) break;
      diag::BlockedCallback cb = cb_;
      lk.unlock();
      check(std::chrono::duration_cast<std::chrono::nanoseconds>(threshold).count(), cb);
      lk.lock();
    }
  }

  void check(Deadline threshold_ns, const diag::BlockedCallback& cb) {
    std::vector<std::string> lines;
    std::vector<BlockedCapture> captures;
    for_each_hub([&](const HubEntry& e) {
      HubDiag& d = e.hub->diag();
      const Deadline stamp = d.loop_stamp.load(std::memory_order_relaxed);
      const Deadline now = now_ns();
      if (d.reported_stamp != 0 && stamp != d.reported_stamp) {  // the reported episode is over
        if (!cb) {
          const Deadline back = stamp < 0 ? -stamp : stamp;
          lines.push_back("greenev: hub on thread " + std::to_string(d.tid) + " back in its event loop after " +
                          fmt_ms(std::chrono::nanoseconds(back - d.reported_stamp)) + "\n");
        }
        d.reported_stamp = 0;
      }
      if (stamp <= 0 || stamp == d.reported_stamp || now - stamp <= threshold_ns) return;
      if (e.hub->stats().fibers_alive == 0) return;  // nothing is kept waiting
      d.reported_stamp = stamp;
      ++d.blocked_episodes;
      reporting_.fetch_add(1);
      captures.push_back(capture_blocked_hub(e.hub, std::chrono::nanoseconds(now - stamp)));
    });
    write_stderr(lines);
    lines.clear();
    // Symbolize with the registry unlocked: hubs may come and go meanwhile.
    for (const BlockedCapture& c : captures) {
      diag::BlockedReport r = finish_blocked_report(c);
      if (cb) {
        try {
          cb(r);
        } catch (...) {
          lines.push_back("greenev: the blocked-hub callback threw; ignored\n");
        }
      } else {
        lines.push_back(std::move(r.text));
      }
      write_stderr(lines);
      lines.clear();
      reporting_.fetch_sub(1);
    }
  }

  static void write_stderr(const std::vector<std::string>& lines) {
    for (const std::string& l : lines) {
      const char* p = l.data();
      std::size_t left = l.size();
      while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n <= 0) break;
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
  }

 public:
  // At exit: a report being symbolized is still printed (bounded wait).
  void drain_at_exit() {
    const Deadline until = now_ns() + 5'000'000'000;
    while (reporting_.load() > 0 && now_ns() < until) {
      patches::Disable real;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  std::atomic<int> reporting_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  bool running_ = false;
  bool stop_ = false;
  std::chrono::milliseconds threshold_{100};
  diag::BlockedCallback cb_;
};

Monitor& monitor() {
  static auto* m = new Monitor;  // leaked: hubs may still exist during static destruction
  return *m;
}

void install_atfork() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork([] { monitor().before_fork(); }, [] { monitor().after_fork_parent(); },
                   [] { monitor().after_fork_child(); });
    std::atexit([] { monitor().drain_at_exit(); });
  });
}

}  // namespace

}  // namespace greenev::detail

namespace greenev::diag {

void start_monitor(std::chrono::milliseconds threshold, BlockedCallback on_blocked) {
  if (threshold < std::chrono::milliseconds(1))
    throw std::invalid_argument("greenev: the monitor threshold must be at least 1 ms");
  detail::install_atfork();
  detail::monitor().start(threshold, std::move(on_blocked));
}

void stop_monitor() { detail::monitor().stop(); }

bool monitor_running() noexcept {
  try {
    return detail::monitor().running();
  } catch (...) {
    return false;
  }
}

}  // namespace greenev::diag
