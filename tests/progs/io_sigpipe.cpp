// io_sigpipe — writes from a fiber to a socket and to a pipe whose readers are gone: both must
// return EPIPE and the process must survive, with SIGPIPE left at its default disposition.
// Prints "sigpipe: ok" and exits 0.
#include <greenev/greenev.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main() {
  struct sigaction sa{};
  sigaction(SIGPIPE, nullptr, &sa);
  if (sa.sa_handler != SIG_DFL) {
    std::puts("SIGPIPE not at its default");
    return 2;
  }
  int ok = 0;
  auto f = greenev::spawn([&] {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    char buf[4096] = {};
    if (write(sv[0], buf, sizeof buf) == -1 && errno == EPIPE) ++ok;
    if (send(sv[0], buf, sizeof buf, 0) == -1 && errno == EPIPE) ++ok;
    close(sv[0]);
    int p[2];
    if (pipe(p) != 0) return;
    close(p[0]);
    if (write(p[1], buf, sizeof buf) == -1 && errno == EPIPE) ++ok;
    iovec iov{buf, sizeof buf};
    if (writev(p[1], &iov, 1) == -1 && errno == EPIPE) ++ok;
    close(p[1]);
  });
  f.join();
  sigset_t pend;
  sigpending(&pend);
  if (sigismember(&pend, SIGPIPE)) {
    std::puts("SIGPIPE left pending");
    return 3;
  }
  std::printf("sigpipe: %s (%d/4)\n", ok == 4 ? "ok" : "FAILED", ok);
  return ok == 4 ? 0 : 1;
}
