// patches/stdio.cpp — glibc stdio on cooperative descriptors (FILE* from fdopen/popen on a pipe or
// socket, stdin/stdout/stderr), and popen()/pclose().
//
// The problem: glibc's stdio reads and writes through its internal __read/__write, which no patch
// can see. On a pipe or socket greenev made O_NONBLOCK underneath, an empty pipe makes fgets fail
// with a spurious error (EAGAIN sets the stream's error flag); on a blocking fd it stalls the hub.
// The answer here: interpose the stdio entry points and, for a FILE* whose fd is a pipe, socket or
// shared fd 0-2 (the fd table's kinds) used from a fiber, do the buffering around glibc's own
// buffer (the public struct _IO_FILE pointers): reads take what is buffered and refill with exactly
// one underflow after the fd is readable (so the one read() inside never blocks and never sees
// EAGAIN twice); writes copy into the buffer and flush it, or write large blocks directly, through
// the patched cooperative write(). Regular files get the direct paths too (big writes and reads
// go through the patched read/write: the pool), so a large fwrite does not stall the hub.
// Yield (in a fiber, cooperative fd): fgetc/getc/_IO_getc/getchar, fgets, getline/getdelim/
// __getdelim, fread, __uflow/__underflow (what getc_unlocked & co. call), fwrite, fputs, fputc/putc/
// _IO_putc/putchar, puts, __overflow (putc_unlocked), fprintf/vfprintf/printf/vprintf/dprintf/
// vdprintf (+ __*_chk), fflush(fp), fclose (also tells the fd table the fd is gone).
// popen/pclose (in a fiber): /bin/sh -c through posix_spawn, the stream is the above, pclose's
// wait is cooperative (runtime/process/child_watch.hpp).
// Pass through: writes to fds 0-2 (stdout/stderr stay in place: the runtime reports through
// them from places that must not park; a slow consumer of a piped stdout still stalls the hub),
// wide-oriented streams, the *_unlocked functions except through __uflow/__overflow,
// the scanf family (read a line with getline, then sscanf), fflush(NULL), calls outside fibers.
// Rule: a FILE* on a cooperative fd belongs to one fiber at a time (as gevent's FileObject): the
// FILE lock is per thread, so two fibers of one thread interleaving on it would mix their data.
// Rejected: fopencookie (a new FILE*, not the one fdopen/popen returned) and making the fd
// blocking again for stdio (every stdio call would stall the hub until data comes).
#include "patch.hpp"

#include "process/child_watch.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <spawn.h>
#include <unordered_map>

using namespace greenev::detail;

extern char** environ;

GREENEV_PATCH_ANCHOR(stdio);

