// examples/kv/resp.hpp — the RESP2 request parser and reply encoder of greenev-kv.
//
// parse_request() looks at the bytes buffered so far and either finds one whole request (a
// multibulk `*N\r\n$len\r\n...` or an inline line `SET k v\r\n`), reports how many more bytes it
// needs, or reports a protocol error with the exact text redis-server sends for the same bytes.
// It keeps no state between calls: the caller re-parses from the start of an unfinished request,
// and `need` (the smallest total the request can have) lets it read until that much is buffered
// instead of re-parsing after every short read, so a large bulk costs O(size), not O(size^2).
// Quirks kept on purpose because clients expect redis-server's behaviour byte for byte: the two
// bytes after a bulk payload are skipped unchecked, `*0`/`*-1` and empty inline lines are
// requests with no words (no reply), inline words follow redis's quoting rules.
// Limits (bulk length, argument count, inline/header line length) bound what one request may
// make the server buffer; over a limit is a protocol error and the caller closes the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv {

struct RespLimits {
  std::size_t max_bulk = 512u << 20;   // bytes in one argument (redis: proto-max-bulk-len)
  std::size_t max_args = 1u << 20;     // arguments in one multibulk request
  std::size_t max_inline = 64u << 10;  // an inline request or a `*N`/`$N` line (redis: 64 KiB)
};

enum class ParseStatus {
  complete,    // `args` holds one request (possibly empty: nothing to run), `consumed` bytes used
  incomplete,  // read more: at least `need` bytes in total are required
  error,       // `error` is the reply text (without "-" and CRLF); close after replying
};

struct ParseResult {
  ParseStatus status = ParseStatus::incomplete;
  std::size_t consumed = 0;
  std::size_t need = 0;
  std::string error;
};

// Parses one request from the start of `in` into `args` (cleared first).
ParseResult parse_request(std::string_view in, std::vector<std::string>& args, const RespLimits& limits);

// Redis's string2ll: optional '-', then "0" or [1-9][0-9]*, no overflow, nothing else.
std::optional<long long> parse_ll(std::string_view s);

// Reply encoders: append one RESP2 value to `out`.
void reply_simple(std::string& out, std::string_view s);  // +s
void reply_error(std::string& out, std::string_view s);   // -s (CR/LF in s become spaces)
void reply_int(std::string& out, long long v);            // :v
void reply_bulk(std::string& out, std::string_view s);    // $len s
void reply_nil(std::string& out);                         // $-1
void reply_array(std::string& out, std::size_t n);        // *n, then n values

}  // namespace kv
