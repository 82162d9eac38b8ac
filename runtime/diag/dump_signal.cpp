// runtime/diag/dump_signal.cpp — dump every fiber to stderr when a signal arrives (GREENEV_DUMP_SIGNAL).
//
// The handler only writes a byte to a pipe (async-signal-safe); a dedicated thread, without a hub,
// reads it and runs the dump, which reaches every hub through its inbox. So the dump works while
// a hub is blocked (that hub is then reported as blocked) and never runs inside a signal handler.
// fork(): the child gets a fresh pipe and thread (the atfork child handler).
// Rejected: dumping in the handler (allocation, locks, symbol reads) and signalfd on a hub (the
// signal would go unanswered exactly when that hub is blocked).
#include "diag/stack_capture.hpp"

#include <greenev/diagnostics.hpp>
#include <greenev/hub.hpp>
#include <greenev/patches.hpp>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <mutex>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace greenev::diag {

namespace {

constinit int g_pipe[2] = {-1, -1};
constinit int g_signal = 0;
constinit std::mutex g_mu;

void on_dump_signal(int) {
  const int saved = errno;
  const char c = 'd';
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &c, 1);  // full pipe: a dump is already due
  errno = saved;
}

constinit std::atomic<int> g_dumping{0};

void dump_thread(int rfd) {
  char buf[64];
  for (;;) {
    ssize_t n = ::read(rfd, buf, sizeof buf);  // no hub on this thread: the real read
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    g_dumping.fetch_add(1);
    dump_fibers();
    g_dumping.fetch_sub(1);
  }
}

// At exit, a dump in progress is still printed (bounded wait).
void drain_at_exit() {
  for (int i = 0; i < 1000 && g_dumping.load() > 0; ++i) {
    patches::Disable real;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void start_locked() {
  if (::pipe2(g_pipe, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "greenev: pipe2");
  ::fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);
  std::thread(dump_thread, g_pipe[0]).detach();
  detail::symbolizer_warm_up();
}

void after_fork_child() {
  if (g_signal == 0) return;
  // The parent's thread does not exist here; its pipe ends are still open: reuse the pipe with a
  // new reader thread (the parent's reader keeps serving the parent on its own copy).
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  try {
    start_locked();
  } catch (...) {
    std::fprintf(stderr, "greenev: dump signal not available in the forked child\n");
  }
}

}  // namespace

void install_dump_signal(int sig) {
  if (sig <= 0 || sig >= NSIG) throw std::invalid_argument("greenev: install_dump_signal: bad signal number");
  std::lock_guard lk(g_mu);
  if (g_pipe[0] < 0) {
    start_locked();
    pthread_atfork(nullptr, nullptr, &after_fork_child);
    std::atexit(&drain_at_exit);
  }
  struct sigaction sa {};
  sa.sa_handler = &on_dump_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(sig, &sa, nullptr) != 0) throw std::system_error(errno, std::generic_category(), "greenev: sigaction");
  g_signal = sig;
}

}  // namespace greenev::diag
