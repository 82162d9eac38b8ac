// runtime/diag/syscalls.cpp — see syscalls.hpp. x86-64 numbers (asm/unistd_64.h), checked against
// <sys/syscall.h> at compile time where the macro exists.
#include "diag/syscalls.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

namespace greenev::detail {

namespace {

// Argument kinds: f fd, p pointer, n count/size, i signed int (timeout ms, pid), x flags/op,
// c command (fcntl/flock/futex op) — printed in hex, '-' unused.
struct Entry {
  long nr;
  const char* name;
  const char* args[6];
  const char* kinds;
};

constexpr Entry kTable[] = {
    {0, "read", {"fd", "buf", "count"}, "fpn"},
    {1, "write", {"fd", "buf", "count"}, "fpn"},
    {2, "open", {"path", "flags", "mode"}, "pxx"},
    {3, "close", {"fd"}, "f"},
    {7, "poll", {"fds", "nfds", "timeout_ms"}, "pni"},
    {16, "ioctl", {"fd", "request", "arg"}, "fxp"},
    {17, "pread64", {"fd", "buf", "count", "offset"}, "fpnn"},
    {18, "pwrite64", {"fd", "buf", "count", "offset"}, "fpnn"},
    {19, "readv", {"fd", "iov", "iovcnt"}, "fpn"},
    {20, "writev", {"fd", "iov", "iovcnt"}, "fpn"},
    {23, "select", {"nfds", "readfds", "writefds", "exceptfds", "timeout"}, "npppp"},
    {34, "pause", {}, ""},
    {35, "nanosleep", {"req", "rem"}, "pp"},
    {40, "sendfile", {"out_fd", "in_fd", "offset", "count"}, "ffpn"},
    {42, "connect", {"fd", "addr", "addrlen"}, "fpn"},
    {43, "accept", {"fd", "addr", "addrlen"}, "fpp"},
    {44, "sendto", {"fd", "buf", "len", "flags", "addr", "addrlen"}, "fpnxpn"},
    {45, "recvfrom", {"fd", "buf", "len", "flags", "addr", "addrlen"}, "fpnxpp"},
    {46, "sendmsg", {"fd", "msg", "flags"}, "fpx"},
    {47, "recvmsg", {"fd", "msg", "flags"}, "fpx"},
    {61, "wait4", {"pid", "wstatus", "options", "rusage"}, "ipxp"},
    {64, "semget", {"key", "nsems", "flags"}, "xnx"},
    {65, "semop", {"semid", "sops", "nsops"}, "ipn"},
    {69, "msgsnd", {"msqid", "msgp", "msgsz", "flags"}, "ipnx"},
    {70, "msgrcv", {"msqid", "msgp", "msgsz", "msgtyp", "flags"}, "ipnix"},
    {72, "fcntl", {"fd", "cmd", "arg"}, "fcx"},
    {73, "flock", {"fd", "operation"}, "fc"},
    {74, "fsync", {"fd"}, "f"},
    {75, "fdatasync", {"fd"}, "f"},
    {128, "rt_sigtimedwait", {"set", "info", "timeout", "sigsetsize"}, "pppn"},
    {130, "rt_sigsuspend", {"mask", "sigsetsize"}, "pn"},
    {162, "sync", {}, ""},
    {202, "futex", {"uaddr", "op", "val", "timeout", "uaddr2", "val3"}, "pcipp-"},
    {208, "io_getevents", {"ctx", "min_nr", "nr", "events", "timeout"}, "xnnpp"},
    {217, "getdents64", {"fd", "dirp", "count"}, "fpn"},
    {220, "semtimedop", {"semid", "sops", "nsops", "timeout"}, "ipnp"},
    {230, "clock_nanosleep", {"clockid", "flags", "req", "rem"}, "ixpp"},
    {232, "epoll_wait", {"epfd", "events", "maxevents", "timeout_ms"}, "fpni"},
    {242, "mq_timedsend", {"mqdes", "msg", "len", "prio", "timeout"}, "fpnnp"},
    {243, "mq_timedreceive", {"mqdes", "msg", "len", "prio", "timeout"}, "fpnpp"},
    {247, "waitid", {"idtype", "id", "infop", "options", "rusage"}, "iipxp"},
    {257, "openat", {"dirfd", "path", "flags", "mode"}, "ipxx"},
    {270, "pselect6", {"nfds", "readfds", "writefds", "exceptfds", "timeout", "sigmask"}, "nppppp"},
    {271, "ppoll", {"fds", "nfds", "timeout", "sigmask", "sigsetsize"}, "pnppn"},
    {275, "splice", {"fd_in", "off_in", "fd_out", "off_out", "len", "flags"}, "fpfpnx"},
    {276, "tee", {"fd_in", "fd_out", "len", "flags"}, "ffnx"},
    {281, "epoll_pwait", {"epfd", "events", "maxevents", "timeout_ms", "sigmask", "sigsetsize"}, "fpnipn"},
    {288, "accept4", {"fd", "addr", "addrlen", "flags"}, "fppx"},
    {295, "preadv", {"fd", "iov", "iovcnt", "offset"}, "fpnn"},
    {296, "pwritev", {"fd", "iov", "iovcnt", "offset"}, "fpnn"},
    {299, "recvmmsg", {"fd", "msgvec", "vlen", "flags", "timeout"}, "fpnxp"},
    {306, "syncfs", {"fd"}, "f"},
    {307, "sendmmsg", {"fd", "msgvec", "vlen", "flags"}, "fpnx"},
    {318, "getrandom", {"buf", "buflen", "flags"}, "pnx"},
    {326, "copy_file_range", {"fd_in", "off_in", "fd_out", "off_out", "len", "flags"}, "fpfpnx"},
    {327, "preadv2", {"fd", "iov", "iovcnt", "offset", "offset_hi", "flags"}, "fpnnnx"},
    {328, "pwritev2", {"fd", "iov", "iovcnt", "offset", "offset_hi", "flags"}, "fpnnnx"},
    {441, "epoll_pwait2", {"epfd", "events", "maxevents", "timeout", "sigmask", "sigsetsize"}, "fpnppn"},
};

#define GREENEV_CHECK_NR(n, sys) static_assert(n == sys, #sys)
GREENEV_CHECK_NR(0, SYS_read);
GREENEV_CHECK_NR(61, SYS_wait4);
GREENEV_CHECK_NR(202, SYS_futex);
GREENEV_CHECK_NR(232, SYS_epoll_wait);
GREENEV_CHECK_NR(288, SYS_accept4);
GREENEV_CHECK_NR(327, SYS_preadv2);

const Entry* find(long nr) noexcept {
  for (const Entry& e : kTable)
    if (e.nr == nr) return &e;
  return nullptr;
}

std::string fd_target(long fd) {
  char path[64], buf[512];
  std::snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
  ssize_t n = ::readlink(path, buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

bool socket_has_timeout(int fd, int opt) noexcept {
  struct timeval tv {};
  socklen_t len = sizeof tv;
  if (::getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0) return false;  // not a socket
  return tv.tv_sec != 0 || tv.tv_usec != 0;
}

}  // namespace

SyscallState read_syscall(pid_t tid) {
  SyscallState st;
  char path[64], buf[512];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", static_cast<int>(tid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return st;
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return st;
  buf[n] = '\0';
  st.readable = true;
  if (std::strncmp(buf, "running", 7) == 0) {
    st.running = true;
    return st;
  }
  unsigned long long a[8] = {};
  long nr = -1;
  int got = std::sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4],
                        &a[5], &a[6], &a[7]);
  if (nr < 0) {  // "-1 sp pc": blocked, but not in a system call
    if (got >= 3) {
      st.sp = a[0];
      st.pc = a[1];
    }
    return st;
  }
  if (got != 9) return st;
  st.in_syscall = true;
  st.nr = nr;
  for (int i = 0; i < 6; ++i) st.args[static_cast<std::size_t>(i)] = a[i];
  st.sp = a[6];
  st.pc = a[7];
  return st;
}

std::string syscall_name(long nr) {
  if (const Entry* e = find(nr)) return e->name;
  return "syscall_" + std::to_string(nr);
}

std::string syscall_args_text(long nr, const std::array<std::uint64_t, 6>& args) {
  const Entry* e = find(nr);
  std::string out;
  char tmp[64];
  if (!e) {
    for (std::size_t i = 0; i < 6; ++i) {
      std::snprintf(tmp, sizeof tmp, "%s0x%" PRIx64, i ? ", " : "", args[i]);
      out += tmp;
    }
    return out;
  }
  for (std::size_t i = 0; i < 6 && e->kinds[i]; ++i) {
    const char k = e->kinds[i];
    if (k == '-') continue;
    if (!out.empty()) out += ", ";
    out += e->args[i];
    out += '=';
    const std::uint64_t v = args[i];
    switch (k) {
      case 'f': {
        const long fd = static_cast<int>(v);
        out += std::to_string(fd);
        if (std::string t = fd_target(fd); !t.empty()) out += " (" + t + ")";
        break;
      }
      case 'n': out += std::to_string(v); break;
      case 'i': out += std::to_string(static_cast<long long>(static_cast<std::int64_t>(static_cast<int>(v)))); break;
      default:
        std::snprintf(tmp, sizeof tmp, "0x%" PRIx64, v);
        out += tmp;
    }
  }
  return out;
}

bool syscall_breaks_on_signal(long nr, const std::array<std::uint64_t, 6>& args) {
  switch (nr) {
    case 7: case 23: case 34: case 35: case 65: case 69: case 70: case 128: case 130: case 208:
    case 220: case 230: case 232: case 270: case 271: case 281: case 441:
      return true;
    case 0: case 19: case 45: case 47: case 299: case 43: case 288:  // reads/accepts: SO_RCVTIMEO
      return socket_has_timeout(static_cast<int>(args[0]), SO_RCVTIMEO);
    case 1: case 20: case 44: case 46: case 307: case 42:  // writes/connect: SO_SNDTIMEO
      return socket_has_timeout(static_cast<int>(args[0]), SO_SNDTIMEO);
    default:
      return false;
  }
}

}  // namespace greenev::detail
