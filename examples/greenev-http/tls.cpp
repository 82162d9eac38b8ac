// examples/greenev-http/tls.cpp — TLS for greenev-http with OpenSSL, blocking-style.
//
// SSL_set_fd on the connection's socket: OpenSSL's own read()/write() calls go through greenev's
// patches, so SSL_accept/SSL_read/SSL_write park the fiber, not the thread. The handshake runs
// under a Timeout (--tls-handshake-timeout): a client that stalls it gets its connection closed,
// nobody else notices. Reads run under a Timeout at the connection's current deadline (idle or
// request), the same deadlines plain connections get from Connection::read.
// Rejected: memory BIOs with our own socket loop (more code, same behaviour through the patches).
#include "http.hpp"

#include <greenev/greenev.hpp>

#include <openssl/err.h>

#include <cstdio>
#include <stdexcept>

namespace http {

namespace {

std::string ssl_error_text() {
  const unsigned long e = ERR_get_error();
  if (!e) return "connection closed or I/O error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

class TlsStream final : public Stream {
 public:
  TlsStream(greenev::Connection& c, SSL* ssl) : c_(c), ssl_(ssl) {}
  ~TlsStream() override { SSL_free(ssl_); }
  ssize_t read(void* buf, std::size_t n) override {
    greenev::Timeout t(c_.read_deadline());
    const int r = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
    if (r > 0) return r;
    const bool timed_out = t.expired();
    const int e = SSL_get_error(ssl_, r);
    ERR_clear_error();
    if (timed_out) {
      errno = ETIMEDOUT;
      return -1;
    }
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
  bool write(const void* buf, std::size_t n) override {
    const char* p = static_cast<const char*>(buf);
    while (n > 0) {
      const int r = SSL_write(ssl_, p, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
      if (r <= 0) {
        ERR_clear_error();
        return false;
      }
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  void close_gracefully() override {
    greenev::with_timeout(std::chrono::seconds(1), [this] { SSL_shutdown(ssl_); });
    ERR_clear_error();
  }

 private:
  greenev::Connection& c_;
  SSL* ssl_;
};

}  // namespace

SSL_CTX* make_tls_context(const std::string& cert, const std::string& key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + ssl_error_text());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("--cert " + cert + ": " + ssl_error_text());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    SSL_CTX_free(ctx);
    throw std::runtime_error("--key " + key + ": " + ssl_error_text());
  }
  return ctx;
}

std::unique_ptr<Stream> make_tls_stream(greenev::Connection& c, const Config& cfg) {
  SSL* ssl = SSL_new(cfg.tls);
  if (!ssl || SSL_set_fd(ssl, c.fd()) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  auto stream = std::make_unique<TlsStream>(c, ssl);
  greenev::Timeout t(std::chrono::milliseconds(static_cast<long long>(cfg.handshake_timeout_s * 1000)));
  const int r = SSL_accept(ssl);
  if (r != 1) {
    const std::string why = t.expired() ? "handshake timed out" : ssl_error_text();
    ERR_clear_error();
    std::fprintf(stderr, "greenev-http: TLS handshake with %s failed: %s\n", c.peer().c_str(), why.c_str());
    return nullptr;
  }
  return stream;
}

}  // namespace http