namespace {

// libio's flag bits (glibc's libio.h; part of its ABI since the FILE layout is public).
constexpr int kUnbuffered = 0x0002;
constexpr int kEofSeen = 0x0010;
constexpr int kErrSeen = 0x0020;
constexpr int kInBackup = 0x0100;  // ungetc's backup area is active: the main buffer may hold more
constexpr int kLineBuf = 0x0200;
constexpr int kCurrentlyPutting = 0x0800;

struct StdioFns {
  int (*underflow)(FILE*) = nullptr;
  int (*uflow)(FILE*) = nullptr;
  int (*overflow)(FILE*, int) = nullptr;
  int (*fflush)(FILE*) = nullptr;
  int (*fclose)(FILE*) = nullptr;
  size_t (*fwrite)(const void*, size_t, size_t, FILE*) = nullptr;
  size_t (*fread)(void*, size_t, size_t, FILE*) = nullptr;
  int (*fgetc)(FILE*) = nullptr;
  char* (*fgets)(char*, int, FILE*) = nullptr;
  ssize_t (*getdelim)(char**, size_t*, int, FILE*) = nullptr;
  int (*fputc)(int, FILE*) = nullptr;
  int (*fputs)(const char*, FILE*) = nullptr;
  int (*vfprintf)(FILE*, const char*, va_list) = nullptr;
  int (*vdprintf)(int, const char*, va_list) = nullptr;
  FILE* (*popen)(const char*, const char*) = nullptr;
  int (*pclose)(FILE*) = nullptr;
};

StdioFns resolve() noexcept {
  StdioFns f;
#define R(field, name)                                                         \
  f.field = reinterpret_cast<decltype(f.field)>(dlsym(RTLD_NEXT, name));      \
  if (!f.field) {                                                              \
    std::fputs("greenev: cannot resolve the real " name "\n", stderr);         \
    std::abort();                                                              \
  }
  R(underflow, "__underflow") R(uflow, "__uflow") R(overflow, "__overflow") R(fflush, "fflush")
  R(fclose, "fclose") R(fwrite, "fwrite") R(fread, "fread") R(fgetc, "fgetc") R(fgets, "fgets")
  R(getdelim, "getdelim") R(fputc, "fputc") R(fputs, "fputs") R(vfprintf, "vfprintf")
  R(vdprintf, "vdprintf") R(popen, "popen") R(pclose, "pclose")
#undef R
  return f;
}

const StdioFns& rs() noexcept {
  static const StdioFns f = resolve();
  return f;
}

__attribute__((constructor(105))) void stdio_load() { (void)rs(); }

// The stream's fd when stdio on it must cooperate: a fiber, patching on, a byte-oriented stream
// on a pipe, socket, shared fd 0-2 or regular file. kind tells which.
struct Coop {
  Hub* h = nullptr;
  int fd = -1;
  FdKind kind = FdKind::other;
  bool nonblock = false;  // the user's own O_NONBLOCK: EAGAIN is theirs, never waited on
  explicit operator bool() const noexcept { return h != nullptr; }
};

Coop coop(FILE* fp, bool writing = false) noexcept {
  Coop c;
  if (!fp || fp->_mode > 0) return c;
  Hub* h = coop_hub();
  if (!h) return c;
  const int fd = fp->_fileno;
  // Writes to fds 0-2 stay glibc's (in place): they are the runtime's own diagnostics channel,
  // printed from places that must not park (exit reports, fork hooks, fiber teardown).
  if (fd < 0 || (writing && fd <= 2)) return c;
  FdInfo* fi;
  const FdKind k = fd_kind(fd, fi);
  if (k != FdKind::socket && k != FdKind::pipe && k != FdKind::shared && k != FdKind::file) return c;
  c.h = h;
  c.fd = fd;
  c.kind = k;
  c.nonblock = fi && fi->load().user_nonblock();
  return c;
}

std::size_t avail(FILE* fp) noexcept {
  return fp->_IO_read_ptr < fp->_IO_read_end ? static_cast<std::size_t>(fp->_IO_read_end - fp->_IO_read_ptr) : 0;
}

// Makes the read buffer non-empty: one underflow once the fd is readable. Returns the next byte
// (not consumed) or EOF with the stream's EOF or error flag set as stdio would.
int fill(const Coop& c, FILE* fp) noexcept {
  for (;;) {
    if (avail(fp)) return static_cast<unsigned char>(*fp->_IO_read_ptr);
    if (c.kind == FdKind::shared && !(fp->_flags & kInBackup)) {  // blocking fd: wait, then read
      if (int why = io_wait(*c.h, c.fd, kIoRead, kForever, "stdio_read")) {
        errno = why;
        fp->_flags |= kErrSeen;
        return EOF;
      }
    }
    const int saved = errno;
    const int ch = rs().underflow(fp);
    if (ch != EOF) {
      errno = saved;
      return ch;
    }
    if (!(fp->_flags & kErrSeen) || (errno != EAGAIN && errno != EWOULDBLOCK) || c.nonblock ||
        c.kind == FdKind::file)
      return EOF;
    fp->_flags &= ~kErrSeen;  // the EAGAIN was greenev's O_NONBLOCK, not an error
    errno = saved;
    if (int why = io_wait(*c.h, c.fd, kIoRead, kForever, "stdio_read")) {
      errno = why;
      fp->_flags |= kErrSeen;
      return EOF;
    }
  }
}

// Writes out what the buffer holds, cooperatively. 0 or EOF (error flag set).
int flush_buf(const Coop& c, FILE* fp) noexcept {
  if (!(fp->_flags & kCurrentlyPutting) || !fp->_IO_write_base) return 0;
  const std::size_t n = static_cast<std::size_t>(fp->_IO_write_ptr - fp->_IO_write_base);
  if (n == 0) return 0;
  if (c.kind == FdKind::file && fp->_IO_read_end != fp->_IO_write_base) {
    return rs().fflush(fp);  // an "r+" stream that switched modes needs glibc's lseek fix-up: in place
  }
  const ssize_t w = ::write(c.fd, fp->_IO_write_base, n);  // patched: cooperative, whole
  if (w < 0 || static_cast<std::size_t>(w) < n) {
    const std::size_t done = w > 0 ? static_cast<std::size_t>(w) : 0;
    std::memmove(fp->_IO_write_base, fp->_IO_write_base + done, n - done);
    fp->_IO_write_ptr = fp->_IO_write_base + (n - done);
    fp->_flags |= kErrSeen;
    return EOF;
  }
  fp->_IO_write_ptr = fp->_IO_write_base;
  if (c.kind == FdKind::file) fp->_offset = -1;  // glibc's cached position is stale now
  return 0;
}

// Puts the stream in write mode with a buffer (what glibc's first write does), without writing.
bool ensure_put(FILE* fp) noexcept {
  if ((fp->_flags & kCurrentlyPutting) && fp->_IO_buf_base) return true;
  if (avail(fp)) return rs().overflow(fp, EOF) != EOF;  // read-ahead to discard: glibc's way
  return rs().overflow(fp, EOF) != EOF;
}

std::size_t coop_write(const Coop& c, FILE* fp, const char* p, std::size_t n) noexcept {
  if (n == 0) return 0;
  if (!ensure_put(fp)) return 0;
  const std::size_t bufsize = static_cast<std::size_t>(fp->_IO_buf_end - fp->_IO_buf_base);
  const bool unbuffered = fp->_flags & kUnbuffered;
  std::size_t space = static_cast<std::size_t>(fp->_IO_buf_end - fp->_IO_write_ptr);
  if (!unbuffered && n <= space) {
    std::memcpy(fp->_IO_write_ptr, p, n);
    fp->_IO_write_ptr += n;
    if ((fp->_flags & kLineBuf) && std::memchr(p, '\n', n) && flush_buf(c, fp) != 0) return 0;
    return n;
  }
  if (flush_buf(c, fp) != 0) return 0;
  if (!unbuffered && n < bufsize) {
    std::memcpy(fp->_IO_write_ptr, p, n);
    fp->_IO_write_ptr += n;
    if ((fp->_flags & kLineBuf) && std::memchr(p, '\n', n) && flush_buf(c, fp) != 0) return 0;
    return n;
  }
  const ssize_t w = ::write(c.fd, p, n);  // large or unbuffered: straight out, cooperatively
  if (c.kind == FdKind::file) fp->_offset = -1;
  if (w < 0) {
    fp->_flags |= kErrSeen;
    return 0;
  }
  if (static_cast<std::size_t>(w) < n) fp->_flags |= kErrSeen;
  return static_cast<std::size_t>(w);
}

std::size_t coop_read(const Coop& c, FILE* fp, char* dst, std::size_t n) noexcept {
  std::size_t done = 0;
  while (done < n) {
    if (std::size_t a = avail(fp)) {
      const std::size_t k = std::min(a, n - done);
      std::memcpy(dst + done, fp->_IO_read_ptr, k);
      fp->_IO_read_ptr += k;
      done += k;
      continue;
    }
    const std::size_t bufsize = fp->_IO_buf_base ? static_cast<std::size_t>(fp->_IO_buf_end - fp->_IO_buf_base) : 0;
    if (bufsize && n - done >= bufsize && !(fp->_flags & kCurrentlyPutting)) {
      // Large: straight into the caller's buffer through the patched read (as glibc does).
      const ssize_t r = ::read(c.fd, dst + done, n - done);
      if (c.kind == FdKind::file) fp->_offset = -1;
      if (r > 0) {
        done += static_cast<std::size_t>(r);
        continue;
      }
      fp->_flags |= r == 0 ? kEofSeen : kErrSeen;
      break;
    }
    if (fill(c, fp) == EOF) break;
  }
  return done;
}

ssize_t coop_getdelim(const Coop& c, char** line, size_t* cap, int delim, FILE* fp) noexcept {
  if (!line || !cap) {
    errno = EINVAL;
    return -1;
  }
  std::size_t len = 0;
  for (;;) {
    if (fill(c, fp) == EOF) break;
    const std::size_t a = avail(fp);
    const char* start = fp->_IO_read_ptr;
    const char* hit = static_cast<const char*>(std::memchr(start, delim, a));
    const std::size_t take = hit ? static_cast<std::size_t>(hit - start) + 1 : a;
    if (!*line || *cap < len + take + 1) {
      std::size_t want = std::max<std::size_t>({*cap * 2, len + take + 1, 120});
      char* p = static_cast<char*>(std::realloc(*line, want));
      if (!p) {
        errno = ENOMEM;
        fp->_flags |= kErrSeen;
        return -1;
      }
      *line = p;
      *cap = want;
    }
    std::memcpy(*line + len, start, take);
    len += take;
    fp->_IO_read_ptr += take;
    if (hit) break;
  }
  if (len == 0) return -1;
  (*line)[len] = '\0';
  return static_cast<ssize_t>(len);
}

int coop_vfprintf(const Coop& c, FILE* fp, const char* fmt, va_list ap) noexcept {
  char small[1024];
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(small, sizeof small, fmt, ap);
  char* p = small;
  char* heap = nullptr;
  if (n >= static_cast<int>(sizeof small)) {
    heap = static_cast<char*>(std::malloc(static_cast<std::size_t>(n) + 1));
    if (!heap) {
      va_end(ap2);
      errno = ENOMEM;
      return -1;
    }
    std::vsnprintf(heap, static_cast<std::size_t>(n) + 1, fmt, ap2);
    p = heap;
  }
  va_end(ap2);
  if (n > 0 && coop_write(c, fp, p, static_cast<std::size_t>(n)) != static_cast<std::size_t>(n)) n = -1;
  std::free(heap);
  return n;
}

// popen()'d streams of this process: FILE* -> child pid (for pclose).
std::mutex g_popen_mu;
std::unordered_map<FILE*, pid_t>* g_popen = nullptr;  // leaked: streams may outlive statics

}  // namespace

