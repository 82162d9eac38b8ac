// examples/kv/keyspace.cpp — the key/value map with expiry, and redis's glob; see keyspace.hpp.
#include "keyspace.hpp"

#include <chrono>

namespace kv {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Matches one pattern token (not '*') at p[pi] against c; sets `next` past the token.
bool match_token(std::string_view p, std::size_t pi, char c, std::size_t& next) {
  switch (p[pi]) {
    case '?':
      next = pi + 1;
      return true;
    case '[': {
      ++pi;
      const bool negate = pi < p.size() && p[pi] == '^';
      if (negate) ++pi;
      bool match = false;
      while (pi < p.size() && p[pi] != ']') {
        if (p[pi] == '\\' && pi + 1 < p.size()) {
          ++pi;
          match |= p[pi] == c;
        } else if (pi + 2 < p.size() && p[pi + 1] == '-' && p[pi + 2] != ']') {
          char lo = p[pi], hi = p[pi + 2];
          if (lo > hi) std::swap(lo, hi);
          match |= c >= lo && c <= hi;
          pi += 2;
        } else {
          match |= p[pi] == c;
        }
        ++pi;
      }
      next = pi < p.size() ? pi + 1 : pi;  // an unterminated class ends with the pattern
      return match != negate;
    }
    case '\\':
      if (pi + 1 < p.size()) ++pi;
      [[fallthrough]];
    default:
      next = pi + 1;
      return p[pi] == c;
  }
}

}  // namespace

// Iterative, backtracking only to the last '*' (every other token matches exactly one byte), so
// a hostile pattern like "*a*a*a*a*b" costs O(|p|·|s|), not exponential time.
bool glob_match(std::string_view p, std::string_view s) {
  std::size_t pi = 0, si = 0;
  std::size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    std::size_t next = 0;
    if (pi < p.size() && p[pi] == '*') {
      star_p = ++pi;
      star_s = si;
    } else if (pi < p.size() && match_token(p, pi, s[si], next)) {
      pi = next;
      ++si;
    } else if (star_p != std::string_view::npos) {
      pi = star_p;
      si = ++star_s;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Keyspace::Map::iterator Keyspace::live(const std::string& key) {
  auto it = map_.find(key);
  if (it != map_.end() && it->second.expire_at != kNoExpiry && it->second.expire_at <= now_ms()) {
    drop(it);
    return map_.end();
  }
  return it;
}

void Keyspace::index_remove(const std::string& key, std::int64_t at) {
  if (at != kNoExpiry) by_expiry_.erase({at, key});
}

void Keyspace::drop(Map::iterator it) {
  index_remove(it->first, it->second.expire_at);
  map_.erase(it);
}

std::string* Keyspace::find(const std::string& key) {
  auto it = live(key);
  return it == map_.end() ? nullptr : &it->second.value;
}

void Keyspace::set(const std::string& key, std::string value, std::int64_t expire_at, bool keep_ttl) {
  auto it = live(key);
  if (it == map_.end()) {
    it = map_.emplace(key, Entry{}).first;
  } else if (!keep_ttl) {
    index_remove(key, it->second.expire_at);
    it->second.expire_at = kNoExpiry;
  }
  it->second.value = std::move(value);
  if (!keep_ttl && expire_at != kNoExpiry) {
    it->second.expire_at = expire_at;
    by_expiry_.emplace(expire_at, key);
  }
}

bool Keyspace::erase(const std::string& key) {
  auto it = live(key);
  if (it == map_.end()) return false;
  drop(it);
  return true;
}

std::int64_t Keyspace::expiry(const std::string& key) {
  auto it = live(key);
  return it == map_.end() ? -2 : it->second.expire_at;
}

bool Keyspace::set_expiry(const std::string& key, std::int64_t expire_at) {
  auto it = live(key);
  if (it == map_.end()) return false;
  index_remove(key, it->second.expire_at);
  it->second.expire_at = expire_at;
  if (expire_at != kNoExpiry) by_expiry_.emplace(expire_at, key);
  return true;
}

void Keyspace::clear() {
  map_.clear();
  by_expiry_.clear();
}

std::size_t Keyspace::size() {
  sweep();
  return map_.size();
}

void Keyspace::for_each_live(const std::function<void(const std::string&)>& fn) {
  sweep();
  for (const auto& [k, e] : map_) fn(k);
}

std::size_t Keyspace::sweep() {
  const std::int64_t now = now_ms();
  std::size_t n = 0;
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    auto node = by_expiry_.extract(by_expiry_.begin());
    map_.erase(node.value().second);
    ++n;
  }
  return n;
}

}  // namespace kv
