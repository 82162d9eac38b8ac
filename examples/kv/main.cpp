// examples/kv/main.cpp — greenev-kv: a Redis-protocol (RESP2) key-value server on StreamServer.
//
//   greenev-kv --listen 127.0.0.1:6380 [--listen unix:/tmp/kv.sock] ...
//   redis-cli -p 6380 set greeting hello
//
// Each connection is one fiber running plain blocking code: read into a buffer, parse every whole
// request in it (pipelining), run each on the shared Keyspace, write the replies in one go when
// the buffer holds no further whole request. Commands never suspend, so they are atomic without
// locks. Bad input (see resp.hpp for the limits) gets redis-server's error reply and the
// connection is closed; the server keeps serving everyone else. SIGINT/SIGTERM stop gracefully:
// idle connections close at once, a connection with requests in hand answers them first.
// Not a database: nothing is persisted, and only string values exist (the command list is in
// commands.hpp). Rejected: a reply queue with a writer fiber per connection (replies are written
// by the fiber that made them, so a client that stops reading stops only its own connection).
#include "commands.hpp"
#include "resp.hpp"

#include "example_common.hpp"

#include <greenev/greenev.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// Writes all of out (the server's write() loops over short writes); false if the peer is gone.
bool flush(greenev::Connection& c, std::string& out) {
  if (out.empty()) return true;
  const bool ok = c.write(out.data(), out.size()) == static_cast<ssize_t>(out.size());
  out.clear();
  return ok;
}

// The unparsed bytes of one connection: [begin_, end_) of a buffer that grows to hold the
// largest request seen and is never zero-filled (reads land straight in it).
class InBuffer {
 public:
  std::string_view view() const { return {buf_.get() + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }
  std::size_t size() const { return end_ - begin_; }
  void consume(std::size_t n) { begin_ += n; }
  // Room for at least n more bytes at the end, moving the unparsed bytes to the front first.
  char* space(std::size_t n, std::size_t& got) {
    if (begin_ == end_) begin_ = end_ = 0;
    if (cap_ - end_ < n && begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (cap_ - end_ < n) {
      std::size_t ncap = cap_ ? cap_ * 2 : n;
      while (ncap - end_ < n) ncap *= 2;
      auto nb = std::make_unique_for_overwrite<char[]>(ncap);
      if (end_ > begin_) std::memcpy(nb.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      buf_ = std::move(nb);
      cap_ = ncap;
    }
    got = cap_ - end_;
    return buf_.get() + end_;
  }
  void commit(std::size_t n) { end_ += n; }

 private:
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

void serve(greenev::Connection& c, kv::Keyspace& ks, const kv::RespLimits& limits) {
  constexpr std::size_t kReadChunk = 16 * 1024;
  constexpr std::size_t kFlushAt = 64 * 1024;  // flush mid-pipeline past this much reply data
  InBuffer in;
  std::string out;
  std::vector<std::string> args;
  for (;;) {
    std::size_t need = 0;
    for (;;) {  // every whole request already buffered
      kv::ParseResult r = kv::parse_request(in.view(), args, limits);
      if (r.status == kv::ParseStatus::incomplete) {
        need = r.need;
        break;
      }
      if (r.status == kv::ParseStatus::error) {
        kv::reply_error(out, r.error);
        flush(c, out);
        return;  // the connection closes; the server keeps serving
      }
      in.consume(r.consumed);
      if (args.empty()) continue;  // `*0`, an empty inline line: nothing to run
      c.count_request();
      if (kv::execute(ks, args, out) == kv::Outcome::close) {
        flush(c, out);
        return;
      }
      if (out.size() >= kFlushAt && !flush(c, out)) return;
    }
    if (!flush(c, out)) return;
    if (c.stopping() && in.empty()) return;  // stopping: nothing half-received to finish
    c.set_idle(in.empty());
    const std::size_t missing = need > in.size() ? need - in.size() : 1;
    std::size_t room = 0;
    char* at = in.space(missing > kReadChunk ? missing : kReadChunk, room);
    const ssize_t n = c.read(at, room);
    if (n <= 0) return;  // EOF, reset, or the idle/request deadline passed
    in.commit(static_cast<std::size_t>(n));
    c.set_idle(false);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"greenev-kv: a Redis-protocol (RESP2) key-value server; one fiber per connection.\n"
               "Try: redis-cli -p 6380 set k v; redis-benchmark -p 6380 -t set,get -q"};
  greenev::examples::ServerFlags flags;
  greenev::examples::add_server_flags(app, flags, "127.0.0.1:6380");
  kv::RespLimits limits;
  app.add_option("--max-bulk", limits.max_bulk, "largest argument in bytes (redis: proto-max-bulk-len)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  return greenev::examples::guarded_main("greenev-kv", [&] {
    kv::Keyspace ks;
    greenev::StreamServer server(greenev::examples::server_options(flags, "greenev-kv"),
                                 [&](greenev::Connection& c) { serve(c, ks, limits); });
    server.start();
    greenev::examples::announce(server, "greenev-kv");

    // Reclaims the memory of expired keys nobody reads again (readers never see them anyway).
    auto sweeper = greenev::spawn(greenev::SpawnOptions{"greenev-kv:expire"}, [&] {
      for (;;) {
        greenev::sleep(std::chrono::milliseconds(100));
        ks.sweep();
      }
    });
    server.serve_forever();
    sweeper.kill();
    const greenev::ServerCounters n = server.counters();
    std::fprintf(stderr, "greenev-kv: stopped after %llu connections, %llu requests (%llu cut off)\n",
                 static_cast<unsigned long long>(n.accepted), static_cast<unsigned long long>(n.requests),
                 static_cast<unsigned long long>(n.cut_off_at_stop));
    return 0;
  });
}
