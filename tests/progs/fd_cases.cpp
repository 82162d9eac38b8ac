// fd_cases <case> — the fd table and the POSIX semantics of the socket/fd patches (issues 7, 8, 14),
// one case per run, each bounded by alarm(): a hang is a SIGALRM death, never a stuck test.
// Prints "<case>: ok" and exits 0, or names what went wrong and exits 1.
//   unseen_close_{fclose,syscall,close_range,thread,run_blocking}: a socket a fiber read from is
//     closed behind the hub's back; a new socket gets the same number; a fiber reading it wakes.
//   cross_thread_close: a fiber parked reading a socket is woken (EBADF) by close() on a std::thread.
//   dup_nonblock: O_NONBLOCK set through a dup() copy shows on the original and a read there
//     returns EAGAIN instead of parking forever.
//   rcvtimeo_thread, sndtimeo_connect_thread: kernel timeouts honoured on a plain thread for a
//     socket greenev made non-blocking underneath.
//   rcvtimeo_inherited, rcvtimeo_raw: timeouts set before greenev saw the fd (accept inherits the
//     listener's; raw syscall) are honoured in a fiber.
//   waitall_dgram, peek_waitall, recvmsg_waitall: MSG_WAITALL semantics.
//   invalid_fds: reads on thousands of distinct invalid fds do not grow memory.
//   open_reuse: a number closed by fclose(fdopen()) and reopened as a regular file works from a fiber.
//   prepare_race: two hub threads preparing one new fd at once never make it look non-blocking.
//   errno_shared: errno set before a parking read on fd 0 survives it.
//   close_in_handler: close() from a signal handler while a fiber waits on the fd.
#include <greenev/greenev.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <pthread.h>
#include <sched.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

