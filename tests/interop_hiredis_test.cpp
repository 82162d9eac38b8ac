// Proof with a real, unmodified library: hiredis' *blocking* API (redisConnect, redisCommand) from
// 100 fibers, each on its own connection, against a redis-server the test starts itself. Every
// fiber runs `BLPOP key_i 0.2`, which the server holds for 200 ms: serially that is 20 s; with the
// patched connect/read/write/poll yielding, all of them overlap and the whole run takes ~0.2 s.
#include "interop_support.hpp"

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using test::interop::Clock;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;
struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

// Fiber-side helpers (connect, command) throw rather than assert: see test::interop::ensure.

// redis-server on a free loopback port, in a temp dir, persistence off; always stopped.
struct RedisServer {
  test::interop::TempDir dir{"greenev-redis"};
  test::interop::ServerProcess proc;
  int port = 0;

  void start() {
    std::string bin = test::interop::which("redis-server");
    REQUIRE_MESSAGE(!bin.empty(), "redis-server not found (scripts/setup.sh installs it)");
    // The free port can be taken between our probe and redis' bind: retry with another one.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port = test::interop::free_tcp_port();
      proc.start({bin, "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--daemonize", "no", "--dir", dir.path,
                  "--databases", "1", "--maxclients", "1000",
                  // 100 Hz: blocked clients' timeouts fire within ~10 ms, not ~100 ms (hz 10)
                  "--hz", "100"},
                 dir.path + "/redis.log");
      if (test::interop::wait_accepting(port, proc, 10s)) return;
      proc.stop();
    }
    FAIL("redis-server did not start; log:\n", proc.log());
  }
};

Context connect(int port) {
  timeval tv{5, 0};
  Context c(redisConnectWithTimeout("127.0.0.1", port, tv));
  test::interop::ensure(c != nullptr, "redisConnect: out of memory");
  test::interop::ensure(c->err == 0, "redisConnect: ", c->errstr);
  // SO_RCVTIMEO/SO_SNDTIMEO: a safety net so a broken patch fails the test instead of hanging it.
  timeval io{10, 0};
  test::interop::ensure(redisSetTimeout(c.get(), io) == REDIS_OK, "redisSetTimeout failed");
  return c;
}

Reply command(redisContext* c, const char* fmt, auto... args) {
  Reply r(static_cast<redisReply*>(redisCommand(c, fmt, args...)));
  test::interop::ensure(r != nullptr, "redisCommand failed: ", c->errstr);
  return r;
}

}  // namespace

