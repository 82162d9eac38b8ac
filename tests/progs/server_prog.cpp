// tests/progs/server_prog.cpp — StreamServer behaviours that change process-wide state, one mode
// per run (driven by tests/server_child_test.cpp). Exit 0 = pass; failures print why.
//   emfile       RLIMIT_NOFILE lowered, fds exhausted: accept pauses without spinning (CPU time
//                over 1.5 s of exhaustion measured with getrusage), serving resumes once fds free
//   listen-fds   serve the socket at fd 3 named by LISTEN_FDS/LISTEN_PID (set by the parent);
//                prints the adopted address and checks the variables were unset
//   signals      stop_on_signals: SIGTERM to itself => serve_forever returns after a graceful stop
#include "server_support.hpp"

#include <greenev/greenev.hpp>

#include <sys/resource.h>
#include <sys/time.h>

#include <csignal>

#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace std::chrono_literals;

namespace {

int failures = 0;
#define EXPECT(cond)                                                  \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "FAILED line %d: %s\n", __LINE__, #cond); \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

void echo(greenev::Connection& c) {
  char buf[256];
  for (;;) {
    c.set_idle(true);
    const ssize_t n = c.read(buf, sizeof buf);
    if (n <= 0) return;
    c.set_idle(false);
    if (c.write(buf, static_cast<size_t>(n)) != n) return;
  }
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int mode_emfile() {
  greenev::StreamServer srv({.listen = {"127.0.0.1:0"}, .name = "emfile"}, echo);
  srv.start();
  const auto addr = srv.addresses()[0];
  {  // warm-up: the hub's own fds (epoll, eventfd) exist before the limit is lowered
    int w = test::dial(addr);
    test::send_all(w, "w");
    EXPECT(test::recv_n(w, 1) == "w");
    ::close(w);
    while (srv.counters().active > 0) greenev::sleep(10ms);  // its server side is closed too
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rlimit low = rl;
  low.rlim_cur = 64;
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) {
    std::perror("setrlimit");
    return 1;
  }
  // Fill the table, keep one spare descriptor for the client socket.
  std::vector<int> filler;
  for (;;) {
    int fd = ::dup(0);
    if (fd < 0) break;
    filler.push_back(fd);
  }
  for (int i = 0; i < 1 && !filler.empty(); ++i) {
    ::close(filler.back());
    filler.pop_back();
  }
  int c1 = test::dial(addr);  // lands in the backlog; the server's accept4 gets EMFILE
  EXPECT(c1 >= 0);
  test::send_all(c1, "x");
  greenev::sleep(100ms);  // the episode starts
  const double cpu0 = cpu_seconds();
  greenev::sleep(1500ms);
  const double cpu = cpu_seconds() - cpu0;
  std::printf("cpu while exhausted: %.3f s over 1.5 s; episodes %llu\n", cpu,
              static_cast<unsigned long long>(srv.counters().fd_exhausted));
  EXPECT(cpu < 0.5);  // a spinning acceptor burns ~1.5 s here; back-off uses a few ms
  EXPECT(srv.counters().fd_exhausted == 1);
  EXPECT(srv.counters().accepted == 1);  // only the warm-up connection
  auto t0 = std::chrono::steady_clock::now();
  for (int fd : filler) ::close(fd);
  filler.clear();
  // Serving resumes within the back-off (<= 1 s).
  EXPECT(test::recv_n(c1, 1) == "x");
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("served %.3f s after fds were freed\n", waited);
  EXPECT(waited < 5.0);
  int c2 = test::dial(addr);
  test::send_all(c2, "y");
  EXPECT(test::recv_n(c2, 1) == "y");
  ::close(c1);
  ::close(c2);
  srv.stop(1s);
  setrlimit(RLIMIT_NOFILE, &rl);
  return failures ? 1 : 0;
}

int mode_listen_fds() {
  const char* pid_before = std::getenv("LISTEN_PID");
  greenev::StreamServer srv({.name = "activated"}, echo);
  srv.start();
  EXPECT(pid_before != nullptr);
  EXPECT(std::getenv("LISTEN_FDS") == nullptr);
  EXPECT(std::getenv("LISTEN_PID") == nullptr);
  EXPECT(std::getenv("LISTEN_FDNAMES") == nullptr);
  EXPECT(srv.listen_fds().size() == 1 && srv.listen_fds()[0] == 3);
  const auto addr = srv.addresses().at(0);
  std::printf("adopted %s\n", addr.c_str());
  int c = test::dial(addr);
  test::send_all(c, "systemd");
  EXPECT(test::recv_n(c, 7) == "systemd");
  ::close(c);
  srv.stop(1s);
  return failures ? 1 : 0;
}

int mode_no_listen_fds() {  // LISTEN_PID names another process: nothing is adopted
  greenev::StreamServer srv({.name = "not-mine"}, echo);
  try {
    srv.start();
  } catch (const std::invalid_argument& e) {
    std::printf("refused: %s\n", e.what());
    return 0;
  }
  std::printf("adopted fds meant for another process\n");
  return 1;
}

int mode_signals() {
  greenev::StreamServer srv({.listen = {"127.0.0.1:0"}, .stop_on_signals = true, .grace = 2000ms, .name = "sig"},
                            echo);
  srv.start();
  const auto addr = srv.addresses()[0];
  auto killer = greenev::spawn([&] {
    int c = test::dial(addr);
    test::send_all(c, "hi");
    EXPECT(test::recv_n(c, 2) == "hi");
    ::kill(::getpid(), SIGTERM);
    EXPECT(test::recv_all(c).empty());  // idle: closed at once by the stop
    ::close(c);
  });
  srv.serve_forever();
  killer.join();
  EXPECT(!srv.running());
  EXPECT(srv.counters().cut_off_at_stop == 0);
  std::printf("stopped by SIGTERM\n");
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  ::alarm(30);  // never outlive the test
  if (mode == "emfile") return mode_emfile();
  if (mode == "listen-fds") return mode_listen_fds();
  if (mode == "no-listen-fds") return mode_no_listen_fds();
  if (mode == "signals") return mode_signals();
  std::fprintf(stderr, "usage: server_prog emfile|listen-fds|no-listen-fds|signals\n");
  return 2;
}
