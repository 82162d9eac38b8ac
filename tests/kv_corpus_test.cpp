// greenev-kv against a real redis-server: the same bytes to both, the replies compared with each
// other and with the exact expected text. Each case runs on a fresh connection after a FLUSHALL:
// the case's bytes are written, the write side is shut (so both servers answer everything whole
// and then see EOF), and the reply is everything read until the server closes. Cases marked
// kv-only use something redis-server answers differently on purpose (documented in commands.hpp).
// Both servers listen on unix sockets in a temp dir (no ports to race for); both are always
// stopped. A last check proves the server still serves after all the hostile inputs.
#include "interop_support.hpp"

#include <sys/un.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace ti = test::interop;

struct Case {
  const char* name;
  std::string input;
  std::string expected;
  bool in_redis = true;  // false: greenev-kv only
};

std::string rep(char c, std::size_t n) { return std::string(n, c); }

std::vector<Case> corpus() {
  const std::string a200 = rep('a', 200);
  return {
      {"PING inline", "PING\r\n", "+PONG\r\n"},
      {"PING with a message, multibulk", "*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n", "$2\r\nhi\r\n"},
      {"PING arity", "PING a b\r\n", "-ERR wrong number of arguments for 'ping' command\r\n"},
      {"ECHO", "ECHO hello\r\nECHO\r\n", "$5\r\nhello\r\n-ERR wrong number of arguments for 'echo' command\r\n"},
      {"SET and GET", "SET k v\r\nGET k\r\nGET nokey\r\n", "+OK\r\n$1\r\nv\r\n$-1\r\n"},
      {"binary-safe bulk holding CRLF",
       "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "+OK\r\n$4\r\na\r\nb\r\n"},
      {"command names are case-insensitive", "set K v\r\ngEt K\r\n", "+OK\r\n$1\r\nv\r\n"},
      {"SET NX XX", "SET k 1 NX\r\nSET k 2 NX\r\nSET k 3 XX\r\nGET k\r\nSET j 1 XX\r\nEXISTS j\r\n",
       "+OK\r\n$-1\r\n+OK\r\n$1\r\n3\r\n$-1\r\n:0\r\n"},
      {"SET option errors", "SET k v EX 0\r\nSET k v EX a\r\nSET k v EX\r\nSET k v NX XX\r\nSET k v NX GET\r\n",
       "-ERR invalid expire time in 'set' command\r\n-ERR value is not an integer or out of range\r\n"
       "-ERR syntax error\r\n-ERR syntax error\r\n$-1\r\n"},
      {"SET EX PX and TTL", "SET k v EX 100\r\nTTL k\r\nSET k v PX 100000\r\nTTL k\r\nSET k v EX 5 PX 5\r\n",
       "+OK\r\n:100\r\n+OK\r\n:100\r\n-ERR syntax error\r\n"},
      {"SET KEEPTTL", "SET k v EX 100\r\nSET k w KEEPTTL\r\nTTL k\r\nGET k\r\nSET k x\r\nTTL k\r\n",
       "+OK\r\n+OK\r\n:100\r\n$1\r\nw\r\n+OK\r\n:-1\r\n"},
      {"SET GET", "SET k a\r\nSET k b GET\r\nGET k\r\n", "+OK\r\n$1\r\na\r\n$1\r\nb\r\n"},
      {"SET PXAT in the past", "SET k v PXAT 1\r\nGET k\r\nEXISTS k\r\n", "+OK\r\n$-1\r\n:0\r\n"},
      {"DEL EXISTS", "MSET a 1 b 2 c 3\r\nEXISTS a b zz a\r\nDEL a b zz\r\nEXISTS a b c\r\nDEL\r\n",
       "+OK\r\n:3\r\n:2\r\n:1\r\n-ERR wrong number of arguments for 'del' command\r\n"},
      {"INCR errors and overflow",
       "set a 1\r\nincr a\r\nincrby a x\r\nset b 9223372036854775807\r\nincr b\r\n"
       "decrby a -9223372036854775808\r\nincr nokey\r\nset c 01\r\nincr c\r\n",
       "+OK\r\n:2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
       "-ERR increment or decrement would overflow\r\n-ERR decrement would overflow\r\n:1\r\n+OK\r\n"
       "-ERR value is not an integer or out of range\r\n"},
      {"DECR INCRBY DECRBY", "DECR n\r\nDECR n\r\nINCRBY n 10\r\nDECRBY n 3\r\nGET n\r\nINCR\r\n",
       ":-1\r\n:-2\r\n:8\r\n:5\r\n$1\r\n5\r\n-ERR wrong number of arguments for 'incr' command\r\n"},
      {"INCR keeps the TTL", "SET n 1 EX 100\r\nINCR n\r\nTTL n\r\n", "+OK\r\n:2\r\n:100\r\n"},
      {"MGET MSET", "MSET a 1 b 2\r\nMGET a zz b\r\nMSET a\r\nMSET a 1 b\r\nMGET\r\n",
       "+OK\r\n*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n-ERR wrong number of arguments for 'mset' command\r\n"
       "-ERR wrong number of arguments for 'mset' command\r\n-ERR wrong number of arguments for 'mget' command\r\n"},
      {"EXPIRE TTL PERSIST",
       "SET a v\r\nexpire a 10 NX XX\r\nexpire a 10 foo\r\nexpire a x\r\nexpire a 10 GT LT\r\nttl a\r\nttl zz\r\n"
       "EXPIRE a 100\r\nTTL a\r\nEXPIRE a 50 GT\r\nEXPIRE a 200 GT\r\nTTL a\r\nEXPIRE a 300 NX\r\nEXPIRE a 10 LT\r\n"
       "TTL a\r\npersist a\r\nTTL a\r\npersist a\r\nEXPIRE zz 10\r\nexpire a -1\r\nexists a\r\n",
       "+OK\r\n-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
       "-ERR Unsupported option foo\r\n-ERR value is not an integer or out of range\r\n"
       "-ERR GT and LT options at the same time are not compatible\r\n:-1\r\n:-2\r\n:1\r\n:100\r\n:0\r\n:1\r\n"
       ":200\r\n:0\r\n:1\r\n:10\r\n:1\r\n:-1\r\n:0\r\n:0\r\n:1\r\n:0\r\n"},
      {"PEXPIRE PTTL of no key", "SET a v\r\nPEXPIRE a 100000\r\nTTL a\r\nPTTL zz\r\n", "+OK\r\n:1\r\n:100\r\n:-2\r\n"},
      {"KEYS glob", "MSET user:1 a user:2 b other c hallo d\r\nKEYS user:1\r\nKEYS u?er:[2-3]\r\nKEYS oth*\r\n"
                    "KEYS nomatch*\r\nKEYS h[^e]llo\r\nKEYS\r\n",
       "+OK\r\n*1\r\n$6\r\nuser:1\r\n*1\r\n$6\r\nuser:2\r\n*1\r\n$5\r\nother\r\n*0\r\n*1\r\n$5\r\nhallo\r\n"
       "-ERR wrong number of arguments for 'keys' command\r\n"},
      {"DBSIZE FLUSHALL", "MSET a 1 b 2\r\nDBSIZE\r\nFLUSHALL\r\nDBSIZE\r\nFLUSHALL foo\r\nFLUSHALL ASYNC\r\n",
       "+OK\r\n:2\r\n+OK\r\n:0\r\n-ERR syntax error\r\n+OK\r\n"},
      {"QUIT answers and closes", "PING\r\nQUIT\r\nPING\r\n", "+PONG\r\n+OK\r\n"},
      {"unknown command", "foo a b\r\nfoo\r\n",
       "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
       "-ERR unknown command 'foo', with args beginning with: \r\n"},
      {"unknown command, long argument truncated", "foo " + a200 + "\r\n",
       "-ERR unknown command 'foo', with args beginning with: '" + rep('a', 128) + "' \r\n"},
      {"inline double quotes and escapes", "SET a \"x\\ny\" \r\nGET a\r\nSET b \"\\x41\\x42\"\r\nGET b\r\n",
       "+OK\r\n$3\r\nx\ny\r\n+OK\r\n$2\r\nAB\r\n"},
      {"inline single quotes", "SET a 'b c'\r\nGET a\r\n", "+OK\r\n$3\r\nb c\r\n"},
      {"inline unbalanced quotes close the connection", "PING\r\nSET a \"x\"y\r\nPING\r\n",
       "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"},
      {"empty requests are skipped", "\r\n\r\n*0\r\n*-1\r\nPING\r\n", "+PONG\r\n"},
      {"inline with bare LF", "PING\nPING\n", "+PONG\r\n+PONG\r\n"},
      {"invalid multibulk length", "*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"multibulk count over INT_MAX", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"invalid bulk length", "*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"negative bulk length", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"bulk length over 512 MiB", "*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"expected $", "*1\r\nx3\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n"},
      {"pipelined requests before a protocol error are answered", "PING\r\nECHO a\r\n*1\r\n$x\r\n",
       "+PONG\r\n$1\r\na\r\n-ERR Protocol error: invalid bulk length\r\n"},
      {"the two bytes after a bulk are not checked", "*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", "+PONG\r\n+PONG\r\n"},
      {"a request cut off by EOF gets no reply", "PING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nab", "+PONG\r\n"},
      {"inline request over 64 KiB", rep('a', 66000), "-ERR Protocol error: too big inline request\r\n"},
      {"multibulk count line over 64 KiB", "*" + rep('1', 66000), "-ERR Protocol error: too big mbulk count string\r\n"},
      {"bulk count line over 64 KiB", "*1\r\n$" + rep('1', 66000),
       "-ERR Protocol error: too big bulk count string\r\n"},
      {"SELECT 0", "SELECT 0\r\nSELECT x\r\n", "+OK\r\n-ERR value is not an integer or out of range\r\n"},
      {"SELECT 1 (one database only)", "SELECT 1\r\n", "-ERR DB index is out of range\r\n", false},
  };
}

int connect_unix(const std::string& path) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof a.sun_path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return -1;
  }
  timeval tv{10, 0};  // a server that never answers fails the test instead of hanging it
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return s;
}

