// fortify_client — a client compiled with -O2 -D_FORTIFY_SOURCE=2 (tests/interop.cmake), so glibc's
// headers turn read/recv/recvfrom/poll into __read_chk/__recv_chk/__recvfrom_chk/__poll_chk calls:
// the symbols real distro-built libraries call. Those must yield like the plain names.
//
// 40 reader fibers each wait on their own socketpair with one of the four calls; 40 writer fibers
// each sleep 100 ms (a greenev sleep) and then write to their pair. The writers can only ever run
// if the readers' fortified calls park their fibers, so finishing at all proves the hooks; doing it
// in ~100 ms (not 40 x 100 ms) proves they overlap. SO_RCVTIMEO (2 s) and poll's timeout make an
// unpatched call fail fast instead of hanging; alarm() is the last resort.
//
// Prints one line per flavour and `result: ok|FAILED elapsed_ms=<ms> switches=<n> yielded=<n>`
// (yielded: readers whose call let other fibers run meanwhile, i.e. parked instead of blocking);
// exit status 0 only if every reader got its message.
#include <greenev/greenev.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if !defined(__USE_FORTIFY_LEVEL) || __USE_FORTIFY_LEVEL < 2
#error "fortify_client must be compiled with -O2 -D_FORTIFY_SOURCE=2 (see tests/interop.cmake)"
#endif

namespace {

using namespace std::chrono_literals;

// Hides a length from the optimiser: with a buffer of known size and a length it cannot see,
// glibc's fortify wrappers must call the checking variant (__read_chk...) rather than plain read.
template <class T>
T opaque(T v) {
  asm volatile("" : "+r"(v));
  return v;
}

enum Flavour { kRead, kRecv, kRecvfrom, kPoll, kFlavours };
const char* const kNames[kFlavours] = {"read(__read_chk)", "recv(__recv_chk)",
                                       "recvfrom(__recvfrom_chk)", "poll(__poll_chk)"};

// Set by the first reader that fails: the rest then give up at once (fail fast, without the patches
// every reader would block the whole thread for its 2 s timeout in turn).
bool g_failed = false;

std::string reader_impl(int fd, Flavour how);

// Readers whose fortified call let other fibers run meanwhile (hub switches during the call > 0).
// A call that blocked the thread instead lets nothing run: 0 switches.
int g_yielded[kFlavours] = {};

// One reader: returns the bytes received, or "ERR:<what>".
std::string reader(int fd, Flavour how) {
  if (g_failed) return "ERR:skipped after an earlier failure";
  const auto before = greenev::hub_stats().switches;
  std::string r = reader_impl(fd, how);
  if (greenev::hub_stats().switches != before) ++g_yielded[how];
  if (r.compare(0, 4, "ERR:") == 0) g_failed = true;
  return r;
}

std::string reader_impl(int fd, Flavour how) {
  char buf[64];
  ssize_t n = -1;
  switch (how) {
    case kRead:
      n = read(fd, buf, opaque(sizeof buf));
      break;
    case kRecv:
      n = recv(fd, buf, opaque(sizeof buf), 0);
      break;
    case kRecvfrom:
      n = recvfrom(fd, buf, opaque(sizeof buf), 0, nullptr, nullptr);
      break;
    case kPoll: {
      struct pollfd pfd[1] = {{fd, POLLIN, 0}};
      int r = poll(pfd, opaque(nfds_t{1}), 2000);
      if (r != 1 || !(pfd[0].revents & POLLIN))
        return "ERR:poll returned " + std::to_string(r) + " errno " + std::strerror(errno);
      n = read(fd, buf, opaque(sizeof buf));
      break;
    }
    default:
      break;
  }
  if (n < 0) return std::string("ERR:") + kNames[how] + ": " + std::strerror(errno);
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

int main() {
  alarm(30);
  constexpr int kPairs = 40;
  std::vector<int> rd(kPairs), wr(kPairs);
  for (int i = 0; i < kPairs; ++i) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      std::perror("socketpair");
      return 2;
    }
    timeval tv{2, 0};  // an unpatched (thread-blocking) read gives up after 2 s instead of hanging
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    rd[i] = sv[0];
    wr[i] = sv[1];
  }

  const auto s0 = greenev::hub_stats().switches;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<greenev::Fiber<std::string>> readers;
  std::vector<greenev::Fiber<void>> writers;
  for (int i = 0; i < kPairs; ++i)
    readers.push_back(greenev::spawn([fd = rd[i], i] { return reader(fd, static_cast<Flavour>(i % kFlavours)); }));
  for (int i = 0; i < kPairs; ++i) {
    writers.push_back(greenev::spawn([fd = wr[i], i] {
      greenev::this_fiber::sleep_for(100ms);
      std::string msg = "msg-" + std::to_string(i);
      if (write(fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) std::perror("write");
    }));
  }
  std::vector<std::string> got(kPairs);
  for (int i = 0; i < kPairs; ++i) got[i] = readers[i].join();
  for (auto& w : writers) w.join();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto switches = greenev::hub_stats().switches - s0;

  int ok[kFlavours] = {}, total_ok = 0;
  for (int i = 0; i < kPairs; ++i) {
    if (got[i] == "msg-" + std::to_string(i)) {
      ++ok[i % kFlavours];
      ++total_ok;
    } else {
      std::printf("reader %d (%s): got '%s'\n", i, kNames[i % kFlavours], got[i].c_str());
    }
  }
  int yielded = 0;
  for (int f = 0; f < kFlavours; ++f) {
    std::printf("%s: %d/%d ok, %d/%d yielded\n", kNames[f], ok[f], kPairs / kFlavours, g_yielded[f],
                kPairs / kFlavours);
    yielded += g_yielded[f];
  }
  for (int i = 0; i < kPairs; ++i) {
    close(rd[i]);
    close(wr[i]);
  }
  const bool all = total_ok == kPairs;
  std::printf("result: %s elapsed_ms=%.1f switches=%llu yielded=%d\n", all ? "ok" : "FAILED", ms,
              static_cast<unsigned long long>(switches), yielded);
  std::fflush(stdout);
  return all ? 0 : 1;
}
