// tests/progs/interrupts.cpp — interruption semantics of the patched calls (docs/interrupts.md), as
// a child program: each mode hangs, spins or dies on the code it guards against. alarm() bounds it.
//   sleep0       sleep(0), usleep(0), nanosleep(0) in a fiber return 0 and let another fiber run
//   emfile       an accept loop that just retries under EMFILE lets a fiber that frees fds run
//   kill_spin    kill() returns although the victim loops on ECANCELED from read/usleep/accept
//   eintr        a handler without SA_RESTART: the main fiber's read gets -1/EINTR, sleep returns the
//                seconds left, nanosleep fills rem, poll gets EINTR even with SA_RESTART; a read
//                with SA_RESTART keeps waiting; a fiber's transfers lose nothing
//   sigpipe      write to a pipe and a socket whose reader is gone (prints EPIPE, or dies of SIGPIPE
//                under GREENEV_SIGPIPE=posix)
#include <greenev/greenev.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

int sleep0() {
  int others = 0;
  int bad = 0;
  auto other = greenev::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      ++others;
      greenev::this_fiber::yield();
    }
  });
  auto f = greenev::spawn([&] {
    if (sleep(0) != 0) ++bad;
    if (usleep(0) != 0) ++bad;
    struct timespec zero{0, 0};
    if (nanosleep(&zero, nullptr) != 0) ++bad;
  });
  f.join();
  other.join();
  std::printf("sleep0: bad=%d others=%d\n", bad, others);
  if (bad || others != 3) return 1;
  std::puts("sleep0: ok");
  return 0;
}

int listener(sockaddr_in& addr) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(l, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(l, 16) != 0) return -1;
  getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len);
  return l;
}

int emfile() {
  (void)greenev::hub_stats();  // the hub (its eventfd) exists before the fds run out
  sockaddr_in addr;
  const int l = listener(addr);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0 || client < 0) return 2;
  if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 2;  // queued
  std::vector<int> hog;
  long errors = 0;
  int accepted = -1;
  auto acceptor = greenev::spawn([&] {
    for (;;) {  // the naive loop: retry on any error
      const int c = accept(l, nullptr, nullptr);
      if (c >= 0) {
        accepted = c;
        return;
      }
      ++errors;
    }
  });
  auto closer = greenev::spawn([&] {
    greenev::sleep(50ms);
    for (int i = 0; i < 4 && !hog.empty(); ++i) {
      close(hog.back());
      hog.pop_back();
    }
  });
  // Spawned first (they run at the first join): UBSan's checks need a spare fd themselves.
  struct rlimit rl{64, 64};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 2;
  for (int fd; (fd = dup(0)) >= 0;) hog.push_back(fd);
  if (errno != EMFILE) return 2;
  acceptor.join();
  closer.join();
  std::printf("emfile: accepted=%d after %ld EMFILE results\n", accepted >= 0, errors);
  if (accepted < 0 || errors == 0) return 1;
  std::puts("emfile: ok");
  return 0;
}

