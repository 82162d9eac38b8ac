/* A shared library for diag_test's patch self-test: it calls a patched function (read) and
   variants greenev cannot patch (a raw syscall(), msgrcv), which the report must flag. */
#include <stddef.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <unistd.h>

long diag_lib_raw_read(int fd, void* buf, size_t n) { return syscall(SYS_read, fd, buf, n); }
ssize_t diag_lib_read(int fd, void* buf, size_t n) { return read(fd, buf, n); }
ssize_t diag_lib_msgrcv(int q, void* buf, size_t n) { return msgrcv(q, buf, n, 0, 0); }
