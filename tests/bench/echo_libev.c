/* echo_libev.c — peer echo server: plain libev callbacks, one ev_io per connection.
 *
 * usage: echo_libev PORT      (listens on 127.0.0.1:PORT; runs until killed)
 *
 * Non-blocking sockets, TCP_NODELAY (as Go sets by default). Each readable event reads what is
 * there and writes it back; if the kernel takes only part of it, the rest is kept and the watcher
 * switches to EV_WRITE until it has drained (no reads meanwhile: simple back-pressure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384

struct conn {
  ev_io io;
  size_t off, len; /* pending output: buf[off, len) */
  char buf[BUF];
};

static void conn_close(struct ev_loop* loop, struct conn* c) {
  ev_io_stop(loop, &c->io);
  close(c->io.fd);
  free(c);
}

/* Writes buf[off, len); returns 0 when drained, 1 when it must wait for EV_WRITE, -1 on error. */
static int flush(struct conn* c) {
  while (c->off < c->len) {
    ssize_t w = write(c->io.fd, c->buf + c->off, c->len - c->off);
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

static void conn_cb(struct ev_loop* loop, ev_io* w, int revents) {
  struct conn* c = (struct conn*)w;
  if (revents & EV_WRITE) {
    int r = flush(c);
    if (r < 0) { conn_close(loop, c); return; }
    if (r == 0) {
      ev_io_stop(loop, &c->io);
      ev_io_set(&c->io, c->io.fd, EV_READ);
      ev_io_start(loop, &c->io);
    }
    return;
  }
  for (;;) {
    ssize_t n = read(c->io.fd, c->buf, BUF);
    if (n > 0) {
      c->off = 0;
      c->len = (size_t)n;
      int r = flush(c);
      if (r < 0) { conn_close(loop, c); return; }
      if (r == 1) {
        ev_io_stop(loop, &c->io);
        ev_io_set(&c->io, c->io.fd, EV_WRITE);
        ev_io_start(loop, &c->io);
        return;
      }
      if ((size_t)n < BUF) return; /* drained the socket (level-triggered: safe to stop here) */
    } else if (n == 0) {
      { conn_close(loop, c); return; }
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      { conn_close(loop, c); return; }
    }
  }
}

static void accept_cb(struct ev_loop* loop, ev_io* w, int revents) {
  (void)revents;
  for (;;) {
    int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN or transient error: wait for the next event */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn* c = malloc(sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->off = c->len = 0;
    ev_io_init(&c->io, conn_cb, fd, EV_READ);
    ev_io_start(loop, &c->io);
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
    perror("echo_libev: bind/listen");
    return 1;
  }
  struct ev_loop* loop = ev_default_loop(EVBACKEND_EPOLL);
  if (!loop) loop = ev_default_loop(0);
  ev_io lw;
  ev_io_init(&lw, accept_cb, lfd, EV_READ);
  ev_io_start(loop, &lw);
  ev_run(loop, 0);
  return 0;
}
