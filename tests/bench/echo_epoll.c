/* echo_epoll.c — peer echo server: raw epoll (level-triggered), one thread, no library at all.
 *
 * usage: echo_epoll PORT      (listens on 127.0.0.1:PORT; runs until killed)
 *
 * Same policy as echo_libev.c: non-blocking sockets, TCP_NODELAY, read what is there and write it
 * back; a partial write parks the connection on EPOLLOUT until drained.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384

struct conn {
  int fd;
  size_t off, len;
  char buf[BUF];
};

static int ep;

static void conn_close(struct conn* c) {
  close(c->fd); /* closing removes it from the epoll set */
  free(c);
}

static void set_events(struct conn* c, unsigned ev) {
  struct epoll_event e;
  e.events = ev;
  e.data.ptr = c;
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static int flush(struct conn* c) {
  while (c->off < c->len) {
    ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
    if (w > 0) {
      c->off += (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 1;
    } else {
      return -1;
    }
  }
  c->off = c->len = 0;
  return 0;
}

static void on_event(struct conn* c, unsigned ev) {
  if (c->len) { /* waiting for EPOLLOUT */
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int r = flush(c);
    if (r < 0) { conn_close(c); return; }
    if (r == 0) set_events(c, EPOLLIN);
    return;
  }
  for (;;) {
    ssize_t n = read(c->fd, c->buf, BUF);
    if (n > 0) {
      c->off = 0;
      c->len = (size_t)n;
      int r = flush(c);
      if (r < 0) { conn_close(c); return; }
      if (r == 1) { set_events(c, EPOLLOUT); return; }
      if ((size_t)n < BUF) return;
    } else if (n == 0) {
      { conn_close(c); return; }
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      { conn_close(c); return; }
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&a, sizeof a) < 0 || listen(lfd, 1024) < 0) {
    perror("echo_epoll: bind/listen");
    return 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event le;
  le.events = EPOLLIN;
  le.data.ptr = NULL; /* NULL = the listener */
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.ptr == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn* c = malloc(sizeof *c);
          if (!c) {
            close(fd);
            continue;
          }
          c->fd = fd;
          c->off = c->len = 0;
          struct epoll_event e;
          e.events = EPOLLIN;
          e.data.ptr = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
      } else {
        on_event((struct conn*)evs[i].data.ptr, evs[i].events);
      }
    }
  }
}
