// examples/greenev-echo — a TCP/unix echo server on StreamServer with plain read/write.
//
// The handler is what one would write for one client per thread: read, write back, until EOF.
// StreamServer runs it on a fiber per connection; the patched read/write park the fiber instead
// of the thread. Everything else — listening, the connection limit, SIGTERM, LISTEN_FDS — is the
// server's job. (examples/echo_server.cpp is the same without StreamServer: the accept loop by hand.)
//
//   greenev-echo --listen 127.0.0.1:7007 --listen unix:/tmp/echo.sock
//   printf 'hello\n' | nc -N 127.0.0.1 7007
#include "example_common.hpp"

#include <greenev/greenev.hpp>

#include <unistd.h>

int main(int argc, char** argv) {
  CLI::App app{"greenev-echo: echo server (StreamServer, one fiber per connection, plain read/write)"};
  greenev::examples::ServerFlags flags;
  greenev::examples::add_server_flags(app, flags, "127.0.0.1:7007");
  CLI11_PARSE(app, argc, argv);

  return greenev::examples::guarded_main("greenev-echo", [&] {
    const bool idle_limit = flags.idle_timeout_s > 0;
    greenev::StreamServer server(greenev::examples::server_options(flags, "greenev-echo"), [idle_limit](greenev::Connection& c) {
      char buf[16384];
      for (;;) {
        c.set_idle(true);  // between messages: a graceful stop may close us now
        // Plain read(2); Connection::read is the same call bounded by --idle-timeout.
        const ssize_t n = idle_limit ? c.read(buf, sizeof buf) : ::read(c.fd(), buf, sizeof buf);
        if (n <= 0) return;  // EOF, error or idle timeout: done with this client
        c.set_idle(false);
        if (::write(c.fd(), buf, static_cast<size_t>(n)) != n) return;
      }
    });
    server.start();
    greenev::examples::announce(server, "greenev-echo");
    server.serve_forever();
    return 0;
  });
}