// Sends `input`, shuts the write side, returns everything read until the server closes. A reset
// after the reply (the server closed with our bytes unread) ends the reply like EOF does.
std::string round_trip(const std::string& path, const std::string& input) {
  int s = connect_unix(path);
  REQUIRE_MESSAGE(s >= 0, "cannot connect to ", path);
  std::size_t off = 0;
  while (off < input.size()) {
    ssize_t n = ::write(s, input.data() + off, input.size() - off);
    if (n <= 0) break;  // the server may close on a protocol error before reading everything
    off += static_cast<std::size_t>(n);
  }
  ::shutdown(s, SHUT_WR);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(s, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0) {
      const int e = errno;
      ::close(s);
      REQUIRE_MESSAGE((e == ECONNRESET || e == EPIPE), "read: ", std::strerror(e), " after ", out.size(), " bytes");
      return out;
    }
    break;
  }
  ::close(s);
  return out;
}

bool wait_unix(const std::string& path, ti::ServerProcess& p) {
  for (auto deadline = ti::Clock::now() + 10s; ti::Clock::now() < deadline; ::usleep(20000)) {
    if (!p.alive()) return false;
    int s = connect_unix(path);
    if (s >= 0) {
      ::close(s);
      return true;
    }
  }
  return false;
}

std::string printable(const std::string& s) {
  std::string r;
  for (unsigned char c : s.substr(0, 300)) {
    if (c == '\r') r += "\\r";
    else if (c == '\n') r += "\\n";
    else if (c < 32 || c > 126) r += "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
    else r += static_cast<char>(c);
  }
  return s.size() > 300 ? r + "...(" + std::to_string(s.size()) + " bytes)" : r;
}

}  // namespace