int kill_spin() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
  sockaddr_in addr;
  const int l = listener(addr);
  long errors[3] = {0, 0, 0};
  auto reader = greenev::spawn([&] {
    char c;
    for (;;)
      if (read(sv[0], &c, 1) < 0) ++errors[0];  // "log and continue"
  });
  auto sleeper = greenev::spawn([&] {
    for (;;)
      if (usleep(10'000) != 0) ++errors[1];
  });
  auto acceptor = greenev::spawn([&] {
    for (;;) {
      const int c = accept(l, nullptr, nullptr);
      if (c < 0) ++errors[2];
      else close(c);
    }
  });
  greenev::sleep(20ms);
  reader.kill();
  sleeper.kill();
  acceptor.kill();
  std::printf("kill_spin: killed=%d%d%d after %ld/%ld/%ld ECANCELED results\n", reader.killed(), sleeper.killed(),
              acceptor.killed(), errors[0], errors[1], errors[2]);
  if (!reader.killed() || !sleeper.killed() || !acceptor.killed()) return 1;
  for (long e : errors)
    if (e < 1) return 1;
  std::puts("kill_spin: ok");
  return 0;
}

std::atomic<int> g_handled{0};
void on_usr1(int) { g_handled.fetch_add(1); }

void install(int sig, bool restart) {
  struct sigaction sa{};
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(sig, &sa, nullptr);
}

// Sends SIGUSR1 to the main thread after `after`, from a plain thread.
std::thread signal_later(pthread_t target, std::chrono::milliseconds after) {
  return std::thread([target, after] {
    std::this_thread::sleep_for(after);
    pthread_kill(target, SIGUSR1);
  });
}

int eintr() {
  const pthread_t self = pthread_self();
  (void)greenev::hub_stats();  // the main fiber's hub exists: its patched calls cooperate
  int sv[2], data[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, data) != 0) return 2;
  // A fiber streams 2000 numbered bytes through `data` meanwhile: none may be lost.
  int received = 0, mismatches = 0;
  auto producer = greenev::spawn([&] {
    for (int i = 0; i < 2000; ++i) {
      unsigned char b = static_cast<unsigned char>(i);
      if (write(data[0], &b, 1) != 1) ++mismatches;
      if (i % 50 == 0) usleep(1000);
    }
  });
  auto consumer = greenev::spawn([&] {
    for (int i = 0; i < 2000; ++i) {
      unsigned char b;
      if (read(data[1], &b, 1) != 1 || b != static_cast<unsigned char>(i)) ++mismatches;
      ++received;
    }
  });
  int bad = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::printf("eintr: FAILED %s (errno %d)\n", what, errno);
      ++bad;
    }
  };

  install(SIGUSR1, false);
  auto t1 = signal_later(self, 100ms);
  char c;
  errno = 0;
  check(read(sv[0], &c, 1) == -1 && errno == EINTR, "read without SA_RESTART gives EINTR");
  t1.join();
  check(g_handled.load() == 1, "the handler ran once");

  auto t2 = signal_later(self, 100ms);
  const unsigned left = sleep(3);
  check(left == 3 || left == 2, "sleep(3) returns the seconds left");
  t2.join();

  auto t3 = signal_later(self, 100ms);
  struct timespec req{5, 0}, rem{0, 0};
  errno = 0;
  check(nanosleep(&req, &rem) == -1 && errno == EINTR && rem.tv_sec >= 3, "nanosleep gives EINTR and rem");
  t3.join();

  install(SIGUSR1, true);
  auto t4 = signal_later(self, 100ms);
  struct pollfd p{sv[0], POLLIN, 0};
  errno = 0;
  check(poll(&p, 1, 5000) == -1 && errno == EINTR, "poll gives EINTR even with SA_RESTART");
  t4.join();

  // SA_RESTART: the read keeps waiting through the signal and gets the byte written after it.
  auto t5 = signal_later(self, 50ms);
  std::thread writer([&] {
    std::this_thread::sleep_for(250ms);
    (void)::send(sv[1], "z", 1, 0);
  });
  check(read(sv[0], &c, 1) == 1 && c == 'z', "read with SA_RESTART is restarted");
  t5.join();
  writer.join();
  check(g_handled.load() == 5, "each handler ran once");

  producer.join();
  consumer.join();
  check(received == 2000 && mismatches == 0, "the other fibers lost nothing");
  std::printf("eintr: handled=%d received=%d mismatches=%d\n", g_handled.load(), received, mismatches);
  if (bad) return 1;
  std::puts("eintr: ok");
  return 0;
}

int sigpipe() {
  int result = 0;
  auto f = greenev::spawn([&] {
    int p[2];
    if (pipe(p) != 0) return;
    close(p[0]);
    char buf[16] = {};
    errno = 0;
    const ssize_t r = write(p[1], buf, sizeof buf);
    std::printf("sigpipe: pipe write %zd errno %d\n", r, errno);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    errno = 0;
    const ssize_t s = send(sv[0], buf, sizeof buf, 0);
    std::printf("sigpipe: socket send %zd errno %d\n", s, errno);
    result = r == -1 && s == -1 ? 1 : 0;
  });
  f.join();
  std::fflush(stdout);
  if (!result) return 1;
  std::puts("sigpipe: EPIPE");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  alarm(20);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "sleep0") return sleep0();
  if (mode == "emfile") return emfile();
  if (mode == "kill_spin") return kill_spin();
  if (mode == "eintr") return eintr();
  if (mode == "sigpipe") return sigpipe();
  std::fprintf(stderr, "usage: interrupts sleep0|emfile|kill_spin|eintr|sigpipe\n");
  return 2;
}