// ---- reading ------------------------------------------------------------------------------------

GREENEV_PATCH int __underflow(FILE* fp) {
  if (Coop c = coop(fp)) return fill(c, fp);
  return rs().underflow(fp);
}

GREENEV_PATCH int __uflow(FILE* fp) {
  if (Coop c = coop(fp)) {
    const int ch = fill(c, fp);
    if (ch != EOF) ++fp->_IO_read_ptr;
    return ch;
  }
  return rs().uflow(fp);
}

GREENEV_PATCH int fgetc(FILE* fp) {
  if (Coop c = coop(fp)) {
    const int ch = fill(c, fp);
    if (ch != EOF) ++fp->_IO_read_ptr;
    return ch;
  }
  return rs().fgetc(fp);
}
GREENEV_PATCH int getc(FILE* fp) { return fgetc(fp); }
GREENEV_PATCH int _IO_getc(FILE* fp) { return fgetc(fp); }
GREENEV_PATCH int getchar(void) { return fgetc(stdin); }

GREENEV_PATCH char* fgets(char* s, int n, FILE* fp) {
  Coop c = coop(fp);
  if (!c) return rs().fgets(s, n, fp);
  if (n <= 0) return nullptr;
  std::size_t len = 0;
  const std::size_t max = static_cast<std::size_t>(n) - 1;
  while (len < max) {
    if (fill(c, fp) == EOF) {
      if (fp->_flags & kErrSeen) return nullptr;
      break;
    }
    const std::size_t a = std::min(avail(fp), max - len);
    const char* start = fp->_IO_read_ptr;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', a));
    const std::size_t take = nl ? static_cast<std::size_t>(nl - start) + 1 : a;
    std::memcpy(s + len, start, take);
    len += take;
    fp->_IO_read_ptr += take;
    if (nl) break;
  }
  if (len == 0) return nullptr;
  s[len] = '\0';
  return s;
}

