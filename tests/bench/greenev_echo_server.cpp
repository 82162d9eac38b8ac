// greenev_echo_server — blocking-style echo server: one fiber per connection using plain
// accept/read/write, which the patched libc turns into cooperative calls on one hub.
//
// usage: greenev_echo_server PORT      (listens on 127.0.0.1:PORT; runs until killed)
//
// The code is what a user writes without thinking about an event loop; the comparison peers are
// echo_libev.c (callbacks) and go/echo (goroutines). TCP_NODELAY, as the peers set.
#include <greenev/greenev.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

static void serve(int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    if (write(fd, buf, static_cast<size_t>(n)) != n) break;
  }
  close(fd);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<unsigned short>(std::atoi(argv[1])));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(lfd, 1024) < 0) {
    std::perror("greenev_echo_server: bind/listen");
    return 1;
  }
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    greenev::spawn(serve, fd).detach();
  }
}
