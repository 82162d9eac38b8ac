// Name resolution in fibers (patches/netdb.cpp): the getaddrinfo / getnameinfo / gethostby* family
// runs whole on the thread pool, gives the real call's answers and error codes, lets the hub run
// other fibers meanwhile, and returns EAI_SYSTEM / NULL with ETIMEDOUT or ECANCELED when a Timeout
// or kill() reaches into it. "slow-<name>" lookups go through support/slow_resolver.cpp (150 ms).
#include "test_support.hpp"

#include <greenev/patches.hpp>
#include <greenev/threadpool.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

extern "C" long slow_resolver_outstanding();
extern "C" long slow_resolver_slow_ms();

namespace {

// An addrinfo list, flattened for comparison.
std::vector<std::string> flatten(const struct addrinfo* ai) {
  std::vector<std::string> out;
  for (; ai; ai = ai->ai_next) {
    std::string s = std::to_string(ai->ai_flags) + "/" + std::to_string(ai->ai_family) + "/" +
                    std::to_string(ai->ai_socktype) + "/" + std::to_string(ai->ai_protocol) + "/";
    s.append(reinterpret_cast<const char*>(ai->ai_addr), ai->ai_addrlen);
    if (ai->ai_canonname) s += std::string("/") + ai->ai_canonname;
    out.push_back(s);
  }
  return out;
}

struct Gai {
  int rc;
  std::vector<std::string> list;
  bool operator==(const Gai&) const = default;
};

Gai gai(const char* node, const char* service, const struct addrinfo* hints) {
  struct addrinfo* res = nullptr;
  Gai g{::getaddrinfo(node, service, hints, &res), {}};
  if (g.rc == 0) {
    g.list = flatten(res);
    ::freeaddrinfo(res);
  }
  return g;
}

// Runs f in a fiber (where the patch cooperates) and returns its value.
template <class F>
auto in_fiber(F f) {
  return greenev::spawn(std::move(f)).join();
}

// The same call made by the real function (patching disabled for this call site).
template <class F>
auto unpatched(F f) {
  greenev::patches::Disable off;
  return f();
}

std::string flatten(const struct hostent* h) {
  if (!h) return "null";
  std::string s = std::string(h->h_name) + "/" + std::to_string(h->h_addrtype) + "/" + std::to_string(h->h_length);
  for (char** a = h->h_aliases; *a; ++a) s += std::string("/alias:") + *a;
  for (char** a = h->h_addr_list; *a; ++a) s += "/addr:" + std::string(*a, static_cast<std::size_t>(h->h_length));
  return s;
}

bool inside(const void* p, const char* buf, std::size_t n) {
  auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(buf);
  return a >= b && a < b + n;
}

struct PoolSize {  // the default pool resized for one test (the test binary is its own process)
  std::size_t old = greenev::default_thread_pool().size();
  explicit PoolSize(std::size_t n) { greenev::set_default_thread_pool_size(n); }
  ~PoolSize() { greenev::set_default_thread_pool_size(old); }
};

}  // namespace

TEST_CASE("getaddrinfo in a fiber returns the real call's list and EAI_* codes") {
  struct Case {
    const char* node;
    const char* service;
    std::optional<struct addrinfo> hints;
  };
  struct addrinfo numeric{}, stream4{}, passive{}, badflags{}, canon{};
  numeric.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  stream4.ai_family = AF_INET;
  stream4.ai_socktype = SOCK_STREAM;
  passive.ai_flags = AI_PASSIVE;
  passive.ai_socktype = SOCK_DGRAM;
  badflags.ai_flags = 0x7fff0000;
  canon.ai_flags = AI_CANONNAME;
  const Case cases[] = {
      {"localhost", "80", std::nullopt},
      {"127.0.0.1", "8080", numeric},
      {"localhost", "http", stream4},
      {nullptr, "8080", passive},
      {"localhost", nullptr, canon},
      {"no-such-host.invalid", "80", std::nullopt},  // EAI_NONAME (or EAI_AGAIN offline)
      {"not-a-number", "80", numeric},                // EAI_NONAME, no lookup
      {nullptr, nullptr, std::nullopt},               // EAI_NONAME
      {"localhost", "no-such-service-x", stream4},    // EAI_SERVICE
      {"localhost", "80", badflags},                  // EAI_BADFLAGS
  };
  for (const Case& c : cases) {
    CAPTURE(c.node ? c.node : "(null)");
    CAPTURE(c.service ? c.service : "(null)");
    const struct addrinfo* h = c.hints ? &*c.hints : nullptr;
    const Gai want = unpatched([&] { return gai(c.node, c.service, h); });
    const Gai got = in_fiber([&] { return gai(c.node, c.service, h); });
    CHECK(got.rc == want.rc);
    CHECK(got.list == want.list);
  }
  CHECK(in_fiber([] { return gai("127.0.0.1", "80", nullptr).rc; }) == 0);
  test::require_hub_clean();
}