GREENEV_PATCH ssize_t getdelim(char** line, size_t* cap, int delim, FILE* fp) {
  if (Coop c = coop(fp)) return coop_getdelim(c, line, cap, delim, fp);
  return rs().getdelim(line, cap, delim, fp);
}
GREENEV_PATCH ssize_t __getdelim(char** line, size_t* cap, int delim, FILE* fp) { return getdelim(line, cap, delim, fp); }
GREENEV_PATCH ssize_t getline(char** line, size_t* cap, FILE* fp) { return getdelim(line, cap, '\n', fp); }

GREENEV_PATCH size_t fread(void* p, size_t size, size_t n, FILE* fp) {
  Coop c = coop(fp);
  if (!c) return rs().fread(p, size, n, fp);
  if (size == 0 || n == 0) return 0;
  return coop_read(c, fp, static_cast<char*>(p), size * n) / size;
}

// ---- writing ------------------------------------------------------------------------------------

GREENEV_PATCH int __overflow(FILE* fp, int ch) {
  Coop c = coop(fp, true);
  if (!c) return rs().overflow(fp, ch);
  if (ch == EOF) return flush_buf(c, fp) == 0 ? 0 : EOF;
  const char b = static_cast<char>(ch);
  return coop_write(c, fp, &b, 1) == 1 ? static_cast<unsigned char>(ch) : EOF;
}

