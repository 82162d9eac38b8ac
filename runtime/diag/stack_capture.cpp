// runtime/diag/stack_capture.cpp — see stack_capture.hpp. The signal protocol: one request at a
// time (g_mu); the requester publishes {hub, tid, out} and a generation, sends the signal with the
// generation as its value, and waits. The handler acts only on a matching generation and claims
// the request (pending -> writing) before touching `out`; a requester that gives up claims it back
// (pending -> idle), or, if the handler got there first, waits the few microseconds until done.
#define BOOST_STACKTRACE_LINK
#include "diag/stack_capture.hpp"

#include "core/context.hpp"
#include "core/hub.hpp"

#include <greenev/patches.hpp>

#include <boost/core/demangle.hpp>
#include <boost/stacktrace/frame.hpp>
#include <boost/stacktrace/safe_dump_to.hpp>

#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <signal.h>
#include <thread>
#include <ucontext.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace greenev::detail {

namespace {

enum : int { kIdle, kPending, kWriting, kDone };

struct SignalRequest {
  std::atomic<int> state{kIdle};
  std::atomic<int> generation{0};
  Hub* hub = nullptr;
  pid_t tid = 0;
  RunningCapture* out = nullptr;
};

constinit SignalRequest g_req;
constinit std::mutex g_mu;

int capture_signal() noexcept { return SIGRTMIN + 4; }

void copy_name(char (&dst)[64], const char* src) noexcept {
  std::size_t i = 0;
  if (src)
    for (; i + 1 < sizeof dst && src[i]; ++i) dst[i] = src[i];
  dst[i] = '\0';
}

// Async-signal-safe: no allocation, no locks (the unwinder's object lookup is lock-free).
void on_capture_signal(int, siginfo_t* si, void* uc) noexcept {
  const int saved_errno = errno;
  if (si->si_code == SI_QUEUE && si->si_value.sival_int == g_req.generation.load(std::memory_order_acquire) &&
      gettid() == g_req.tid) {
    int expect = kPending;
    if (g_req.state.compare_exchange_strong(expect, kWriting, std::memory_order_acq_rel)) {
      RunningCapture* out = g_req.out;
      RawStack& s = out->stack;
      s.n = boost::stacktrace::safe_dump_to(0, s.frames, sizeof s.frames);
      // Drop the handler's own frames and the signal trampoline: start at the interrupted pc.
      const auto pc = reinterpret_cast<const void*>(static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RIP]);
      for (std::size_t i = 0; i < s.n; ++i) {
        if (s.frames[i] == pc) {
          std::memmove(s.frames, s.frames + i, (s.n - i) * sizeof s.frames[0]);
          s.n -= i;
          break;
        }
      }
      if (const FiberBase* f = g_req.hub->running()) {
        out->fiber_id = f->id();
        copy_name(out->fiber_name, g_req.hub->name_of(f));
      }
      out->ok = true;
      g_req.state.store(kDone, std::memory_order_release);
    }
  }
  errno = saved_errno;
}

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_capture_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(capture_signal(), &sa, nullptr);
  });
}

// A suspended fiber's capture request; lives on the requester's stack for one switch.
struct FiberRequest {
  FiberBase* requester;
  RawStack* out;
};
thread_local FiberRequest* tls_fiber_req = nullptr;

}  // namespace

RunningCapture capture_running(Hub* h, pid_t tid, std::chrono::milliseconds wait) {
  install_handler();
  RunningCapture out;
  std::lock_guard lk(g_mu);
  g_req.hub = h;
  g_req.tid = tid;
  g_req.out = &out;
  const int gen = g_req.generation.load(std::memory_order_relaxed) + 1;
  g_req.generation.store(gen, std::memory_order_release);
  g_req.state.store(kPending, std::memory_order_release);
  union sigval v {};
  v.sival_int = gen;
  if (int rc = pthread_sigqueue(h->diag().thread, capture_signal(), v); rc != 0) {
    g_req.state.store(kIdle, std::memory_order_release);
    out.note = std::string("cannot signal the hub thread: ") + std::strerror(rc);
    return out;
  }
  const Deadline until = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
  while (g_req.state.load(std::memory_order_acquire) != kDone && now_ns() < until)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  int expect = kPending;
  if (g_req.state.compare_exchange_strong(expect, kIdle, std::memory_order_acq_rel)) {
    out.note = "the hub thread did not run the capture signal's handler within " + std::to_string(wait.count()) +
               " ms (signal SIGRTMIN+4 blocked, or the thread is stopped)";
    return out;
  }
  while (g_req.state.load(std::memory_order_acquire) != kDone) std::this_thread::yield();
  g_req.state.store(kIdle, std::memory_order_release);
  return out;
}

void capture_here(RawStack& out) noexcept {
  out.n = boost::stacktrace::safe_dump_to(1, out.frames, sizeof out.frames);
}

bool capture_suspended(Hub& hub, FiberBase* target, RawStack& out) noexcept {
  FiberBase* self = hub.running();
  if (target == self || target->ctx_ == nullptr || target->state_ == FiberState::done ||
      target->state_ == FiberState::running)
    return false;
  FiberRequest req{self, &out};
  tls_fiber_req = &req;
  target->capture_stack_ = true;
  context_switch(hub, self, target);  // it records its stack and switches straight back
  tls_fiber_req = nullptr;
  return true;
}

