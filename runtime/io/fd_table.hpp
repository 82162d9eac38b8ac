// runtime/io/fd_table.hpp — the process-wide fd table: what greenev knows of each descriptor number.
//
// One FdInfo per fd number, in chunks of 1024 found through a directory (a lookup is two loads and
// never locks; chunks are never freed or moved). A chunk is allocated only for a number the kernel
// says exists (fstat succeeded, or a patched call just created it): invalid fds cost nothing.
//
// Each entry's state is ONE 64-bit word changed only by compare-and-swap, so a reader always sees
// a consistent (kind, flags, socket type, generation) tuple. The generation counts incarnations of
// the number: every close/re-creation greenev sees bumps it, and everything cached per fd elsewhere
// (a hub's watcher registration) is valid only for the generation it was made under.
//
// States and the only legal transitions (g = generation):
//   unknown(g)   never seen, or closed/re-created since.           -> preparing(g)      [CAS, 1 thread]
//   preparing(g) one thread is learning the fd (io_prepare: fstat, F_GETFL, SO_TYPE, SO_RCVTIMEO,
//                SO_SNDTIMEO, F_SETFL O_NONBLOCK underneath); others wait for it to finish.
//                                                                   -> ready(g)          [CAS]
//   ready(g)     kind = socket | pipe | shared | file | other, plus the user's O_NONBLOCK view, `forced`
//                (greenev set O_NONBLOCK on the real fd), `dupd` (the open file description is known
//                to be shared with other numbers) and the socket type.
//                                                                   -> ready(g) new flags [CAS]
//   any(g)       close, dup2 over it, close_range, or a patched call (socket, accept, pipe, open...)
//                returned this number                               -> unknown(g+1)       [CAS]
//   any(g)       dup family made it a copy of another number        -> ready(g+1) copied  [CAS]
// Rejected: independent relaxed fields (two hub threads preparing one new fd could record the
// O_NONBLOCK the other had just set as the user's: 14.2), and a lock per entry (a lock on every
// patched call's fast path).
// The O_NONBLOCK view belongs to the open file description: each prepared entry carries a
// description id, copied by dup; setting O_NONBLOCK through one number updates every number with
// the same id (only scanned when `dupd`).
#pragma once
#include <atomic>
#include <cstdint>

namespace greenev::detail {

enum class FdKind : std::uint8_t { unknown = 0, socket, pipe, shared, other, file, preparing = 7 };
enum class SockType : std::uint8_t { none = 0, stream, dgram, seqpacket };

// The state word, decoded.
struct FdState {
  std::uint64_t w = 0;
  static constexpr std::uint64_t kKindMask = 7, kUserNb = 1u << 3, kForced = 1u << 4, kDupd = 1u << 5;
  static constexpr int kTypeShift = 6, kGenShift = 32;

  FdKind kind() const noexcept { return static_cast<FdKind>(w & kKindMask); }
  bool ready() const noexcept { return kind() != FdKind::unknown && kind() != FdKind::preparing; }
  bool user_nonblock() const noexcept { return w & kUserNb; }
  bool forced() const noexcept { return w & kForced; }
  bool dupd() const noexcept { return w & kDupd; }
  SockType type() const noexcept { return static_cast<SockType>((w >> kTypeShift) & 3); }
  std::uint32_t gen() const noexcept { return static_cast<std::uint32_t>(w >> kGenShift); }
  bool cooperative() const noexcept { return kind() == FdKind::socket || kind() == FdKind::pipe; }
  // The fd is cooperative and blocking from the user's view (the real fd is O_NONBLOCK only
  // because greenev made it so).
  bool blocking_view() const noexcept { return cooperative() && !user_nonblock(); }

  static FdState make(FdKind k, std::uint32_t gen, bool user_nb = false, bool forced = false,
                      SockType t = SockType::none, bool dupd = false) noexcept {
    return FdState{static_cast<std::uint64_t>(k) | (user_nb ? kUserNb : 0) | (forced ? kForced : 0) |
                   (dupd ? kDupd : 0) | (static_cast<std::uint64_t>(t) << kTypeShift) |
                   (static_cast<std::uint64_t>(gen) << kGenShift)};
  }
};

struct FdInfo {
  std::atomic<std::uint64_t> state{0};    // FdState; see the transitions above
  std::atomic<std::int64_t> rcvtimeo{0};  // SO_RCVTIMEO in ns, 0 = none (valid when ready)
  std::atomic<std::int64_t> sndtimeo{0};  // SO_SNDTIMEO in ns
  std::atomic<std::uint32_t> desc{0};     // open file description id (dup copies it)
  std::atomic<std::uint64_t> hubs{0};     // hub slots holding a watcher for this incarnation

  FdState load() const noexcept { return FdState{state.load(std::memory_order_acquire)}; }
};

// The entry if its chunk exists, else null. Never allocates.
FdInfo* fd_info_if(int fd) noexcept;
// The entry, allocating its chunk: only for a number known to exist. Null for fd < 0 or no memory.
FdInfo* fd_info(int fd) noexcept;
// Slow path of fd_state: allocates the entry for an existing fd, prepares it (or waits for the
// thread preparing it).
FdState fd_prepare(int fd, FdInfo*& fi) noexcept;
// The state of fd, preparing it if unknown. fi is set to the entry, or null (bad fd, no memory:
// the state is then `other` and the real call reports the error). Fast path: two loads.
inline FdState fd_state(int fd, FdInfo*& fi) noexcept {
  fi = fd_info_if(fd);
  if (__builtin_expect(fi != nullptr, 1)) {
    const FdState s = fi->load();
    if (__builtin_expect(s.ready(), 1)) return s;
  }
  return fd_prepare(fd, fi);
}
// A descriptor number was (re)created by a patched call: forget what we knew (-> unknown(g+1)).
// Returns the previous state.
FdState fd_reset(int fd) noexcept;
// fd was just created O_NONBLOCK by greenev itself (StreamServer's accept4 on its own listener): a
// cooperative stream socket whose user view is blocking, known without io_prepare's syscalls. Its
// timeouts are taken as none (the listener is greenev's and carries none).
void fd_adopt_nonblocking_socket(int fd) noexcept;
// newfd now shares oldfd's open file description (dup family).
void fd_copy(int newfd, int oldfd) noexcept;
// The user set (on) or cleared O_NONBLOCK through fd; applies to every number known to share its
// open file description. Only for a cooperative fd.
void fd_set_user_nonblock(int fd, FdInfo* fi, bool on) noexcept;
// Calls f(fd) for every number >= first (and <= last) whose entry is not unknown (close_range).
template <class F>
void fd_for_each_known(unsigned first, unsigned last, F&& f);
// Highest number the table has a chunk for, plus one.
unsigned fd_table_limit() noexcept;

inline FdKind fd_kind(int fd, FdInfo*& fi) noexcept { return fd_state(fd, fi).kind(); }

template <class F>
void fd_for_each_known(unsigned first, unsigned last, F&& f) {
  const unsigned lim = fd_table_limit();
  for (unsigned fd = first; fd < lim && fd <= last; ++fd) {
    FdInfo* fi = fd_info_if(static_cast<int>(fd));
    if (!fi) {
      fd |= 1023;  // the whole chunk is absent
      continue;
    }
    if (fi->load().kind() != FdKind::unknown || fi->hubs.load(std::memory_order_relaxed)) f(static_cast<int>(fd));
  }
}

}  // namespace greenev::detail
