// examples/kv/resp.cpp — RESP2 parsing (multibulk and inline) and reply encoding; see resp.hpp.
#include "resp.hpp"

#include <charconv>
#include <climits>
#include <cstring>

namespace kv {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits an inline request line into words with redis's rules: blanks separate words, "..." takes
// \n \r \t \b \a \xHH and \<c> escapes, '...' takes \' only, a closing quote must be followed by a
// blank or the end of the line. A NUL ends the line (redis splits a C string). False: unbalanced.
bool split_inline(std::string_view line, std::vector<std::string>& words) {
  std::size_t i = 0;
  const std::size_t n = line.size();
  auto at = [&](std::size_t k) { return k < n ? line[k] : '\0'; };
  for (;;) {
    while (at(i) != '\0' && is_space(at(i))) ++i;
    if (at(i) == '\0') return true;
    std::string cur;
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
      const char c = at(i);
      if (in_dq) {
        if (c == '\\' && at(i + 1) == 'x' && hex_value(at(i + 2)) >= 0 && hex_value(at(i + 3)) >= 0) {
          cur.push_back(static_cast<char>(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3))));
          i += 3;
        } else if (c == '\\' && at(i + 1) != '\0') {
          ++i;
          switch (at(i)) {
            case 'n': cur.push_back('\n'); break;
            case 'r': cur.push_back('\r'); break;
            case 't': cur.push_back('\t'); break;
            case 'b': cur.push_back('\b'); break;
            case 'a': cur.push_back('\a'); break;
            default: cur.push_back(at(i)); break;
          }
        } else if (c == '"') {
          if (at(i + 1) != '\0' && !is_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          cur.push_back(c);
        }
      } else if (in_sq) {
        if (c == '\\' && at(i + 1) == '\'') {
          ++i;
          cur.push_back('\'');
        } else if (c == '\'') {
          if (at(i + 1) != '\0' && !is_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          cur.push_back(c);
        }
      } else {
        switch (c) {
          case ' ': case '\n': case '\r': case '\t': case '\0': done = true; break;
          case '"': in_dq = true; break;
          case '\'': in_sq = true; break;
          default: cur.push_back(c); break;
        }
      }
      if (at(i) != '\0') ++i;
    }
    words.push_back(std::move(cur));
  }
}

ParseResult error(std::string msg) {
  ParseResult r;
  r.status = ParseStatus::error;
  r.error = "ERR Protocol error: " + std::move(msg);
  return r;
}

ParseResult incomplete(std::size_t need) {
  ParseResult r;
  r.status = ParseStatus::incomplete;
  r.need = need;
  return r;
}

ParseResult complete(std::size_t consumed) {
  ParseResult r;
  r.status = ParseStatus::complete;
  r.consumed = consumed;
  return r;
}

ParseResult parse_inline(std::string_view in, std::vector<std::string>& args, const RespLimits& limits) {
  const std::size_t nl = in.find('\n');
  if (nl == std::string_view::npos) {
    if (in.size() > limits.max_inline) return error("too big inline request");
    return incomplete(in.size() + 1);
  }
  std::size_t end = nl;
  if (end > 0 && in[end - 1] == '\r') --end;
  if (end > limits.max_inline) return error("too big inline request");
  if (!split_inline(in.substr(0, end), args)) return error("unbalanced quotes in request");
  return complete(nl + 1);
}

// Finds the "\r" ending the header line that starts at `pos` (a `*N` or `$N` line). Returns the
// offset of '\r', or npos with `r` set to what the caller must return.
std::size_t header_line(std::string_view in, std::size_t pos, const RespLimits& limits, const char* too_big,
                        ParseResult& r) {
  const std::size_t cr = in.find('\r', pos);
  if (cr == std::string_view::npos) {
    r = in.size() - pos > limits.max_inline ? error(too_big) : incomplete(in.size() + 1);
    return std::string_view::npos;
  }
  if (cr + 1 >= in.size()) {  // the byte after '\r' (taken as '\n') is not here yet
    r = incomplete(cr + 2);
    return std::string_view::npos;
  }
  return cr;
}

}  // namespace

std::optional<long long> parse_ll(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s == "0") return 0;
  std::size_t i = 0;
  const bool neg = s[0] == '-';
  if (neg) ++i;
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return std::nullopt;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    const unsigned d = static_cast<unsigned>(s[i] - '0');
    if (v > (ULLONG_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<unsigned long long>(LLONG_MAX) + 1) return std::nullopt;
    return v == static_cast<unsigned long long>(LLONG_MAX) + 1 ? LLONG_MIN : -static_cast<long long>(v);
  }
  if (v > static_cast<unsigned long long>(LLONG_MAX)) return std::nullopt;
  return static_cast<long long>(v);
}

ParseResult parse_request(std::string_view in, std::vector<std::string>& args, const RespLimits& limits) {
  args.clear();
  if (in.empty()) return incomplete(1);
  if (in[0] != '*') return parse_inline(in, args, limits);

  ParseResult r;
  std::size_t cr = header_line(in, 0, limits, "too big mbulk count string", r);
  if (cr == std::string_view::npos) return r;
  const std::optional<long long> count = parse_ll(in.substr(1, cr - 1));
  if (!count || *count > static_cast<long long>(limits.max_args) || *count > INT_MAX)
    return error("invalid multibulk length");
  std::size_t pos = cr + 2;
  if (*count <= 0) return complete(pos);
  args.reserve(static_cast<std::size_t>(*count < 1024 ? *count : 1024));  // never trust a count
  for (long long i = 0; i < *count; ++i) {
    cr = header_line(in, pos, limits, "too big bulk count string", r);
    if (cr == std::string_view::npos) return r;
    if (in[pos] != '$') return error(std::string("expected '$', got '") + in[pos] + "'");
    const std::optional<long long> len = parse_ll(in.substr(pos + 1, cr - pos - 1));
    if (!len || *len < 0 || static_cast<unsigned long long>(*len) > limits.max_bulk)
      return error("invalid bulk length");
    pos = cr + 2;
    const std::size_t blen = static_cast<std::size_t>(*len);
    if (in.size() - pos < blen + 2) return incomplete(pos + blen + 2);
    args.emplace_back(in.substr(pos, blen));
    pos += blen + 2;  // the two bytes after the payload are not checked (as redis-server)
  }
  return complete(pos);
}

void reply_simple(std::string& out, std::string_view s) {
  out.push_back('+');
  out.append(s);
  out.append("\r\n");
}

void reply_error(std::string& out, std::string_view s) {
  out.push_back('-');
  const std::size_t at = out.size();
  out.append(s);
  for (std::size_t i = at; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';  // an error is one line
  out.append("\r\n");
}

void reply_int(std::string& out, long long v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.push_back(':');
  out.append(buf, res.ptr);
  out.append("\r\n");
}

void reply_bulk(std::string& out, std::string_view s) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, s.size());
  out.push_back('$');
  out.append(buf, res.ptr);
  out.append("\r\n");
  out.append(s);
  out.append("\r\n");
}

void reply_nil(std::string& out) { out.append("$-1\r\n"); }

void reply_array(std::string& out, std::size_t n) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, n);
  out.push_back('*');
  out.append(buf, res.ptr);
  out.append("\r\n");
}

}  // namespace kv
