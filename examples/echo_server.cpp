// examples/echo_server.cpp — a blocking-style TCP echo server, concurrent because of the patches.
//
// The server and its clients are written with plain POSIX calls — socket, bind, accept, read,
// write, connect — exactly as for one connection per thread. Inside greenev fibers those calls park
// the fiber instead of the thread, so one thread serves every connection at once.
//
//   echo_server            self-test: a server plus 200 clients x 100 round trips, then exits
//   echo_server PORT       serve 127.0.0.1:PORT until killed (try: nc 127.0.0.1 PORT)
#include <greenev/greenev.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 1024) != 0) {
    std::fprintf(stderr, "echo_server: cannot listen on port %d: %s\n", port, std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

// One connection, written as if it had a thread of its own.
static void serve(int conn) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(conn, buf, sizeof buf);
    if (n <= 0) break;  // peer closed, or an error: this connection is done, the server is not
    if (write(conn, buf, static_cast<size_t>(n)) != n) break;
  }
  close(conn);
}

static void accept_loop(int lfd) {
  for (;;) {
    int conn = accept(lfd, nullptr, nullptr);
    if (conn < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        std::fprintf(stderr, "echo_server: out of file descriptors, backing off\n");
        greenev::sleep(std::chrono::milliseconds(100));
        continue;
      }
      if (errno == EBADF || errno == EINVAL) return;  // listening socket closed: stop
      continue;
    }
    greenev::spawn(serve, conn).detach();
  }
}

static int client(int port, int rounds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int ok = 0;
  char msg[64], back[64];
  for (int i = 0; i < rounds; ++i) {
    int len = std::snprintf(msg, sizeof msg, "ping %d from fd %d", i, fd);
    if (write(fd, msg, static_cast<size_t>(len)) != len) break;
    ssize_t got = 0;
    while (got < len) {
      ssize_t n = read(fd, back + got, static_cast<size_t>(len - got));
      if (n <= 0) break;
      got += n;
    }
    if (got == len && std::memcmp(msg, back, static_cast<size_t>(len)) == 0) ++ok;
  }
  close(fd);
  return ok;
}

int main(int argc, char** argv) {
  if (argc > 1) {
    int lfd = listen_on(std::atoi(argv[1]));
    std::printf("echo_server: serving 127.0.0.1:%s\n", argv[1]);
    std::fflush(stdout);
    accept_loop(lfd);
    return 0;
  }

  // Self-test: find a free port, serve it, and run clients against it — all on one thread.
  int lfd = listen_on(0);
  sockaddr_in a{};
  socklen_t alen = sizeof a;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &alen);
  const int port = ntohs(a.sin_port);
  auto server = greenev::spawn(greenev::SpawnOptions{"acceptor"}, accept_loop, lfd);

  const int clients = 200, rounds = 100;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<greenev::Fiber<int>> cs;
  for (int i = 0; i < clients; ++i) cs.push_back(greenev::spawn(client, port, rounds));
  long ok = 0;
  for (auto& c : cs) ok += c.join();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  close(lfd);  // wakes the acceptor (EBADF) and ends it
  server.join();
  greenev::sleep(std::chrono::milliseconds(10));  // let the server side notice the closed peers
  auto st = greenev::hub_stats();
  std::printf("%d clients x %d round trips: %ld ok in %.0f ms (%.0f req/s) on one thread; "
              "%llu context switches, %zu fibers left\n",
              clients, rounds, ok, ms, ok / (ms / 1000.0), static_cast<unsigned long long>(st.switches),
              st.fibers_alive);
  return ok == static_cast<long>(clients) * rounds && st.fibers_alive == 0 ? 0 : 1;
}