GREENEV_PATCH size_t fwrite(const void* p, size_t size, size_t n, FILE* fp) {
  Coop c = coop(fp, true);
  if (!c) return rs().fwrite(p, size, n, fp);
  if (size == 0 || n == 0) return 0;
  return coop_write(c, fp, static_cast<const char*>(p), size * n) / size;
}

GREENEV_PATCH int fputs(const char* s, FILE* fp) {
  Coop c = coop(fp, true);
  if (!c) return rs().fputs(s, fp);
  const std::size_t n = std::strlen(s);
  return coop_write(c, fp, s, n) == n ? 1 : EOF;
}

GREENEV_PATCH int puts(const char* s) {
  if (fputs(s, stdout) == EOF) return EOF;
  return fputc('\n', stdout) == EOF ? EOF : 1;
}

GREENEV_PATCH int fputc(int ch, FILE* fp) {
  Coop c = coop(fp, true);
  if (!c) return rs().fputc(ch, fp);
  const char b = static_cast<char>(ch);
  return coop_write(c, fp, &b, 1) == 1 ? static_cast<unsigned char>(ch) : EOF;
}
GREENEV_PATCH int putc(int ch, FILE* fp) { return fputc(ch, fp); }
GREENEV_PATCH int _IO_putc(int ch, FILE* fp) { return fputc(ch, fp); }
GREENEV_PATCH int putchar(int ch) { return fputc(ch, stdout); }

GREENEV_PATCH int vfprintf(FILE* fp, const char* fmt, va_list ap) {
  if (Coop c = coop(fp, true)) return coop_vfprintf(c, fp, fmt, ap);
  return rs().vfprintf(fp, fmt, ap);
}
GREENEV_PATCH int fprintf(FILE* fp, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int r = vfprintf(fp, fmt, ap);
  va_end(ap);
  return r;
}
GREENEV_PATCH int vprintf(const char* fmt, va_list ap) { return vfprintf(stdout, fmt, ap); }
GREENEV_PATCH int printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int r = vfprintf(stdout, fmt, ap);
  va_end(ap);
  return r;
}
GREENEV_PATCH int __vfprintf_chk(FILE* fp, int, const char* fmt, va_list ap) { return vfprintf(fp, fmt, ap); }
GREENEV_PATCH int __fprintf_chk(FILE* fp, int, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int r = vfprintf(fp, fmt, ap);
  va_end(ap);
  return r;
}
GREENEV_PATCH int __vprintf_chk(int, const char* fmt, va_list ap) { return vfprintf(stdout, fmt, ap); }
GREENEV_PATCH int __printf_chk(int, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int r = vfprintf(stdout, fmt, ap);
  va_end(ap);
  return r;
}

