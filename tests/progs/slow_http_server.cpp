// slow_http_server — a deliberately slow HTTP/1.1 server for the libcurl interop test.
//
// Independent of greenev on purpose (plain threads, blocking sockets, not linked with libgreenev):
// greenev is not tested against itself. One thread per connection; each request is answered after
// sleeping the requested time:
//
//   GET /slow?ms=200&id=N[&size=S]  ->  200 OK, body "id=N" (size S: "id=N;" then a filler pattern
//                                       up to S bytes, to exercise multi-read bodies)
//   anything else                   ->  404
//
// Usage: slow_http_server --fd 3      serve the listening socket inherited as fd 3
//        slow_http_server --port P    bind 127.0.0.1:P itself (for manual use)
// It dies with its parent (PR_SET_PDEATHSIG) and on SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

std::atomic<long> g_requests{0};

// The value of `name` in the query string `q` ("a=1&b=2"), or "".
std::string param(const std::string& q, const std::string& name) {
  std::size_t pos = 0;
  while (pos <= q.size()) {
    std::size_t end = q.find('&', pos);
    if (end == std::string::npos) end = q.size();
    std::string kv = q.substr(pos, end - pos);
    if (kv.compare(0, name.size() + 1, name + "=") == 0) return kv.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

bool send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void serve(int fd) {
  std::string req;
  char buf[4096];
  // Keep-alive: serve requests until the client closes.
  for (;;) {
    std::size_t hdr_end;
    while ((hdr_end = req.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return;
      }
      req.append(buf, static_cast<std::size_t>(n));
    }
    std::string head = req.substr(0, hdr_end);
    req.erase(0, hdr_end + 4);
    std::string line = head.substr(0, head.find("\r\n"));
    std::string status = "200 OK", body;
    // "GET /slow?ms=200&id=7 HTTP/1.1"
    std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    std::string target = (sp1 != std::string::npos && sp2 > sp1) ? line.substr(sp1 + 1, sp2 - sp1 - 1) : "";
    std::string path = target.substr(0, target.find('?'));
    std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    if (line.compare(0, 4, "GET ") == 0 && path == "/slow") {
      long ms = std::atol(param(query, "ms").c_str());
      std::string id = param(query, "id");
      std::size_t size = static_cast<std::size_t>(std::atol(param(query, "size").c_str()));
      if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      body = "id=" + id;
      if (size > body.size()) {
        body += ';';
        for (std::size_t i = 0; body.size() < size; ++i) body += static_cast<char>('a' + i % 26);
      }
    } else {
      status = "404 Not Found";
      body = "not found";
    }
    ++g_requests;
    std::string resp = "HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
    if (!send_all(fd, resp)) {
      ::close(fd);
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  ::signal(SIGPIPE, SIG_IGN);
  int lfd = -1;
  if (argc == 3 && std::strcmp(argv[1], "--fd") == 0) {
    lfd = std::atoi(argv[2]);
  } else if (argc == 3 && std::strcmp(argv[1], "--port") == 0) {
    lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd, 512) != 0) {
      std::perror("slow_http_server: bind/listen");
      return 1;
    }
  } else {
    std::fprintf(stderr, "usage: %s --fd N | --port P\n", argv[0]);
    return 2;
  }
  std::fprintf(stderr, "slow_http_server: serving (pid %d)\n", static_cast<int>(::getpid()));
  for (;;) {
    int fd = ::accept(lfd, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
        if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      std::perror("slow_http_server: accept");
      return 1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread(serve, fd).detach();
  }
}