TEST_CASE("greenev-kv answers a corpus of valid and hostile RESP inputs byte for byte as redis-server") {
  ti::TempDir dir("greenev-kvcorpus");
  const std::string redis_bin = ti::which("redis-server");
  REQUIRE_MESSAGE(!redis_bin.empty(), "redis-server not found (scripts/setup.sh installs redis-server)");
  const std::string redis_sock = dir.path + "/redis.sock", kv_sock = dir.path + "/kv.sock";
  ti::ServerProcess redis, kvs;
  redis.start({redis_bin, "--port", "0", "--unixsocket", redis_sock, "--save", "", "--appendonly", "no",
               "--dir", dir.path},
              dir.path + "/redis.log");
  kvs.start({GREENEV_KV_BIN, "--listen", "unix:" + kv_sock}, dir.path + "/kv.log", -1, SIGTERM);
  REQUIRE_MESSAGE(wait_unix(redis_sock, redis), "redis-server did not start: ", redis.log());
  REQUIRE_MESSAGE(wait_unix(kv_sock, kvs), "greenev-kv did not start: ", kvs.log());

  for (const Case& c : corpus()) {
    const std::string name = c.name;
    CAPTURE(name);
    CAPTURE(printable(c.input));
    REQUIRE(round_trip(kv_sock, "FLUSHALL\r\n") == "+OK\r\n");
    const std::string got = round_trip(kv_sock, c.input);
    CHECK_MESSAGE(got == c.expected, "greenev-kv: ", printable(got), "\nexpected:   ", printable(c.expected));
    if (c.in_redis) {
      REQUIRE(round_trip(redis_sock, "FLUSHALL\r\n") == "+OK\r\n");
      const std::string theirs = round_trip(redis_sock, c.input);
      CHECK_MESSAGE(theirs == c.expected, "redis-server: ", printable(theirs), "\nexpected:     ", printable(c.expected));
    }
  }

  // Still serving, and it stops cleanly (exit status 0) on SIGTERM.
  CHECK(round_trip(kv_sock, "SET after hostile\r\nGET after\r\n") == "+OK\r\n$7\r\nhostile\r\n");
  ::kill(kvs.pid(), SIGTERM);
  int st = -1;
  for (auto deadline = ti::Clock::now() + 10s; ti::Clock::now() < deadline; ::usleep(10000)) {
    pid_t r = ::waitpid(kvs.pid(), &st, WNOHANG);
    if (r == kvs.pid()) break;
    REQUIRE(r == 0);
  }
  kvs.alive();  // reaped here: the guard must not signal the pid again
  CHECK_MESSAGE((WIFEXITED(st) && WEXITSTATUS(st) == 0), "status ", st, "; log: ", kvs.log());
}