TEST_CASE("getnameinfo in a fiber returns the real call's strings and codes") {
  struct sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(80);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto call = [&](int flags, socklen_t hostlen, socklen_t servlen, bool want_serv = true) {
    char host[NI_MAXHOST] = "untouched", serv[NI_MAXSERV] = "untouched";
    const int rc = ::getnameinfo(reinterpret_cast<struct sockaddr*>(&sin), sizeof sin, host, hostlen,
                                 want_serv ? serv : nullptr, servlen, flags);
    return std::to_string(rc) + "|" + host + "|" + serv;
  };
  for (int flags : {0, NI_NUMERICHOST | NI_NUMERICSERV, NI_NAMEREQD, NI_DGRAM}) {
    CAPTURE(flags);
    CHECK(in_fiber([&] { return call(flags, NI_MAXHOST, NI_MAXSERV); }) ==
          unpatched([&] { return call(flags, NI_MAXHOST, NI_MAXSERV); }));
  }
  // Too small a host buffer (EAI_OVERFLOW), a zero-length one, no service wanted.
  CHECK(in_fiber([&] { return call(0, 3, NI_MAXSERV); }) == unpatched([&] { return call(0, 3, NI_MAXSERV); }));
  CHECK(in_fiber([&] { return call(0, 0, NI_MAXSERV); }) == unpatched([&] { return call(0, 0, NI_MAXSERV); }));
  CHECK(in_fiber([&] { return call(0, NI_MAXHOST, 0, false); }) ==
        unpatched([&] { return call(0, NI_MAXHOST, 0, false); }));
  const std::string numeric = in_fiber([&] { return call(NI_NUMERICHOST | NI_NUMERICSERV, NI_MAXHOST, NI_MAXSERV); });
  CHECK(numeric == "0|127.0.0.1|80");
  test::require_hub_clean();
}

TEST_CASE("gethostbyname, gethostbyname2 and gethostbyaddr give the real results and h_errno") {
  auto byname = [](const char* n) {
    h_errno = 0;
    std::string s = flatten(::gethostbyname(n));
    return s + "|" + std::to_string(s == "null" ? h_errno : 0);
  };
  auto byname2 = [](const char* n, int af) {
    h_errno = 0;
    std::string s = flatten(::gethostbyname2(n, af));
    return s + "|" + std::to_string(s == "null" ? h_errno : 0);
  };
  auto byaddr = [](const char* dotted) {
    struct in_addr a{};
    inet_pton(AF_INET, dotted, &a);
    h_errno = 0;
    std::string s = flatten(::gethostbyaddr(&a, sizeof a, AF_INET));
    return s + "|" + std::to_string(s == "null" ? h_errno : 0);
  };
  for (const char* n : {"localhost", "127.0.0.1", "no-such-host.invalid"}) {
    CAPTURE(n);
    CHECK(in_fiber([&] { return byname(n); }) == unpatched([&] { return byname(n); }));
    CHECK(in_fiber([&] { return byname2(n, AF_INET); }) == unpatched([&] { return byname2(n, AF_INET); }));
  }
  CHECK(in_fiber([&] { return byaddr("127.0.0.1"); }) == unpatched([&] { return byaddr("127.0.0.1"); }));
  CHECK(in_fiber([&] { return byaddr("127.0.0.1"); }).starts_with("localhost/"));
  // A wrong address length fails in the real call at once.
  auto badlen = [] {
    char a[3] = {};
    h_errno = 0;
    const bool null = ::gethostbyaddr(a, sizeof a, AF_INET) == nullptr;
    return std::to_string(null) + "/" + std::to_string(h_errno);
  };
  CHECK(in_fiber(badlen) == unpatched(badlen));
  test::require_hub_clean();
}

TEST_CASE("the non-reentrant result is per fiber: another fiber's call does not overwrite it") {
  std::string first_seen, first_later;
  greenev::Event go;
  auto a = greenev::spawn([&] {
    struct hostent* h = ::gethostbyname("localhost");
    REQUIRE(h);
    first_seen = flatten(h);
    go.wait();  // the other fiber resolves meanwhile
    first_later = flatten(h);
  });
  auto b = greenev::spawn([&] {
    struct hostent* h = ::gethostbyname("127.0.0.1");
    REQUIRE(h);
    CHECK(std::string(h->h_name) == "127.0.0.1");
    go.set();
  });
  a.join();
  b.join();
  CHECK(first_seen.starts_with("localhost/"));
  CHECK(first_later == first_seen);
  test::require_hub_clean();
}