FiberBase* diag_capture_resumed(FiberBase*) noexcept {
  FiberRequest* r = tls_fiber_req;
  r->out->n = boost::stacktrace::safe_dump_to(0, r->out->frames, sizeof r->out->frames);
  return r->requester;
}

std::string FrameInfo::text() const {
  std::string s = function.empty() ? "??" : function;
  if (!file.empty()) s += " at " + file + ":" + std::to_string(line);
  if (!object.empty()) s += " (" + object + ")";
  return s;
}

namespace {

std::vector<FrameInfo> symbolize_here(const RawStack& s) {
  std::vector<FrameInfo> out;
  out.reserve(s.n);
  for (std::size_t i = 0; i < s.n && s.frames[i]; ++i) {
    FrameInfo fi;
    fi.addr = s.frames[i];
    // A return address points after the call; look up the call instruction itself. The first frame
    // of a signal capture is an exact pc, but pc-1 lies in the same function in practice.
    const void* lookup = static_cast<const char*>(fi.addr) - (i == 0 ? 0 : 1);
    boost::stacktrace::frame fr(lookup);
    fi.function = fr.name();
    fi.file = fr.source_file();
    fi.line = static_cast<unsigned>(fr.source_line());
    Dl_info dl{};
    if (dladdr(lookup, &dl) && dl.dli_fname) {
      fi.object = dl.dli_fname;
      if (fi.function.empty() && dl.dli_sname) fi.function = boost::core::demangle(dl.dli_sname);
    }
    out.push_back(std::move(fi));
  }
  return out;
}

struct SymbolizeJob {
  const std::vector<const RawStack*>* in = nullptr;  // null: warm-up only
  std::vector<std::vector<FrameInfo>> out;
  std::atomic<bool> done{false};
};

// One thread for all symbolizing (see stack_capture.hpp). Leaked: used until the process ends.
class Symbolizer {
 public:
  Symbolizer() { pthread_atfork(nullptr, nullptr, [] { instance().after_fork_child(); }); }
  static Symbolizer& instance() {
    static auto* s = new Symbolizer;
    return *s;
  }
  void submit(SymbolizeJob* j) {
    std::lock_guard lk(mu_);
    if (!started_) {
      std::thread([this] { run(); }).detach();
      started_ = true;
    }
    queue_.push_back(j);
    cv_.notify_one();
  }
  bool on_this_thread() const noexcept { return tls_is_symbolizer; }

 private:
  void run() {
    tls_is_symbolizer = true;
    patches::Disable real_calls;  // debug-info reads on this thread: plain blocking calls
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return !queue_.empty(); });
      SymbolizeJob* j = queue_.front();
      queue_.erase(queue_.begin());
      lk.unlock();
      if (j->in) {
        for (const RawStack* s : *j->in) j->out.push_back(symbolize_here(*s));
        j->done.store(true, std::memory_order_release);
      } else {
        RawStack warm;
        capture_here(warm);
        (void)symbolize_here(warm);
        delete j;
      }
      lk.lock();
    }
  }
  void after_fork_child() {
    new (&mu_) std::mutex;  // the thread is gone; so is whoever held the mutex
    new (&cv_) std::condition_variable;
    queue_.clear();
    started_ = false;
  }

  static thread_local bool tls_is_symbolizer;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SymbolizeJob*> queue_;
  bool started_ = false;
};
thread_local bool Symbolizer::tls_is_symbolizer = false;

}  // namespace

void symbolizer_warm_up() { Symbolizer::instance().submit(new SymbolizeJob); }

std::vector<std::vector<FrameInfo>> symbolize_many(const std::vector<const RawStack*>& stacks) {
  Symbolizer& sym = Symbolizer::instance();
  if (sym.on_this_thread()) {
    std::vector<std::vector<FrameInfo>> out;
    for (const RawStack* s : stacks) out.push_back(symbolize_here(*s));
    return out;
  }
  SymbolizeJob job;
  job.in = &stacks;
  sym.submit(&job);
  Hub* hub = Hub::current_or_null();
  const bool can_park = hub && !hub->in_hub_fiber();
  while (!job.done.load(std::memory_order_acquire)) {
    // A fiber parks in 1 ms steps (its hub keeps running); anything else sleeps.
    if (can_park && park("symbolize", now_ns() + 1'000'000) == WakeReason::timed_out) continue;
    patches::Disable real;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return std::move(job.out);
}

std::vector<FrameInfo> symbolize(const RawStack& s) {
  std::vector<const RawStack*> one{&s};
  return std::move(symbolize_many(one).front());
}

std::vector<std::string> format_frames(const std::vector<FrameInfo>& frames) {
  std::vector<std::string> lines;
  char addr[32];
  for (std::size_t i = 0; i < frames.size(); ++i) {
    std::snprintf(addr, sizeof addr, "%p", frames[i].addr);
    lines.push_back("#" + std::to_string(i) + " " + addr + " " + frames[i].text());
  }
  return lines;
}

void write_backtrace_here(int fd, const char* prefix) noexcept {
  auto put = [fd](const std::string& line) {
    for (std::size_t off = 0; off < line.size();) {
      const long n = ::syscall(SYS_write, fd, line.data() + off, line.size() - off);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  };
  RawStack s;
  capture_here(s);
  try {
    for (const std::string& l : format_frames(symbolize_here(s))) put(std::string(prefix) + l + "\n");
  } catch (...) {
    put(std::string(prefix) + "(could not symbolize the stack)\n");
  }
}

}  // namespace greenev::detail
