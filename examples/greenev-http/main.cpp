// examples/greenev-http — an HTTP/1.1 server on StreamServer and http-parser, blocking-style.
//
//   greenev-http --listen 127.0.0.1:8080 --root ./public
//   curl http://127.0.0.1:8080/            -> Hello, world!
//   curl http://127.0.0.1:8080/file/a.txt  -> ./public/a.txt (sendfile; no path traversal)
//   curl --data-binary @x http://127.0.0.1:8080/echo
//   greenev-http --cert cert.pem --key key.pem --listen 0.0.0.0:8443   (HTTPS)
//
// Every connection is a fiber running http::serve_connection (conn.cpp) with plain read/write
// underneath; keep-alive and pipelining need no callbacks or state machine of our own beyond the
// parser's. See http.hpp for the limits and the status each one answers with.
#include "example_common.hpp"
#include "http.hpp"

#include <greenev/greenev.hpp>

#include <http_parser.h>
#include <openssl/ssl.h>

#include <csignal>

int main(int argc, char** argv) {
  CLI::App app{"greenev-http: HTTP/1.1 server (StreamServer + http-parser, one fiber per connection)"};
  greenev::examples::ServerFlags flags;
  flags.idle_timeout_s = 75;     // keep-alive connections idle longer are closed (nginx's default)
  flags.request_timeout_s = 10;  // slowloris bound: the whole request within 10 s of its first byte
  greenev::examples::add_server_flags(app, flags, "127.0.0.1:8080", true);
  http::Config cfg;
  std::string cert, key;
  app.add_option("--root", cfg.root, "directory served under /file/<name> (default: none)")->check(CLI::ExistingDirectory);
  app.add_option("--max-body", cfg.max_body, "largest request body in bytes (413 above)")->capture_default_str();
  app.add_option("--cert", cert, "TLS certificate chain (PEM); with --key serves HTTPS")->check(CLI::ExistingFile);
  app.add_option("--key", key, "TLS private key (PEM)")->check(CLI::ExistingFile);
  app.add_option("--tls-handshake-timeout", cfg.handshake_timeout_s, "seconds a TLS handshake may take")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (cert.empty() != key.empty()) {
    std::fprintf(stderr, "greenev-http: --cert and --key go together\n");
    return 2;
  }

  return greenev::examples::guarded_main("greenev-http", [&] {
    std::signal(SIGPIPE, SIG_IGN);
    http_parser_set_max_header_size(8192);  // request line + headers: 414 / 431 beyond
    if (!cert.empty()) cfg.tls = http::make_tls_context(cert, key);
    greenev::StreamServer server(greenev::examples::server_options(flags, "greenev-http"),
                                 [&cfg](greenev::Connection& c) { http::serve_connection(c, cfg); });
    server.start();
    greenev::examples::announce(server, cfg.tls ? "greenev-http (TLS)" : "greenev-http");
    server.serve_forever();
    const auto k = server.counters();
    std::fprintf(stderr, "greenev-http: stopped; %llu connections, %llu requests, %llu cut off at stop\n",
                 static_cast<unsigned long long>(k.accepted), static_cast<unsigned long long>(k.requests),
                 static_cast<unsigned long long>(k.cut_off_at_stop));
    if (cfg.tls) SSL_CTX_free(cfg.tls);
    return 0;
  });
}
