// patches/fcntl.cpp — fcntl, fcntl64 (+ __fcntl) and ioctl: the user's view of O_NONBLOCK.
//
// Never yield. For a socket or pipe greenev drives cooperatively, the real fd stays O_NONBLOCK;
// F_SETFL and ioctl(FIONBIO) record what the user asked (a non-blocking fd then gets EAGAIN at once,
// with no yield), and F_GETFL reports the user's O_NONBLOCK, not the real one. F_DUPFD and
// F_DUPFD_CLOEXEC copy the table entry (the copy shares the file description). O_NONBLOCK belongs to
// the open file description: set through one number, every number known to share it (dup family)
// reports it and behaves accordingly. Applies on every thread, with or without a hub, since the
// table is process-wide.
// Pass through: every other command and request, and fds greenev does not drive.
#include "patch.hpp"

#include <cstdarg>
#include <cstdint>
#include <sys/ioctl.h>

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(fcntl);

namespace {

// The entry of a socket or pipe greenev drives (an entry being prepared is waited for: its flags
// are about to change underneath); null for anything else, unknown entries included.
FdInfo* driven(int fd) noexcept {
  FdInfo* fi = fd_info_if(fd);
  if (!fi) return nullptr;
  FdState st = fi->load();
  if (st.kind() == FdKind::preparing) st = fd_state(fd, fi);
  return fi && st.cooperative() ? fi : nullptr;
}

template <class Real>
int do_fcntl(Real real_fn, int fd, int cmd, void* arg) {
  switch (cmd) {
    case F_GETFL: {
      int r = real_fn(fd, cmd);
      if (r >= 0)
        if (FdInfo* fi = driven(fd))
          r = (r & ~O_NONBLOCK) | (fi->load().user_nonblock() ? O_NONBLOCK : 0);
      return r;
    }
    case F_SETFL: {
      int fl = static_cast<int>(reinterpret_cast<std::intptr_t>(arg));
      FdInfo* fi = driven(fd);
      if (!fi) return real_fn(fd, cmd, fl);
      const int r = real_fn(fd, cmd, fl | O_NONBLOCK);
      if (r == 0) fd_set_user_nonblock(fd, fi, fl & O_NONBLOCK);
      return r;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const int r = real_fn(fd, cmd, static_cast<int>(reinterpret_cast<std::intptr_t>(arg)));
      if (r >= 0) fd_copy(r, fd);
      return r;
    }
    default:
      return real_fn(fd, cmd, arg);
  }
}

}  // namespace

GREENEV_PATCH int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(real().fcntl, fd, cmd, arg);
}

GREENEV_PATCH int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(real().fcntl64, fd, cmd, arg);
}

GREENEV_PATCH int ioctl(int fd, unsigned long req, ...) noexcept {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (req == FIONBIO && arg) {
    if (FdInfo* fi = driven(fd)) {
      int one = 1;
      const int r = real().ioctl(fd, FIONBIO, &one);
      if (r == 0) fd_set_user_nonblock(fd, fi, *static_cast<int*>(arg) != 0);
      return r;
    }
  }
  return real().ioctl(fd, req, arg);
}

GREENEV_PATCH_ALIAS(__fcntl, fcntl, int __fcntl(int, int, ...));