TEST_CASE("the _r variants fill the caller's buffer, pointers included, and report ERANGE") {
  auto byname_r = [](std::size_t buflen, bool check_inside) {
    std::vector<char> buf(buflen);
    struct hostent he{}, *res = reinterpret_cast<struct hostent*>(1);
    int herr = -1;
    const int rc = ::gethostbyname_r("localhost", &he, buf.data(), buf.size(), &res, &herr);
    if (rc == 0 && res && check_inside) {
      CHECK(res == &he);
      CHECK(inside(he.h_name, buf.data(), buf.size()));
      CHECK(inside(he.h_addr_list, buf.data(), buf.size()));
      CHECK(inside(he.h_addr_list[0], buf.data(), buf.size()));
      CHECK(inside(he.h_aliases, buf.data(), buf.size()));
    }
    return std::to_string(rc) + "|" + std::to_string(herr) + "|" + flatten(res);
  };
  CHECK(in_fiber([&] { return byname_r(4096, true); }) == unpatched([&] { return byname_r(4096, false); }));
  CHECK(in_fiber([&] { return byname_r(8, true); }) == unpatched([&] { return byname_r(8, false); }));  // ERANGE
  const std::string ok = in_fiber([&] { return byname_r(4096, true); });
  CAPTURE(ok);
  CHECK(ok.starts_with("0|"));  // *h_errnop on success is whatever glibc left there (compared above)
  CHECK(ok.find("|localhost/") != std::string::npos);

  auto byname2_r = [](const char* n, int af) {
    char buf[2048];
    struct hostent he{}, *res = nullptr;
    int herr = -1;
    const int rc = ::gethostbyname2_r(n, af, &he, buf, sizeof buf, &res, &herr);
    return std::to_string(rc) + "|" + std::to_string(res ? 0 : herr) + "|" + flatten(res);
  };
  CHECK(in_fiber([&] { return byname2_r("localhost", AF_INET); }) ==
        unpatched([&] { return byname2_r("localhost", AF_INET); }));
  CHECK(in_fiber([&] { return byname2_r("no-such-host.invalid", AF_INET); }) ==
        unpatched([&] { return byname2_r("no-such-host.invalid", AF_INET); }));

  auto byaddr_r = [] {
    struct in_addr a{htonl(INADDR_LOOPBACK)};
    char buf[2048];
    struct hostent he{}, *res = nullptr;
    int herr = -1;
    const int rc = ::gethostbyaddr_r(&a, sizeof a, AF_INET, &he, buf, sizeof buf, &res, &herr);
    if (res) CHECK(inside(he.h_name, buf, sizeof buf));
    return std::to_string(rc) + "|" + std::to_string(res ? 0 : herr) + "|" + flatten(res);
  };
  CHECK(in_fiber(byaddr_r) == unpatched(byaddr_r));
  test::require_hub_clean();
}

