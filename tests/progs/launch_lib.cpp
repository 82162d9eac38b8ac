// Child program for launcher tests: the library API. greenev::launch() with a StreamServer worker
// answering "lib worker <index> pid <pid>" on every request; args: address [workers].
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
  greenev::LaunchOptions o;
  o.listen = {argc > 1 ? argv[1] : "127.0.0.1:0"};
  o.workers = argc > 2 ? std::atoi(argv[2]) : 2;
  o.name = "launch_lib";
  o.heartbeat_timeout = std::chrono::seconds(2);
  o.graceful_timeout = std::chrono::seconds(10);
  if (const char* c = std::getenv("LL_CONTROL")) o.control = c;
  return greenev::launch(o, [](greenev::WorkerContext& w) {
    greenev::ServerOptions so;
    so.listen = w.listen_specs();
    so.idle_drain = std::chrono::seconds(2);  // reloads must not reset keep-alive clients
    greenev::StreamServer srv(so, [&w](greenev::Connection& c) {
      char buf[4096];
      std::string in;
      for (;;) {
        c.set_idle(true);
        ssize_t n = c.read(buf, sizeof buf);
        if (n <= 0) return;
        c.set_idle(false);
        in.append(buf, static_cast<std::size_t>(n));
        std::size_t end;
        while ((end = in.find("\r\n\r\n")) != std::string::npos) {
          in.erase(0, end + 4);
          std::string body = "lib worker " + std::to_string(w.index) + " pid " + std::to_string(::getpid()) + "\n";
          const bool close = c.stopping();
          std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                             (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
          if (c.write(resp.data(), resp.size()) < 0) return;
          c.count_request();
          if (close) return;
        }
      }
    });
    srv.start();
    std::fprintf(stderr, "launch_lib: worker %d pid %d serving %zu fd(s)\n", w.index, static_cast<int>(::getpid()), w.fds.size());
    w.stopping->wait();
    srv.stop(std::chrono::seconds(5));
    return 0;
  });
}