TEST_CASE("hiredis blocking API: 100 fibers, each BLPOP 200 ms on its own connection, run concurrently") {
  RedisServer server;
  server.start();
  MESSAGE("redis-server pid ", server.proc.pid(), " on 127.0.0.1:", server.port);

  // The harness itself, from main before any fiber: one connection, one BLPOP. Proves the server
  // really holds BLPOP for ~200 ms (otherwise the timing below would prove nothing).
  {
    Context c = connect(server.port);
    Reply pong = command(c.get(), "PING");
    CHECK(pong->type == REDIS_REPLY_STATUS);
    CHECK(std::string(pong->str, pong->len) == "PONG");
    auto t0 = Clock::now();
    Reply r = command(c.get(), "BLPOP greenev:probe 0.2");
    double ms = test::ms_since(t0);
    CHECK(r->type == REDIS_REPLY_NIL);
    MESSAGE("one BLPOP 0.2 from main: ", ms, " ms");
    REQUIRE(ms >= 150);
  }

  constexpr int kFibers = 100;
  constexpr int kPushEvery = 10;  // every 10th key gets a value, pushed by a producer fiber
  struct Outcome {
    int type = -1;
    std::string key, value;
    bool connected = false;
    std::uint64_t switches = 0;  // hub switches while this fiber's BLPOP was in redisCommand
  };
  std::vector<Outcome> out(kFibers);
  const auto switches_before = greenev::hub_stats().switches;
  const auto t0 = Clock::now();

  std::vector<greenev::Fiber<void>> fibers;
  for (int i = 0; i < kFibers; ++i) {
    fibers.push_back(greenev::spawn(greenev::SpawnOptions{"blpop-" + std::to_string(i)}, [&, i] {
      Context c = connect(server.port);
      out[i].connected = true;
      std::string key = "greenev:key:" + std::to_string(i);
      // Pushed keys wait up to 1 s (the push comes at ~100 ms), the others time out after 200 ms.
      Reply r;
      out[i].switches = test::interop::switches_during([&] {
        r = command(c.get(), i % kPushEvery == 0 ? "BLPOP %s 1" : "BLPOP %s 0.2", key.c_str());
      });
      out[i].type = r->type;
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        out[i].key.assign(r->element[0]->str, r->element[0]->len);
        out[i].value.assign(r->element[1]->str, r->element[1]->len);
      }
    }));
  }
  // The producer: its own connection, pushes to every 10th key after 100 ms (a greenev sleep).
  fibers.push_back(greenev::spawn(greenev::SpawnOptions{"producer"}, [&] {
    Context c = connect(server.port);
    greenev::this_fiber::sleep_for(100ms);
    for (int i = 0; i < kFibers; i += kPushEvery) {
      std::string key = "greenev:key:" + std::to_string(i);
      std::string value = "value-" + std::to_string(i);
      Reply r = command(c.get(), "RPUSH %s %s", key.c_str(), value.c_str());
      test::interop::ensure(r->type == REDIS_REPLY_INTEGER, "RPUSH: reply type ", r->type);
    }
  }));
  test::interop::join_all(fibers);

  const double total_ms = test::ms_since(t0);
  const auto switches = greenev::hub_stats().switches - switches_before;
  int yielded = 0;
  for (auto& o : out) yielded += o.switches > 0;
  MESSAGE(kFibers, " fibers x BLPOP 0.2 s: ", total_ms, " ms (serial would be ~", kFibers * 200,
          " ms); hub switches ", switches, "; BLPOP calls that yielded: ", yielded, "/", kFibers);

  int nil = 0, arrays = 0;
  for (int i = 0; i < kFibers; ++i) {
    CAPTURE(i);
    CHECK(out[i].connected);
    CHECK_MESSAGE(out[i].switches > 0, "BLPOP blocked the thread instead of yielding");
    if (i % kPushEvery == 0) {
      // A pushed key: BLPOP returns [key, value] (whether it started waiting before or after).
      CHECK(out[i].type == REDIS_REPLY_ARRAY);
      CHECK(out[i].key == "greenev:key:" + std::to_string(i));
      CHECK(out[i].value == "value-" + std::to_string(i));
      arrays += out[i].type == REDIS_REPLY_ARRAY;
    } else {
      CHECK(out[i].type == REDIS_REPLY_NIL);  // timed out server-side after 200 ms
      nil += out[i].type == REDIS_REPLY_NIL;
    }
  }
  CHECK(nil == kFibers - kFibers / kPushEvery);
  CHECK(arrays == kFibers / kPushEvery);
  CHECK_MESSAGE(total_ms < 5000, "BLPOPs did not overlap: ", total_ms, " ms");
  CHECK(yielded == kFibers);
  CHECK_MESSAGE(switches >= kFibers, "the hiredis calls did not yield: ", switches, " switches");

  server.proc.stop();
  CHECK_FALSE(server.proc.alive());
  test::require_hub_clean();
}

// docs/interrupts.md, "What C libraries return": a Timeout or kill() reaching redisCommand.
#include "interrupt_probe.hpp"

TEST_CASE("hiredis: a Timeout or kill inside redisCommand gives NULL with an I/O error, then raises") {
  RedisServer server;
  server.start();
  std::string err;
  int code = 0;
  auto blpop = [&] {
    Context c = connect(server.port);
    auto* r = static_cast<redisReply*>(redisCommand(c.get(), "BLPOP nothing_here 5"));
    if (r) freeReplyObject(r);
    code = c->err;
    err = r ? "a reply" : c->errstr;
  };
  auto t = test::timeout_probe(200ms, blpop);
  MESSAGE("Timeout: redisCommand -> NULL, err ", code, " (", err, ")");
  CHECK(t.call_returned);
  CHECK(t.raised);
  CHECK(code == REDIS_ERR_IO);
  CHECK(err == std::strerror(ETIMEDOUT));
  auto k = test::kill_probe(200ms, blpop);
  MESSAGE("kill: redisCommand -> NULL, err ", code, " (", err, ")");
  CHECK(k.call_returned);
  CHECK(k.raised);
  CHECK(code == REDIS_ERR_IO);
  CHECK(err == std::strerror(ECANCELED));
  test::require_hub_clean();
}
