/* echo_loadgen.c — closed-loop load generator for the echo servers.
 *
 * usage: echo_loadgen [port=P] [conns=100] [secs=3] [warmup=0.5] [size=64] [label=L] [host=127.0.0.1]
 *                     [server_pid=PID]
 *
 * Opens `conns` connections (retrying connect for up to 5 s while the server starts), then each
 * connection sends `size` bytes, waits for all `size` bytes to come back, and repeats. One thread,
 * epoll, non-blocking sockets, TCP_NODELAY. Round trips completed during the `secs` after the
 * warm-up are counted:
 *   RESULT echo_<label> <round trips per second> req_per_s
 * With server_pid=PID, also the server's CPU time (utime+stime of that process, from
 * /proc/PID/stat, all its threads) over the same measured window, per round trip:
 *   RESULT echo_cpu_<label> <server CPU microseconds per round trip> us_per_req
 * One loadgen thread on one CPU can saturate before the fastest servers do; req/s then compresses
 * their differences, CPU per request does not.
 * A connection error/close prints a NOTE; if any connection failed the result is FAIL.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"

/* utime+stime of a process in clock ticks, or -1. */
static long long proc_cpu_ticks(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char* p = strrchr(buf, ')'); /* the command name may contain spaces */
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
  if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (long long)(ut + st);
}

struct conn {
  int fd;
  size_t sent, got; /* progress of the current request */
  int want_out;      /* registered for EPOLLOUT (send buffer was full) */
};

static int g_size;
static char* g_msg;

static int connect_retry(const char* host, int port, double give_up_s) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, host, &a.sin_addr);
  uint64_t deadline = bench_now_ns() + (uint64_t)(give_up_s * 1e9);
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr*)&a, sizeof a) == 0) return fd;
    int e = errno;
    close(fd);
    if (bench_now_ns() > deadline) {
      errno = e;
      return -1;
    }
    usleep(20000);
  }
}

static int g_ep;

/* Sends the rest of the current request; returns -1 on error. If the socket buffer is full
 * (never with small messages in practice) the connection also waits for EPOLLOUT until sent. */
static int pump_send(struct conn* c) {
  while (c->sent < (size_t)g_size) {
    ssize_t w = write(c->fd, g_msg + c->sent, (size_t)g_size - c->sent);
    if (w > 0) {
      c->sent += (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c->want_out) {
        struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &e);
        c->want_out = 1;
      }
      return 0;
    } else {
      return -1;
    }
  }
  if (c->want_out) {
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &e);
    c->want_out = 0;
  }
  return 0;
}

int main(int argc, char** argv) {
  const char* host = bench_arg(argc, argv, "host");
  if (!host) host = "127.0.0.1";
  int port = (int)bench_arg_ll(argc, argv, "port", 9000);
  int nconn = (int)bench_arg_ll(argc, argv, "conns", 100);
  const char* secs_s = bench_arg(argc, argv, "secs");
  const char* warm_s = bench_arg(argc, argv, "warmup");
  double secs = secs_s ? atof(secs_s) : 3.0;
  double warm = warm_s ? atof(warm_s) : 0.5;
  g_size = (int)bench_arg_ll(argc, argv, "size", 64);
  const long server_pid = (long)bench_arg_ll(argc, argv, "server_pid", 0);
  long long cpu0 = -1;
  const char* label = bench_arg(argc, argv, "label");
  if (!label) label = "unnamed";
  signal(SIGPIPE, SIG_IGN);

  g_msg = malloc((size_t)g_size);
  for (int i = 0; i < g_size; ++i) g_msg[i] = (char)('a' + i % 26);
  char* rbuf = malloc((size_t)g_size + 4096);
  struct conn* cs = calloc((size_t)nconn, sizeof *cs);
  int ep = g_ep = epoll_create1(EPOLL_CLOEXEC);
  int one = 1;
  char bench[128];
  snprintf(bench, sizeof bench, "echo_%s", label);

  for (int i = 0; i < nconn; ++i) {
    int fd = connect_retry(host, port, i == 0 ? 5.0 : 1.0);
    if (fd < 0) {
      char why[160];
      snprintf(why, sizeof why, "connect to %s:%d failed after %d connections: %s", host, port, i,
               strerror(errno));
      printf("NOTE %s: %s\nRESULT %s FAIL req_per_s\n", bench, why, bench);
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    cs[i].fd = fd;
    struct epoll_event e;
    e.events = EPOLLIN;
    e.data.ptr = &cs[i];
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  }

  uint64_t start = bench_now_ns();
  uint64_t t_measure = start + (uint64_t)(warm * 1e9);
  uint64_t t_end = t_measure + (uint64_t)(secs * 1e9);
  uint64_t done_total = 0, done_at_measure = 0;
  int measuring = 0, errors = 0;
  for (int i = 0; i < nconn; ++i)
    if (pump_send(&cs[i]) < 0) ++errors;

  struct epoll_event evs[256];
  for (;;) {
    uint64_t now = bench_now_ns();
    if (!measuring && now >= t_measure) {
      measuring = 1;
      done_at_measure = done_total;
      t_measure = now;
      if (server_pid > 0) cpu0 = proc_cpu_ticks(server_pid);
    }
    if (now >= t_end) break;
    int n = epoll_wait(ep, evs, 256, 50);
    for (int k = 0; k < n; ++k) {
      struct conn* c = evs[k].data.ptr;
      if ((evs[k].events & EPOLLOUT) && c->sent < (size_t)g_size && pump_send(c) < 0) goto conn_err;
      for (;;) {
        ssize_t r = read(c->fd, rbuf, (size_t)g_size + 4096);
        if (r > 0) {
          c->got += (size_t)r;
          if (c->got >= (size_t)g_size) { /* one round trip complete (an echo never runs ahead) */
            ++done_total;
            c->got = 0;
            c->sent = 0;
            if (pump_send(c) < 0) goto conn_err;
          } else if (c->sent < (size_t)g_size && pump_send(c) < 0) {
            goto conn_err;
          }
          if (r < g_size) break;
        } else if (r < 0 && errno == EINTR) {
          continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        } else {
        conn_err:
          ++errors;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          break;
        }
      }
    }
  }
  uint64_t t1 = bench_now_ns();
  const long long cpu1 = server_pid > 0 ? proc_cpu_ticks(server_pid) : -1;
  double rps = (double)(done_total - done_at_measure) / ((double)(t1 - t_measure) / 1e9);
  printf("INFO %s: %d conns, %d-byte messages, %.2fs measured, %llu round trips, errors=%d\n", bench,
         nconn, g_size, (double)(t1 - t_measure) / 1e9,
         (unsigned long long)(done_total - done_at_measure), errors);
  if (errors) {
    printf("NOTE %s: %d connection(s) failed during the run\n", bench, errors);
    printf("RESULT %s FAIL req_per_s\n", bench);
  } else {
    printf("RESULT %s %.6g req_per_s\n", bench, rps);
    const unsigned long long reqs = (unsigned long long)(done_total - done_at_measure);
    if (server_pid > 0 && cpu0 >= 0 && cpu1 >= 0 && reqs > 0) {
      const double us = (double)(cpu1 - cpu0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)reqs;
      printf("RESULT echo_cpu_%s %.4g us_per_req\n", label, us);
    } else if (server_pid > 0) {
      printf("NOTE %s: cannot read the CPU time of server pid %ld\n", bench, server_pid);
    }
  }
  for (int i = 0; i < nconn; ++i) close(cs[i].fd);
  return 0;
}
