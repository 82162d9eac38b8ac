// examples/kv/keyspace.hpp — greenev-kv's data: string keys to string values, with expiry.
//
// One Keyspace per server, used only from its hub's thread: every command runs to completion
// without a suspension point, so commands are atomic without a lock (as in redis-server, whose
// single thread gives the same guarantee). Expiry times are absolute wall-clock milliseconds
// (EXPIREAT/PXAT semantics). An expired key is gone for every reader at once (lookups check the
// time), and its memory is reclaimed either by that lookup or by sweep(), which the server calls
// periodically and which walks an index ordered by expiry time, so it touches only expired keys.
// Rejected: redis's random sampling of keys with a TTL (it exists to bound work without an
// ordered index; the index costs O(log n) per SET with a TTL, which an example can afford).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace kv {

// Wall-clock milliseconds since the epoch (what EXAT/PXAT and TTL are measured against).
std::int64_t now_ms();

// Redis's glob: * ? [abc] [^a] [a-z] and \x escapes; `nocase` off.
bool glob_match(std::string_view pattern, std::string_view s);

class Keyspace {
 public:
  static constexpr std::int64_t kNoExpiry = -1;

  // The live value of key, or nullptr (absent or expired; an expired key is removed).
  std::string* find(const std::string& key);
  // Sets key to value. keep_ttl: an existing expiry stays; otherwise `expire_at` (or none).
  void set(const std::string& key, std::string value, std::int64_t expire_at = kNoExpiry, bool keep_ttl = false);
  bool erase(const std::string& key);
  // Expiry of a live key: kNoExpiry when it has none; nullopt-like -2 when the key is absent.
  std::int64_t expiry(const std::string& key);
  // Sets (or with kNoExpiry clears) the expiry of a live key; false if the key is absent.
  bool set_expiry(const std::string& key, std::int64_t expire_at);
  void clear();
  std::size_t size();  // live keys (sweeps first, so expired keys are not counted)
  void for_each_live(const std::function<void(const std::string&)>& fn);
  // Removes every key whose time has passed; returns how many.
  std::size_t sweep();

 private:
  struct Entry {
    std::string value;
    std::int64_t expire_at = kNoExpiry;
  };
  using Map = std::unordered_map<std::string, Entry>;
  Map::iterator live(const std::string& key);
  void drop(Map::iterator it);
  void index_remove(const std::string& key, std::int64_t at);

  Map map_;
  std::set<std::pair<std::int64_t, std::string>> by_expiry_;  // (expire_at, key) of keys with a TTL
};

}  // namespace kv
