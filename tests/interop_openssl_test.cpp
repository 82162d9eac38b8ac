// docs/interrupts.md, "What C libraries return": a Timeout or kill() reaching OpenSSL inside
// SSL_connect. The peer is a loopback listener that accepts and never answers, so the handshake
// waits in a patched read for the ServerHello (no certificate needed to get there).
#include "interop_support.hpp"
#include "interrupt_probe.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

using namespace std::chrono_literals;

TEST_CASE("OpenSSL: a Timeout or kill inside SSL_connect gives SSL_ERROR_SYSCALL with the errno, then raises") {
  test::interop::Listener listener;  // the kernel completes the TCP handshake; nobody ever writes
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  REQUIRE(ctx != nullptr);
  int rc = 0, ssl_error = 0, err_no = 0;
  auto handshake = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(listener.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    test::interop::ensure(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "connect");
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    errno = 0;
    rc = SSL_connect(ssl);
    err_no = errno;
    ssl_error = SSL_get_error(ssl, rc);
    ERR_clear_error();
    SSL_free(ssl);
    ::close(fd);
  };
  auto t = test::timeout_probe(200ms, handshake);
  MESSAGE("Timeout: SSL_connect -> ", rc, ", SSL_get_error ", ssl_error, ", errno ", err_no);
  CHECK(t.call_returned);
  CHECK(t.raised);
  CHECK(rc == -1);
  CHECK(ssl_error == SSL_ERROR_SYSCALL);
  CHECK(err_no == ETIMEDOUT);
  auto k = test::kill_probe(200ms, handshake);
  MESSAGE("kill: SSL_connect -> ", rc, ", SSL_get_error ", ssl_error, ", errno ", err_no);
  CHECK(k.call_returned);
  CHECK(k.raised);
  CHECK(rc == -1);
  CHECK(ssl_error == SSL_ERROR_SYSCALL);
  CHECK(err_no == ECANCELED);
  SSL_CTX_free(ctx);
  test::require_hub_clean();
}