TEST_CASE("20 slow getaddrinfo calls run concurrently on the pool while a ticker keeps ticking") {
  PoolSize pool(32);
  const long slow = slow_resolver_slow_ms();
  test::Ticker ticker(5ms);
  const auto s0 = greenev::hub_stats().switches;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<greenev::Fiber<int>> calls;
  for (int i = 0; i < 20; ++i)
    calls.push_back(greenev::spawn([] {
      struct addrinfo hints{};
      hints.ai_family = AF_INET;
      hints.ai_socktype = SOCK_STREAM;
      struct addrinfo* res = nullptr;
      const int rc = ::getaddrinfo("slow-localhost", "80", &hints, &res);
      if (rc == 0) {
        CHECK(reinterpret_cast<struct sockaddr_in*>(res->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
        ::freeaddrinfo(res);
      }
      return rc;
    }));
  for (auto& c : calls) CHECK(c.join() == 0);
  const double ms = test::ms_since(t0);
  ticker.stop();
  CHECK(ms >= slow - 5);
  CHECK(ms < 20.0 * slow / 4);   // serial would be 20 x 150 ms
  CHECK(ticker.ticks() >= slow / 5 / 2);  // the hub kept running the ticker meanwhile
  CHECK(greenev::hub_stats().switches > s0 + 20);
  test::require_hub_clean();
}

TEST_CASE("with a one-thread pool busy, getaddrinfo waits for it: the lookup goes through the pool") {
  PoolSize pool(1);
  auto busy = greenev::spawn([] { greenev::run_blocking([] { std::this_thread::sleep_for(200ms); }); });
  greenev::sleep(10ms);  // the pool's only thread is now asleep
  test::Ticker ticker(5ms);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(gai("localhost", "80", nullptr).rc == 0);
  const double ms = test::ms_since(t0);
  const int ticks = ticker.ticks();
  CHECK(ms >= 150);    // queued behind the 200 ms job
  CHECK(ticks >= 10);  // ... while the hub ran the ticker
  busy.join();
  ticker.stop();
  test::require_hub_clean();
}

TEST_CASE("a Timeout reaching into getaddrinfo returns EAI_SYSTEM/ETIMEDOUT, then raises; the list is freed") {
  PoolSize pool(8);
  const long before = slow_resolver_outstanding();
  const auto t0 = std::chrono::steady_clock::now();
  {
    greenev::Timeout t(30ms);
    struct addrinfo* res = reinterpret_cast<struct addrinfo*>(0x1);
    errno = 0;
    CHECK(::getaddrinfo("slow-localhost", "80", nullptr, &res) == EAI_SYSTEM);
    CHECK(errno == ETIMEDOUT);
    CHECK(res == reinterpret_cast<struct addrinfo*>(0x1));  // untouched, as on any failure
    CHECK(test::ms_since(t0) < 120);                          // did not wait for the 150 ms lookup
    CHECK_THROWS_AS(greenev::sleep(1ms), greenev::TimeoutError);
  }
  // The abandoned lookup finishes on its worker, which frees the list it got.
  for (int i = 0; i < 100 && (slow_resolver_outstanding() != before || test::ms_since(t0) < 200); ++i)
    greenev::sleep(5ms);
  CHECK(slow_resolver_outstanding() == before);
  test::require_hub_clean();
}

TEST_CASE("gethostbyname and gethostbyname_r under a Timeout: NULL / ETIMEDOUT with h_errno TRY_AGAIN") {
  PoolSize pool(8);
  {
    greenev::Timeout t(20ms);
    h_errno = 0;
    errno = 0;
    CHECK(::gethostbyname("slow-localhost") == nullptr);
    CHECK(h_errno == TRY_AGAIN);
    CHECK(errno == ETIMEDOUT);
    char buf[1024];
    struct hostent he{}, *res = &he;
    int herr = 0;
    CHECK(::gethostbyname_r("slow-localhost", &he, buf, sizeof buf, &res, &herr) == ETIMEDOUT);
    CHECK(res == nullptr);
    CHECK(herr == TRY_AGAIN);
    CHECK_THROWS_AS(greenev::sleep(1ms), greenev::TimeoutError);
  }
  greenev::sleep(200ms);  // the abandoned lookups finish on their workers (ASan: no use after free)
  test::require_hub_clean();
}

TEST_CASE("kill() of a fiber inside getaddrinfo returns EAI_SYSTEM/ECANCELED there, then unwinds it") {
  PoolSize pool(8);
  const long before = slow_resolver_outstanding();
  int rc = 0, err = 0;
  bool after = false;
  auto f = greenev::spawn([&] {
    struct addrinfo* res = nullptr;
    rc = ::getaddrinfo("slow-localhost", "80", nullptr, &res);
    err = errno;
    greenev::sleep(1ms);  // FiberExit here
    after = true;
  });
  greenev::sleep(20ms);
  f.kill();
  CHECK(rc == EAI_SYSTEM);
  CHECK(err == ECANCELED);
  CHECK_FALSE(after);
  CHECK(f.killed());
  for (int i = 0; i < 100 && slow_resolver_outstanding() != before; ++i) greenev::sleep(5ms);
  CHECK(slow_resolver_outstanding() == before);
  test::require_hub_clean();
}

TEST_CASE("outside fibers (a plain std::thread) and with patching off the calls pass through") {
  int rc = -1;
  std::thread([&] { rc = gai("localhost", "80", nullptr).rc; }).join();
  CHECK(rc == 0);
  PoolSize pool(1);
  auto busy = greenev::spawn([] { greenev::run_blocking([] { std::this_thread::sleep_for(100ms); }); });
  greenev::sleep(10ms);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(unpatched([] { return gai("localhost", "80", nullptr).rc; }) == 0);
  CHECK(test::ms_since(t0) < 80);  // did not queue behind the busy pool
  busy.join();
  test::require_hub_clean();
}
