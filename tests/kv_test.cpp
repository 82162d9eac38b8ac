// greenev-kv's protocol parser, glob and command table, driven directly (no sockets): what
// parse_request() makes of whole, partial, pipelined and hostile inputs, and the replies
// execute() appends. The same replies are checked over a socket, against a real redis-server,
// in kv_corpus_test.cpp.
#include <doctest/doctest.h>

#include "commands.hpp"
#include "keyspace.hpp"
#include "resp.hpp"

#include <climits>
#include <string>
#include <vector>

namespace {

using kv::ParseStatus;

// Runs every request in `in` (as the server does) and returns the concatenated replies.
std::string run(kv::Keyspace& ks, std::string_view in) {
  kv::RespLimits limits;
  std::vector<std::string> args;
  std::string out;
  while (!in.empty()) {
    kv::ParseResult r = kv::parse_request(in, args, limits);
    if (r.status == ParseStatus::incomplete) break;
    if (r.status == ParseStatus::error) {
      kv::reply_error(out, r.error);
      break;
    }
    in.remove_prefix(r.consumed);
    if (!args.empty() && kv::execute(ks, args, out) == kv::Outcome::close) break;
  }
  return out;
}

}  // namespace

TEST_CASE("parse_request: a multibulk request, byte by byte, reports what it needs and then completes") {
  const std::string req = "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
  std::vector<std::string> args;
  kv::RespLimits limits;
  for (std::size_t n = 0; n < req.size(); ++n) {
    kv::ParseResult r = kv::parse_request(std::string_view(req).substr(0, n), args, limits);
    REQUIRE(r.status == ParseStatus::incomplete);
    CHECK(r.need > n);
    CHECK(r.need <= req.size());
  }
  kv::ParseResult r = kv::parse_request(req + "PING\r\n", args, limits);
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(r.consumed == req.size());
  CHECK(args == std::vector<std::string>{"ECHO", "hello world"});
}

TEST_CASE("parse_request: a large bulk announces its full size at once (no quadratic re-parsing)") {
  std::vector<std::string> args;
  kv::ParseResult r = kv::parse_request("*2\r\n$3\r\nSET\r\n$1000000\r\nab", args, kv::RespLimits{});
  REQUIRE(r.status == ParseStatus::incomplete);
  CHECK(r.need == 4 + 9 + 10 + 1000000 + 2);  // "*2\r\n" "$3\r\nSET\r\n" "$1000000\r\n" payload CRLF
}

TEST_CASE("parse_request: inline requests split on blanks and honour redis's quoting") {
  std::vector<std::string> args;
  kv::RespLimits limits;
  auto r = kv::parse_request("SET  k \"a\\tb\\x41\" 'it\\'s'\r\n", args, limits);
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(args == std::vector<std::string>{"SET", "k", "a\tbA", "it's"});
  r = kv::parse_request("SET k \"x\"y\r\n", args, limits);
  REQUIRE(r.status == ParseStatus::error);
  CHECK(r.error == "ERR Protocol error: unbalanced quotes in request");
  r = kv::parse_request("\r\n", args, limits);
  CHECK(r.status == ParseStatus::complete);
  CHECK(args.empty());
}

TEST_CASE("parse_request: limits turn oversized input into protocol errors") {
  std::vector<std::string> args;
  kv::RespLimits limits;
  limits.max_bulk = 10;
  limits.max_args = 4;
  limits.max_inline = 100;
  CHECK(kv::parse_request("*1\r\n$11\r\n", args, limits).error == "ERR Protocol error: invalid bulk length");
  CHECK(kv::parse_request("*1\r\n$10\r\n", args, limits).status == ParseStatus::incomplete);
  CHECK(kv::parse_request("*5\r\n", args, limits).error == "ERR Protocol error: invalid multibulk length");
  CHECK(kv::parse_request(std::string(101, 'a'), args, limits).error == "ERR Protocol error: too big inline request");
  CHECK(kv::parse_request(std::string(100, 'a'), args, limits).status == ParseStatus::incomplete);
  CHECK(kv::parse_request("*" + std::string(101, '1'), args, limits).error ==
        "ERR Protocol error: too big mbulk count string");
  CHECK(kv::parse_request("*1\r\n$" + std::string(101, '1'), args, limits).error ==
        "ERR Protocol error: too big bulk count string");
  CHECK(kv::parse_request("*1\r\n:1\r\n", args, limits).error == "ERR Protocol error: expected '$', got ':'");
}

