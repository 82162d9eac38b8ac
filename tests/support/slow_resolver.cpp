// tests/support/slow_resolver.cpp — a resolver shim for netdb_test: a slow lookup on demand.
//
// Linked into the test after libgreenev, it sits between greenev's patches and glibc: greenev's
// dlsym(RTLD_NEXT, "getaddrinfo") finds this one, which finds glibc's. A name "slow-<name>" sleeps
// kSlowMs on the calling thread (a pool worker: no hub, so the sleep is the real one) and then
// resolves <name>; every other name goes straight to glibc. It also counts the addrinfo lists
// getaddrinfo handed out and freeaddrinfo took back, so a test can prove an abandoned lookup's list
// is freed (slow_resolver_outstanding() returns to where it was).
#include <atomic>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <netdb.h>

namespace {

constexpr long kSlowMs = 150;
std::atomic<long> g_outstanding{0};

const char* strip_slow(const char* name) {
  if (!name || std::strncmp(name, "slow-", 5) != 0) return name;
  struct timespec ts{kSlowMs / 1000, (kSlowMs % 1000) * 1'000'000};
  while (nanosleep(&ts, &ts) != 0) {}
  return name + 5;
}

template <class F>
F next(const char* sym) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, sym));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) long slow_resolver_outstanding() {
  return g_outstanding.load();
}
extern "C" __attribute__((visibility("default"))) long slow_resolver_slow_ms() { return kSlowMs; }

extern "C" __attribute__((visibility("default"))) int getaddrinfo(const char* node, const char* service,
                                                                  const struct addrinfo* hints,
                                                                  struct addrinfo** res) {
  static auto real = next<decltype(&::getaddrinfo)>("getaddrinfo");
  const int rc = real(strip_slow(node), service, hints, res);
  if (rc == 0) g_outstanding.fetch_add(1);
  return rc;
}

extern "C" __attribute__((visibility("default"))) void freeaddrinfo(struct addrinfo* ai) {
  static auto real = next<decltype(&::freeaddrinfo)>("freeaddrinfo");
  if (ai) g_outstanding.fetch_sub(1);
  real(ai);
}

extern "C" __attribute__((visibility("default"))) int gethostbyname_r(const char* name, struct hostent* ret,
                                                                      char* buf, size_t buflen,
                                                                      struct hostent** result, int* h_errnop) {
  static auto real = next<decltype(&::gethostbyname_r)>("gethostbyname_r");
  return real(strip_slow(name), ret, buf, buflen, result, h_errnop);
}
