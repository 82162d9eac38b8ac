// Proof with a real, unmodified library: libcurl's easy API (curl_easy_perform blocks the caller;
// inside, libcurl uses non-blocking sockets and poll()) from 50 fibers against a local server whose
// endpoint answers after 200 ms. Serially 10 s; with the patches, the transfers overlap.
//
// The server is tests/progs/slow_http_server: plain threads and blocking sockets, not greenev, so
// greenev is not tested against itself. It is handed an already-listening socket (no port race).
#include "interop_support.hpp"

#include <curl/curl.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using test::interop::Clock;

struct CurlGlobal {
  CurlGlobal() { REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

size_t append_body(char* p, size_t size, size_t n, void* userdata) {
  static_cast<std::string*>(userdata)->append(p, size * n);
  return size * n;
}

struct Response {
  CURLcode code = CURLE_FAILED_INIT;
  long status = 0;
  std::string body;
  std::string error;
};

Response get(const std::string& url) {
  Response r;
  CURL* h = curl_easy_init();
  test::interop::ensure(h != nullptr, "curl_easy_init failed");  // runs in fibers: no assertions
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");  // an http_proxy in CI's environment must not apply
  // Safety nets: a broken patch fails the test instead of hanging it.
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  r.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  r.error = err[0] ? err : curl_easy_strerror(r.code);
  curl_easy_cleanup(h);
  return r;
}

std::string expected_body(int id, std::size_t size) {
  std::string body = "id=" + std::to_string(id);
  if (size > body.size()) {
    body += ';';
    for (std::size_t i = 0; body.size() < size; ++i) body += static_cast<char>('a' + i % 26);
  }
  return body;
}

}  // namespace

TEST_CASE("libcurl easy API: 50 fibers, each a 200 ms request, run concurrently with correct bodies") {
  CurlGlobal curl;
  test::interop::TempDir dir("greenev-http");
  test::interop::Listener listener;
  test::interop::ServerProcess server;
  const std::string bin = test::prog_path("slow_http_server");
  REQUIRE_MESSAGE(::access(bin.c_str(), X_OK) == 0, bin, " is not built");
  server.start({bin, "--fd", "3"}, dir.path + "/server.log", listener.fd);
  const std::string base = "http://127.0.0.1:" + std::to_string(listener.port) + "/slow?ms=200";
  MESSAGE("slow_http_server pid ", server.pid(), " on 127.0.0.1:", listener.port);

  // The harness from main, before any fiber: the endpoint really takes ~200 ms.
  {
    auto t0 = Clock::now();
    Response r = get(base + "&id=-1");
    double ms = test::ms_since(t0);
    REQUIRE_MESSAGE(r.code == CURLE_OK, r.error, "\nserver log:\n", server.log());
    CHECK(r.status == 200);
    CHECK(r.body == "id=-1");
    MESSAGE("one request from main: ", ms, " ms");
    REQUIRE(ms >= 150);
  }

  constexpr int kFibers = 50;
  // Every 5th response is 256 KiB: many reads per transfer, not one.
  auto size_of = [](int i) -> std::size_t { return i % 5 == 0 ? 256 * 1024 : 0; };
  std::vector<Response> out(kFibers);
  std::vector<std::uint64_t> during(kFibers);  // hub switches while each curl_easy_perform ran
  const auto switches_before = greenev::hub_stats().switches;
  const auto t0 = Clock::now();
  std::vector<greenev::Fiber<void>> fibers;
  for (int i = 0; i < kFibers; ++i) {
    fibers.push_back(greenev::spawn(greenev::SpawnOptions{"curl-" + std::to_string(i)}, [&, i] {
      std::string url = base + "&id=" + std::to_string(i);
      if (size_of(i)) url += "&size=" + std::to_string(size_of(i));
      during[i] = test::interop::switches_during([&] { out[i] = get(url); });
    }));
  }
  test::interop::join_all(fibers);
  const double total_ms = test::ms_since(t0);
  const auto switches = greenev::hub_stats().switches - switches_before;
  int yielded = 0;
  for (auto d : during) yielded += d > 0;
  MESSAGE(kFibers, " fibers x 200 ms request: ", total_ms, " ms (serial would be ~", kFibers * 200,
          " ms); hub switches ", switches, "; transfers that yielded: ", yielded, "/", kFibers);

  for (int i = 0; i < kFibers; ++i) {
    CAPTURE(i);
    CHECK_MESSAGE(out[i].code == CURLE_OK, out[i].error);
    CHECK(out[i].status == 200);
    CHECK(out[i].body.size() == expected_body(i, size_of(i)).size());
    CHECK(out[i].body == expected_body(i, size_of(i)));
    CHECK_MESSAGE(during[i] > 0, "curl_easy_perform blocked the thread instead of yielding");
  }
  CHECK_MESSAGE(total_ms < 3000, "transfers did not overlap: ", total_ms, " ms");
  CHECK(yielded == kFibers);
  CHECK_MESSAGE(switches >= kFibers, "the libcurl calls did not yield: ", switches, " switches");

  server.stop();
  test::require_hub_clean();
}

// docs/interrupts.md, "What C libraries return": a Timeout or kill() reaching curl_easy_perform.
#include "interrupt_probe.hpp"

TEST_CASE("libcurl: a Timeout or kill inside curl_easy_perform ends the transfer with an error, then raises") {
  CurlGlobal curl;
  test::interop::TempDir dir("greenev-http");
  test::interop::Listener listener;
  test::interop::ServerProcess server;
  const std::string bin = test::prog_path("slow_http_server");
  REQUIRE_MESSAGE(::access(bin.c_str(), X_OK) == 0, bin, " is not built");
  server.start({bin, "--fd", "3"}, dir.path + "/server.log", listener.fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(listener.port) + "/slow?ms=5000&id=1";
  Response r;
  auto t = test::timeout_probe(300ms, [&] { r = get(url); });
  MESSAGE("Timeout: curl_easy_perform -> ", static_cast<int>(r.code), " (", r.error, ")");
  CHECK(t.call_returned);
  CHECK(t.raised);
  // curl's poll() failed (errno ETIMEDOUT): curl_multi_poll reports it, and curl 7.88's easy
  // interface turns any multi error into CURLE_BAD_FUNCTION_ARGUMENT (newer curl: UNRECOVERABLE_POLL).
  CHECK(r.code != CURLE_OK);
  const CURLcode after_timeout = r.code;
  r = {};
  auto k = test::kill_probe(300ms, [&] { r = get(url); });
  MESSAGE("kill: curl_easy_perform -> ", static_cast<int>(r.code), " (", r.error, ")");
  CHECK(k.call_returned);
  CHECK(k.raised);
  CHECK(r.code != CURLE_OK);
  CHECK(r.code == after_timeout);  // the same failure path: curl's poll() failed
  server.stop();
  test::require_hub_clean();
}