TEST_CASE("parse_ll accepts exactly redis's integers") {
  CHECK(kv::parse_ll("0") == 0);
  CHECK(kv::parse_ll("-9223372036854775808") == LLONG_MIN);
  CHECK(kv::parse_ll("9223372036854775807") == LLONG_MAX);
  CHECK(!kv::parse_ll("9223372036854775808"));
  for (const char* bad : {"", "-", "01", "+1", " 1", "1 ", "-0", "1e3", "0x10"}) CHECK_MESSAGE(!kv::parse_ll(bad), bad);
}

TEST_CASE("glob_match: * ? classes ranges negation escapes, and a hostile pattern stays fast") {
  CHECK(kv::glob_match("*", ""));
  CHECK(kv::glob_match("h?llo", "hello"));
  CHECK(kv::glob_match("h[ae]llo", "hallo"));
  CHECK(!kv::glob_match("h[ae]llo", "hillo"));
  CHECK(kv::glob_match("h[^e]llo", "hallo"));
  CHECK(!kv::glob_match("h[^e]llo", "hello"));
  CHECK(kv::glob_match("h[a-c]llo", "hbllo"));
  CHECK(kv::glob_match("user:*:name", "user:42:name"));
  CHECK(!kv::glob_match("user:*:name", "user:42:mail"));
  CHECK(kv::glob_match("a\\*b", "a*b"));
  CHECK(!kv::glob_match("a\\*b", "axb"));
  CHECK(kv::glob_match("*a*b*c", "xxaxxbxxc"));
  // Exponential with naive recursion: 2^25 paths. Backtracking to the last star is linear.
  std::string hostile;
  for (int i = 0; i < 25; ++i) hostile += "a*";
  CHECK(!kv::glob_match(hostile + "b", std::string(5000, 'a')));
}

TEST_CASE("execute: commands, their replies and redis's error texts") {
  kv::Keyspace ks;
  CHECK(run(ks, "PING\r\nPING hi\r\n") == "+PONG\r\n$2\r\nhi\r\n");
  CHECK(run(ks, "SET k v\r\nGET k\r\nget nokey\r\n") == "+OK\r\n$1\r\nv\r\n$-1\r\n");
  CHECK(run(ks, "SET k 1 NX\r\nSET j 1 XX\r\nSET k 2 XX GET\r\n") == "$-1\r\n$-1\r\n$1\r\nv\r\n");
  CHECK(run(ks, "INCR k\r\nINCRBY k 40\r\nDECR k\r\nDECRBY k 1\r\n") == ":3\r\n:43\r\n:42\r\n:41\r\n");
  CHECK(run(ks, "SET big 9223372036854775807\r\nINCR big\r\n") ==
        "+OK\r\n-ERR increment or decrement would overflow\r\n");
  CHECK(run(ks, "MSET a 1 b 2\r\nMGET a x b\r\n") == "+OK\r\n*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
  CHECK(run(ks, "EXISTS a b x a\r\nDEL a x\r\nEXISTS a\r\n") == ":3\r\n:1\r\n:0\r\n");
  CHECK(run(ks, "EXPIRE b 100\r\nTTL b\r\nPERSIST b\r\nTTL b\r\nTTL x\r\n") == ":1\r\n:100\r\n:1\r\n:-1\r\n:-2\r\n");
  CHECK(run(ks, "EXPIRE b -1\r\nEXISTS b\r\n") == ":1\r\n:0\r\n");
  CHECK(run(ks, "SET gone v PXAT 1\r\nGET gone\r\n") == "+OK\r\n$-1\r\n");
  CHECK(run(ks, "FLUSHALL\r\nMSET user:1 a user:2 b other c\r\nKEYS user:?\r\nDBSIZE\r\n").starts_with("+OK\r\n+OK\r\n*2\r\n"));
  CHECK(run(ks, "DBSIZE\r\n") == ":3\r\n");
  CHECK(run(ks, "GET\r\n") == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(run(ks, "nope 1 2\r\n") == "-ERR unknown command 'nope', with args beginning with: '1' '2' \r\n");
  CHECK(run(ks, "QUIT\r\nPING\r\n") == "+OK\r\n");
}

TEST_CASE("Keyspace: sweep() reclaims expired keys without anyone reading them") {
  kv::Keyspace ks;
  ks.set("a", "1", 1);  // expired long ago
  ks.set("b", "2", kv::now_ms() + 1000000);
  ks.set("c", "3");
  CHECK(ks.sweep() == 1);
  CHECK(ks.size() == 2);
  ks.set("b", "2");  // a plain SET drops the TTL (and its index entry)
  CHECK(ks.expiry("b") == kv::Keyspace::kNoExpiry);
  CHECK(ks.sweep() == 0);
}
