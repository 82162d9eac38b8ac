/* tests/bench/http/http_epoll.c — the practical limit for the HTTP hello benchmark: one thread,
 * level-triggered epoll, non-blocking sockets, no parser beyond finding "\r\n\r\n" (requests have
 * no body), one write per batch of pipelined requests, with the same response bytes greenev-http
 * sends (Server, Date, Content-Type, Content-Length; the Date is formatted once per second).
 * Not a server anyone should deploy: it exists to show what the kernel allows on one core.
 *   http_epoll PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 8192
struct conn { int fd; size_t len; char in[BUF]; };

static char resp[256];
static size_t resp_len;
static time_t resp_time;

static void make_resp(void) {
  time_t now = time(NULL);
  if (now == resp_time) return;
  resp_time = now;
  struct tm tm;
  gmtime_r(&now, &tm);
  char date[64];
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  resp_len = (size_t)snprintf(resp, sizeof resp,
                              "HTTP/1.1 200 OK\r\nServer: greenev\r\nDate: %s\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 14\r\n\r\nHello, world!\n", date);
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 8081;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr*)&a, sizeof a) || listen(ls, 4096)) { perror("listen"); return 1; }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  struct epoll_event evs[256];
  char out[BUF * 4];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    make_resp();
    for (int i = 0; i < n; ++i) {
      struct conn* c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn* nc = malloc(sizeof *nc);
          nc->fd = fd;
          nc->len = 0;
          struct epoll_event e = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
        continue;
      }
      ssize_t r = read(c->fd, c->in + c->len, BUF - c->len);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(c->fd);
        free(c);
        continue;
      }
      c->len += (size_t)r;
      size_t olen = 0, start = 0;
      char* end;
      while ((end = memmem(c->in + start, c->len - start, "\r\n\r\n", 4)) != NULL) {
        start = (size_t)(end - c->in) + 4;
        if (olen + resp_len <= sizeof out) { memcpy(out + olen, resp, resp_len); olen += resp_len; }
      }
      memmove(c->in, c->in + start, c->len - start);
      c->len -= start;
      if (c->len == BUF) c->len = 0; /* oversized garbage: drop */
      if (olen && write(c->fd, out, olen) < 0 && errno != EAGAIN) {
        close(c->fd);
        free(c);
      }
    }
  }
}