int g_fail = 0;
#define EXPECT(c)                                                                   \
  do {                                                                              \
    if (!(c)) {                                                                     \
      std::printf("FAILED %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #c, errno, \
                  std::strerror(errno));                                            \
      ++g_fail;                                                                     \
    }                                                                               \
  } while (0)

double secs_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void pair(int sv[2], int type = SOCK_STREAM) {
  if (socketpair(AF_UNIX, type, 0, sv) != 0) {
    std::perror("socketpair");
    std::exit(1);
  }
}

// A fiber reads one byte from sv[0] (parks until the peer writes): the hub now holds a watcher
// registration for that number.
void read_once_in_fiber(int sv[2]) {
  auto f = greenev::spawn([&] {
    char c;
    EXPECT(read(sv[0], &c, 1) == 1);
  });
  greenev::sleep(10ms);
  EXPECT(write(sv[1], "x", 1) == 1);
  f.join();
}

void unseen_close(const std::string& how) {
  int sv[2];
  pair(sv);
  read_once_in_fiber(sv);
  const int num = sv[0];
  if (how == "fclose") {
    FILE* f = fdopen(num, "r");
    EXPECT(f && fclose(f) == 0);
  } else if (how == "syscall") {
    EXPECT(syscall(SYS_close, num) == 0);
  } else if (how == "close_range") {
    EXPECT(close_range(static_cast<unsigned>(num), static_cast<unsigned>(num), 0) == 0);
  } else if (how == "thread") {
    std::thread([num] { close(num); }).join();
  } else if (how == "run_blocking") {
    greenev::run_blocking([num] { close(num); });
  }
  close(sv[1]);
  int nv[2];
  pair(nv);
  if (nv[0] != num && nv[1] != num) {
    std::printf("number not reused (%d, %d vs %d)\n", nv[0], nv[1], num);
    std::exit(1);
  }
  const int rd = nv[0] == num ? nv[0] : nv[1];
  const int wr = rd == nv[0] ? nv[1] : nv[0];
  auto f = greenev::spawn([&] {
    char c = 0;
    EXPECT(read(rd, &c, 1) == 1);
    EXPECT(c == 'y');
  });
  greenev::sleep(20ms);
  EXPECT(write(wr, "y", 1) == 1);
  f.join();
}

void cross_thread_close() {
  int sv[2];
  pair(sv);
  read_once_in_fiber(sv);
  int r = 0, e = 0;
  auto f = greenev::spawn([&] {
    char c;
    r = static_cast<int>(read(sv[0], &c, 1));
    e = errno;
  });
  greenev::sleep(20ms);  // the fiber is parked on sv[0]
  std::thread([&] { close(sv[0]); }).join();
  f.join();
  EXPECT(r == -1);
  EXPECT(e == EBADF);
  close(sv[1]);
}

void dup_nonblock() {
  int sv[2];
  pair(sv);
  read_once_in_fiber(sv);  // prepared: the real fd is O_NONBLOCK underneath
  const int d = dup(sv[0]);
  EXPECT(fcntl(sv[0], F_GETFL) >= 0 && !(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
  EXPECT(fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK) == 0);
  EXPECT(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
  EXPECT(fcntl(d, F_GETFL) & O_NONBLOCK);
  auto f = greenev::spawn([&] {
    char c;
    EXPECT(read(sv[0], &c, 1) == -1 && errno == EAGAIN);
  });
  f.join();
  // And back: clearing it through the original shows on the copy.
  EXPECT(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) & ~O_NONBLOCK) == 0);
  EXPECT(!(fcntl(d, F_GETFL) & O_NONBLOCK));
  // A copy of a number greenev had not prepared yet: the copy must not see greenev's own flag.
  int s2[2];
  pair(s2);
  const int d2 = dup(s2[0]);
  auto g = greenev::spawn([&] {
    char c;
    EXPECT(recv(s2[0], &c, 1, MSG_DONTWAIT) == -1);
    EXPECT(recv(d2, &c, 1, MSG_DONTWAIT) == -1);
  });
  g.join();
  EXPECT(!(fcntl(d2, F_GETFL) & O_NONBLOCK));
  EXPECT(!(fcntl(s2[0], F_GETFL) & O_NONBLOCK));
  close(d2);
  close(d);
}

void set_timeo(int fd, int name, long ms) {
  struct timeval tv{ms / 1000, (ms % 1000) * 1000};
  EXPECT(setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv) == 0);
}

void rcvtimeo_thread() {
  int sv[2];
  pair(sv);
  read_once_in_fiber(sv);
  set_timeo(sv[0], SO_RCVTIMEO, 200);
  std::thread([&] {
    char c;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT(recv(sv[0], &c, 1, 0) == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
    EXPECT(read(sv[0], &c, 1) == -1 && errno == EAGAIN);
    EXPECT(secs_since(t0) < 5.0);
  }).join();
}

void sndtimeo_connect_thread() {
  // A TCP listener whose accept queue is full: further SYNs are dropped and connect() waits.
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  EXPECT(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(l, 0) == 0);
  EXPECT(getsockname(l, reinterpret_cast<sockaddr*>(&a), &al) == 0);
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) {  // fill the queue (non-blocking connects, never accepted)
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(c);
  }
  usleep(100000);
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  auto f = greenev::spawn([&] {
    char c;
    recv(s, &c, 1, MSG_DONTWAIT);  // greenev prepares it: O_NONBLOCK underneath
  });
  f.join();
  set_timeo(s, SO_SNDTIMEO, 300);
  std::thread([&] {
    const auto t0 = std::chrono::steady_clock::now();
    const int r = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    const int e = errno;
    const double dt = secs_since(t0);
    if (r == 0) {
      std::puts("connect succeeded (the accept queue did not fill): case not exercised");
    } else {
      EXPECT(e == EINPROGRESS);
      EXPECT(dt < 5.0);
    }
  }).join();
  for (int c : fillers) close(c);
  close(s);
  close(l);
}

void rcvtimeo_inherited() {
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  EXPECT(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(l, 8) == 0);
  EXPECT(getsockname(l, reinterpret_cast<sockaddr*>(&a), &al) == 0);
  set_timeo(l, SO_RCVTIMEO, 200);
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  auto f = greenev::spawn([&] {
    const int s = accept(l, nullptr, nullptr);
    EXPECT(s >= 0);
    char ch;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT(recv(s, &ch, 1, 0) == -1 && errno == EAGAIN);
    EXPECT(secs_since(t0) >= 0.15 && secs_since(t0) < 5.0);
    close(s);
  });
  f.join();
  // Set with a raw syscall before greenev ever saw the socket.
  int sv[2];
  pair(sv);
  struct timeval tv{0, 200000};
  EXPECT(syscall(SYS_setsockopt, sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  auto g = greenev::spawn([&] {
    char ch;
    EXPECT(read(sv[0], &ch, 1) == -1 && errno == EAGAIN);
  });
  g.join();
  close(c);
  close(l);
}

void waitall_dgram() {
  int sv[2];
  pair(sv, SOCK_DGRAM);
  EXPECT(send(sv[1], "hello", 5, 0) == 5);
  EXPECT(send(sv[1], "world", 5, 0) == 5);
  auto f = greenev::spawn([&] {
    char buf[16] = {};
    EXPECT(recv(sv[0], buf, 10, MSG_WAITALL) == 5);
    EXPECT(std::memcmp(buf, "hello", 5) == 0);
    EXPECT(recvfrom(sv[0], buf, 10, MSG_WAITALL, nullptr, nullptr) == 5);
    EXPECT(std::memcmp(buf, "world", 5) == 0);
  });
  f.join();
  int sp[2];
  pair(sp, SOCK_SEQPACKET);
  EXPECT(send(sp[1], "abc", 3, 0) == 3);
  auto g = greenev::spawn([&] {
    char buf[16] = {};
    EXPECT(recv(sp[0], buf, 10, MSG_WAITALL) == 3);
  });
  g.join();
}

void peek_waitall() {
  int sv[2];
  pair(sv);
  EXPECT(write(sv[1], "abc", 3) == 3);
  auto w = greenev::spawn([&] {
    greenev::sleep(30ms);
    EXPECT(write(sv[1], "def", 3) == 3);
  });
  auto f = greenev::spawn([&] {
    char buf[8] = {};
    EXPECT(recv(sv[0], buf, 6, MSG_PEEK | MSG_WAITALL) == 6);
    EXPECT(std::memcmp(buf, "abcdef", 6) == 0);
    char again[8] = {};
    EXPECT(recv(sv[0], again, 6, MSG_WAITALL) == 6);
    EXPECT(std::memcmp(again, "abcdef", 6) == 0);
  });
  f.join();
  w.join();
}

void recvmsg_waitall() {
  int sv[2];
  pair(sv);
  EXPECT(write(sv[1], "abc", 3) == 3);
  auto w = greenev::spawn([&] {
    greenev::sleep(30ms);
    EXPECT(write(sv[1], "def", 3) == 3);
  });
  auto f = greenev::spawn([&] {
    char b1[2] = {}, b2[4] = {};
    iovec iov[2] = {{b1, 2}, {b2, 4}};
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    EXPECT(recvmsg(sv[0], &m, MSG_WAITALL) == 6);
    EXPECT(std::memcmp(b1, "ab", 2) == 0 && std::memcmp(b2, "cdef", 4) == 0);
  });
  f.join();
  w.join();
}

long rss_kb() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    std::fclose(f);
  }
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

void invalid_fds() {
  auto f = greenev::spawn([] {
    char c;
    const long before = rss_kb();
    for (int i = 0; i < 4000; ++i) {
      const int fd = 200000 + i * 1024;
      EXPECT(read(fd, &c, 1) == -1 && errno == EBADF);
    }
    const long grown = rss_kb() - before;
    if (grown > 16 * 1024) std::printf("RSS grew %ld KiB\n", grown);
    EXPECT(grown <= 16 * 1024);
  });
  f.join();
}

void open_reuse() {
  char path[] = "/tmp/greenev_fd_open_reuseXXXXXX";
  const int tmp = mkstemp(path);
  EXPECT(tmp >= 0);
  EXPECT(write(tmp, "content", 7) == 7);
  close(tmp);
  int sv[2];
  pair(sv);
  read_once_in_fiber(sv);
  const int num = sv[0];
  FILE* fp = fdopen(num, "r");
  EXPECT(fp && fclose(fp) == 0);
  const int fd = open(path, O_RDWR | O_APPEND);
  EXPECT(fd == num);
  auto f = greenev::spawn([&] {
    EXPECT(write(fd, "+more", 5) == 5);  // a stale "socket" kind makes this a send(): ENOTSOCK
    char buf[32] = {};
    EXPECT(pread(fd, buf, sizeof buf, 0) == 12);
    EXPECT(std::memcmp(buf, "content+more", 12) == 0);
    EXPECT(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
  });
  f.join();
  close(fd);
  // fopen, same story.
  int s2[2];
  pair(s2);
  read_once_in_fiber(s2);
  const int num2 = s2[0];
  fp = fdopen(num2, "r");
  EXPECT(fp && fclose(fp) == 0);
  FILE* g = std::fopen(path, "r+");
  EXPECT(g && fileno(g) == num2);
  auto h = greenev::spawn([&] {
    char buf[32] = {};
    EXPECT(read(num2, buf, 7) == 7);
    EXPECT(std::memcmp(buf, "content", 7) == 0);
    EXPECT(write(num2, "!", 1) == 1);
  });
  h.join();
  std::fclose(g);
  close(sv[1]);
  close(s2[1]);
  unlink(path);
}

void prepare_race() {
  constexpr int kRounds = 600;
  std::atomic<int> round{-1};
  std::atomic<int> done{0};
  std::atomic<int> fd{-1};
  auto worker = [&] {
    (void)greenev::hub_stats();  // this thread's hub: patched calls cooperate here
    for (int r = 0; r < kRounds; ++r) {
      // Spin (both start within the same instant), yielding now and then so the main thread runs.
      for (int spins = 0; round.load(std::memory_order_acquire) != r;)
        if (++spins % 4096 == 0) sched_yield();
      char c;
      recv(fd.load(), &c, 1, MSG_DONTWAIT);  // prepares the fd
      done.fetch_add(1);
    }
  };
  std::thread t1(worker), t2(worker);
  int bad = 0;
  for (int r = 0; r < kRounds; ++r) {
    int sv[2];
    pair(sv);
    fd.store(sv[0]);
    done.store(0);
    round.store(r, std::memory_order_release);
    while (done.load() != 2) sched_yield();
    if (fcntl(sv[0], F_GETFL) & O_NONBLOCK) ++bad;
    close(sv[0]);
    close(sv[1]);
  }
  t1.join();
  t2.join();
  if (bad) std::printf("%d of %d rounds look non-blocking\n", bad, kRounds);
  EXPECT(bad == 0);
}

void errno_shared() {
  int p[2];
  EXPECT(pipe(p) == 0);
  EXPECT(dup2(p[0], 0) == 0);
  auto f = greenev::spawn([&] {
    char c;
    errno = 4321;
    EXPECT(read(0, &c, 1) == 1);
    EXPECT(errno == 4321);
  });
  auto g = greenev::spawn([&] {
    greenev::sleep(20ms);
    errno = 99;
    EXPECT(write(p[1], "z", 1) == 1);
    errno = 98;
  });
  f.join();
  g.join();
}

int g_sig_fd = -1;
void close_handler(int) { close(g_sig_fd); }

void close_in_handler() {
  struct sigaction sa{};
  sa.sa_handler = close_handler;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  const pthread_t main_thread = pthread_self();
  // Many rounds, with a busy fiber switching so the signal lands at varied points.
  int woke = 0;
  for (int round = 0; round < 40; ++round) {
    int sv[2];
    pair(sv);
    g_sig_fd = sv[0];
    std::atomic<bool> stop{false};
    auto busy = greenev::spawn([&] {
      while (!stop) greenev::this_fiber::yield();
    });
    auto f = greenev::spawn([&] {
      char c;
      if (read(sv[0], &c, 1) == -1 && errno == EBADF) ++woke;
    });
    std::thread killer([main_thread, round] {
      usleep(static_cast<useconds_t>(2000 + (round % 7) * 500));
      pthread_kill(main_thread, SIGUSR1);
    });
    f.join();
    killer.join();
    stop = true;
    busy.join();
    close(sv[1]);
  }
  signal(SIGUSR1, SIG_DFL);
  EXPECT(woke == 40);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string c = argv[1];
  alarm(c == "prepare_race" ? 60 : 20);
  if (c.rfind("unseen_close_", 0) == 0) unseen_close(c.substr(13));
  else if (c == "cross_thread_close") cross_thread_close();
  else if (c == "dup_nonblock") dup_nonblock();
  else if (c == "rcvtimeo_thread") rcvtimeo_thread();
  else if (c == "sndtimeo_connect_thread") sndtimeo_connect_thread();
  else if (c == "rcvtimeo_inherited") rcvtimeo_inherited();
  else if (c == "waitall_dgram") waitall_dgram();
  else if (c == "peek_waitall") peek_waitall();
  else if (c == "recvmsg_waitall") recvmsg_waitall();
  else if (c == "invalid_fds") invalid_fds();
  else if (c == "open_reuse") open_reuse();
  else if (c == "prepare_race") prepare_race();
  else if (c == "errno_shared") errno_shared();
  else if (c == "close_in_handler") close_in_handler();
  else {
    std::printf("unknown case %s\n", c.c_str());
    return 2;
  }
  if (g_fail) return 1;
  std::printf("%s: ok\n", c.c_str());
  return 0;
}
