// Child program for launcher tests: a tiny keep-alive HTTP worker on the sockets the launcher
// passes (LISTEN_FDS from fd 3), written with plain POSIX calls on fibers.
//   GET /            200 "worker <index> pid <pid> uid <uid> fds <n>"
//   GET /slow?ms=N   sleeps N ms first
//   GET /spin        a fiber named "spin-handler" spins without yielding (a hung hub)
//   GET /orphan      leaves a grandchild that outlives its parent (PID-1 reaping test)
// SIGTERM: stop accepting, answer the request in flight on each connection (or the next one, for
// up to 2 s) with "Connection: close", then exit 0. SIGQUIT: exit at once.
// Environment: TW_BOOT_EXIT=N exits N at start (crash loop); TW_IGNORE_TERM=1 ignores SIGTERM.
#include <greenev/greenev.hpp>
#include <greenev/launcher.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

greenev::Event g_stopping;
int g_index = -1;
std::size_t g_nfds = 0;

bool write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void make_orphan() {
  pid_t child = ::fork();
  if (child == 0) {
    if (::fork() == 0) {
      ::usleep(200000);
      _exit(0);
    }
    _exit(0);
  }
  if (child > 0) ::waitpid(child, nullptr, 0);
}

void serve(int c) {
  greenev::worker_note_connection(1);
  std::string buf;
  char tmp[4096];
  for (;;) {
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      // Stopping and idle: give a client that is about to send one more chance (keep-alive
      // clients race a close), then close between requests.
      if (g_stopping.is_set() && buf.empty() && !greenev::wait_readable(c, std::chrono::seconds(2))) goto done;
      ssize_t n = ::read(c, tmp, sizeof tmp);
      if (n <= 0) goto done;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    {
      std::string req = buf.substr(0, end);
      buf.erase(0, end + 4);
      std::string path = req.substr(req.find(' ') + 1);
      path = path.substr(0, path.find(' '));
      if (path.rfind("/slow", 0) == 0) {
        auto p = path.find("ms=");
        greenev::sleep(std::chrono::milliseconds(p == std::string::npos ? 500 : std::atol(path.c_str() + p + 3)));
      } else if (path == "/spin") {
        greenev::this_fiber::set_name("spin-handler");
        volatile unsigned long x = 0;
        for (;;) x = x + 1;
      } else if (path == "/orphan") {
        make_orphan();
      }
      std::string body = "worker " + std::to_string(g_index) + " pid " + std::to_string(::getpid()) + " uid " +
                         std::to_string(::getuid()) + " fds " + std::to_string(g_nfds) + "\n";
      const bool close_now = g_stopping.is_set();
      std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                         (close_now ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
      greenev::worker_note_request();
      if (!write_all(c, resp) || close_now) break;
    }
  }
done:
  ::close(c);
  greenev::worker_note_connection(-1);
}

}  // namespace

int main() {
  if (const char* e = std::getenv("TW_BOOT_EXIT")) {
    std::fprintf(stderr, "tw: exiting at boot with %s\n", e);
    return std::atoi(e);
  }
  const char* idx = std::getenv("GREENEV_WORKER_INDEX");
  g_index = idx ? std::atoi(idx) : -1;
  std::vector<int> fds;
  const char* lp = std::getenv("LISTEN_PID");
  const char* lf = std::getenv("LISTEN_FDS");
  if (lp && lf && std::atol(lp) == ::getpid())
    for (int i = 0; i < std::atoi(lf); ++i) fds.push_back(3 + i);
  g_nfds = fds.size();
  if (fds.empty()) {
    std::fprintf(stderr, "tw: no LISTEN_FDS for this pid\n");
    return 4;
  }
  const bool ignore_term = std::getenv("TW_IGNORE_TERM") != nullptr;
  greenev::SignalHandler term(SIGTERM, [&] {
    if (!ignore_term) g_stopping.set();
  });
  greenev::SignalHandler quit(SIGQUIT, [] { _exit(0); });
  greenev::Group conns;
  std::vector<greenev::Fiber<void>> acceptors;
  for (int fd : fds) {
    acceptors.push_back(greenev::spawn(greenev::SpawnOptions{"accept"}, [fd, &conns] {
      for (;;) {
        int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
          if (errno == EBADF || errno == EINVAL) return;
          continue;
        }
        conns.spawn(greenev::SpawnOptions{"conn"}, serve, c);
      }
    }));
  }
  std::fprintf(stderr, "tw: worker %d pid %d serving %zu fd(s)\n", g_index, static_cast<int>(::getpid()), fds.size());
  g_stopping.wait();
  for (int fd : fds) ::close(fd);  // wakes the acceptors with EBADF; the master keeps the sockets
  for (auto& a : acceptors) a.join();
  if (!conns.join(std::chrono::seconds(3))) conns.kill();  // idle keep-alive readers
  std::fprintf(stderr, "tw: worker %d pid %d stopped\n", g_index, static_cast<int>(::getpid()));
  return 0;
}