GREENEV_PATCH int vdprintf(int fd, const char* fmt, va_list ap) {
  if (!coop_hub() || fd <= 2) return rs().vdprintf(fd, fmt, ap);
  char* p = nullptr;
  const int n = vasprintf(&p, fmt, ap);
  if (n < 0) return -1;
  const ssize_t w = ::write(fd, p, static_cast<std::size_t>(n));  // patched: cooperative, whole
  std::free(p);
  return w < 0 ? -1 : static_cast<int>(w);
}
GREENEV_PATCH int dprintf(int fd, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int r = vdprintf(fd, fmt, ap);
  va_end(ap);
  return r;
}

GREENEV_PATCH int fflush(FILE* fp) {
  if (Coop c = coop(fp, true)) {
    if (fp->_flags & kCurrentlyPutting) return flush_buf(c, fp);
  }
  return rs().fflush(fp);
}

GREENEV_PATCH int fclose(FILE* fp) {
  if (!fp) return rs().fclose(fp);
  int r = 0;
  if (Coop c = coop(fp, true))
    if (fp->_flags & kCurrentlyPutting) r = flush_buf(c, fp);
  if (fp->_fileno >= 0) io_before_close(fp->_fileno);  // glibc closes it behind the fd table's back
  const int rc = rs().fclose(fp);
  return r == 0 ? rc : EOF;
}

// ---- popen / pclose -----------------------------------------------------------------------------

GREENEV_PATCH FILE* popen(const char* cmd, const char* mode) {
  if (!coop_hub() || !cmd || !mode) return rs().popen(cmd, mode);
  bool reading = false, writing = false, cloexec = false;
  for (const char* m = mode; *m; ++m) {
    if (*m == 'r') reading = true;
    else if (*m == 'w') writing = true;
    else if (*m == 'e') cloexec = true;
    else {
      errno = EINVAL;
      return nullptr;
    }
  }
  if (reading == writing) {
    errno = EINVAL;
    return nullptr;
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return nullptr;
  const int mine = reading ? p[0] : p[1];
  const int theirs = reading ? p[1] : p[0];
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, theirs, reading ? 1 : 0);
  {  // POSIX: streams of earlier popen() calls still open here are closed in the new child
    std::lock_guard lk(g_popen_mu);
    if (g_popen)
      for (auto& [f, pid] : *g_popen) posix_spawn_file_actions_addclose(&fa, f->_fileno);
  }
  char sh[] = "sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(cmd), nullptr};
  pid_t pid;
  const int rc = posix_spawn(&pid, "/bin/sh", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(theirs);
  if (rc != 0) {
    ::close(mine);
    errno = rc;
    return nullptr;
  }
  if (!cloexec) ::fcntl(mine, F_SETFD, 0);
  FILE* f = ::fdopen(mine, reading ? "r" : "w");
  if (!f) {
    const int e = errno;
    ::close(mine);
    ::kill(pid, SIGKILL);
    while (sys_wait4(pid, nullptr, 0, nullptr) < 0 && errno == EINTR) {}
    errno = e;
    return nullptr;
  }
  std::lock_guard lk(g_popen_mu);
  if (!g_popen) g_popen = new std::unordered_map<FILE*, pid_t>;
  (*g_popen)[f] = pid;
  return f;
}

GREENEV_PATCH int pclose(FILE* fp) {
  pid_t pid = -1;
  {
    std::lock_guard lk(g_popen_mu);
    if (g_popen) {
      auto it = g_popen->find(fp);
      if (it != g_popen->end()) {
        pid = it->second;
        g_popen->erase(it);
      }
    }
  }
  if (pid < 0) return rs().pclose(fp);  // glibc's own popen (made outside a fiber)
  fclose(fp);
  int st = 0;
  pid_t r;
  if (Hub* h = coop_hub()) {
    r = coop_wait4(*h, pid, &st, 0, nullptr, kForever);
    if (r < 0 && (errno == ETIMEDOUT || errno == ECANCELED)) {
      const int e = errno;  // interrupted: the child is ours alone to reap; do not leave a zombie
      ::kill(pid, SIGKILL);
      while (sys_wait4(pid, &st, 0, nullptr) < 0 && errno == EINTR) {}
      errno = e;
      return -1;
    }
  } else {
    while ((r = sys_wait4(pid, &st, 0, nullptr)) < 0 && errno == EINTR) {}
  }
  return r == pid ? st : -1;
}
