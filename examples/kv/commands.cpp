// examples/kv/commands.cpp — the command implementations and their table; see commands.hpp.
#include "commands.hpp"

#include "resp.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>
#include <string_view>

namespace kv {
namespace {

constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
constexpr std::string_view kSyntax = "ERR syntax error";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

using Args = std::vector<std::string>;
using Handler = Outcome (*)(Keyspace&, Args&, std::string&);

struct Command {
  std::string_view name;
  int arity;
  Handler run;
};

Outcome ping(Keyspace&, Args& a, std::string& out) {
  if (a.size() > 2)
    reply_error(out, "ERR wrong number of arguments for 'ping' command");
  else if (a.size() == 1)
    reply_simple(out, "PONG");
  else
    reply_bulk(out, a[1]);
  return Outcome::keep;
}

Outcome echo(Keyspace&, Args& a, std::string& out) {
  reply_bulk(out, a[1]);
  return Outcome::keep;
}

Outcome quit(Keyspace&, Args&, std::string& out) {
  reply_simple(out, "OK");
  return Outcome::close;
}

Outcome get(Keyspace& ks, Args& a, std::string& out) {
  if (const std::string* v = ks.find(a[1]))
    reply_bulk(out, *v);
  else
    reply_nil(out);
  return Outcome::keep;
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]: options are parsed first
// (syntax errors win), then the expiry value, as redis does.
Outcome set(Keyspace& ks, Args& a, std::string& out) {
  bool nx = false, xx = false, get_old = false, keep_ttl = false;
  const std::string* expire_arg = nullptr;
  enum { kNone, kEx, kPx, kExAt, kPxAt } unit = kNone;
  for (std::size_t j = 3; j < a.size(); ++j) {
    const std::string& o = a[j];
    const bool has_next = j + 1 < a.size();
    if (iequals(o, "nx") && !xx) {
      nx = true;
    } else if (iequals(o, "xx") && !nx) {
      xx = true;
    } else if (iequals(o, "get")) {
      get_old = true;
    } else if (iequals(o, "keepttl") && unit == kNone) {
      keep_ttl = true;
    } else if (has_next && unit == kNone && !keep_ttl &&
               (iequals(o, "ex") || iequals(o, "px") || iequals(o, "exat") || iequals(o, "pxat"))) {
      unit = iequals(o, "ex") ? kEx : iequals(o, "px") ? kPx : iequals(o, "exat") ? kExAt : kPxAt;
      expire_arg = &a[++j];
    } else {
      reply_error(out, kSyntax);
      return Outcome::keep;
    }
  }
  std::int64_t expire_at = Keyspace::kNoExpiry;
  if (unit != kNone) {
    const std::optional<long long> v = parse_ll(*expire_arg);
    if (!v) {
      reply_error(out, kNotInteger);
      return Outcome::keep;
    }
    const bool seconds = unit == kEx || unit == kExAt;
    if (*v <= 0 || (seconds && *v > LLONG_MAX / 1000)) {
      reply_error(out, "ERR invalid expire time in 'set' command");
      return Outcome::keep;
    }
    const long long ms = seconds ? *v * 1000 : *v;
    const bool relative = unit == kEx || unit == kPx;
    if (relative && ms > LLONG_MAX - now_ms()) {
      reply_error(out, "ERR invalid expire time in 'set' command");
      return Outcome::keep;
    }
    expire_at = relative ? now_ms() + ms : ms;
  }
  const std::string* old = ks.find(a[1]);
  std::optional<std::string> old_value;
  if (old && get_old) old_value = *old;
  if ((nx && old) || (xx && !old)) {
    if (get_old && old_value)
      reply_bulk(out, *old_value);
    else
      reply_nil(out);
    return Outcome::keep;
  }
  ks.set(a[1], std::move(a[2]), expire_at, keep_ttl);
  if (get_old) {
    if (old_value)
      reply_bulk(out, *old_value);
    else
      reply_nil(out);
  } else {
    reply_simple(out, "OK");
  }
  return Outcome::keep;
}

Outcome del(Keyspace& ks, Args& a, std::string& out) {
  long long n = 0;
  for (std::size_t i = 1; i < a.size(); ++i) n += ks.erase(a[i]) ? 1 : 0;
  reply_int(out, n);
  return Outcome::keep;
}

Outcome exists(Keyspace& ks, Args& a, std::string& out) {
  long long n = 0;
  for (std::size_t i = 1; i < a.size(); ++i) n += ks.find(a[i]) ? 1 : 0;
  reply_int(out, n);
  return Outcome::keep;
}

Outcome incr_by(Keyspace& ks, const std::string& key, long long by, std::string& out) {
  long long cur = 0;
  if (const std::string* v = ks.find(key)) {
    const std::optional<long long> p = parse_ll(*v);
    if (!p) {
      reply_error(out, kNotInteger);
      return Outcome::keep;
    }
    cur = *p;
  }
  if ((by < 0 && cur < 0 && by < LLONG_MIN - cur) || (by > 0 && cur > 0 && by > LLONG_MAX - cur)) {
    reply_error(out, "ERR increment or decrement would overflow");
    return Outcome::keep;
  }
  cur += by;
  ks.set(key, std::to_string(cur), Keyspace::kNoExpiry, /*keep_ttl=*/true);
  reply_int(out, cur);
  return Outcome::keep;
}

Outcome incr(Keyspace& ks, Args& a, std::string& out) { return incr_by(ks, a[1], 1, out); }
Outcome decr(Keyspace& ks, Args& a, std::string& out) { return incr_by(ks, a[1], -1, out); }

Outcome incrby(Keyspace& ks, Args& a, std::string& out) {
  const std::optional<long long> by = parse_ll(a[2]);
  if (!by) {
    reply_error(out, kNotInteger);
    return Outcome::keep;
  }
  return incr_by(ks, a[1], *by, out);
}

Outcome decrby(Keyspace& ks, Args& a, std::string& out) {
  const std::optional<long long> by = parse_ll(a[2]);
  if (!by) {
    reply_error(out, kNotInteger);
    return Outcome::keep;
  }
  if (*by == LLONG_MIN) {
    reply_error(out, "ERR decrement would overflow");
    return Outcome::keep;
  }
  return incr_by(ks, a[1], -*by, out);
}

Outcome mget(Keyspace& ks, Args& a, std::string& out) {
  reply_array(out, a.size() - 1);
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (const std::string* v = ks.find(a[i]))
      reply_bulk(out, *v);
    else
      reply_nil(out);
  }
  return Outcome::keep;
}

Outcome mset(Keyspace& ks, Args& a, std::string& out) {
  if (a.size() % 2 == 0) {
    reply_error(out, "ERR wrong number of arguments for 'mset' command");
    return Outcome::keep;
  }
  for (std::size_t i = 1; i < a.size(); i += 2) ks.set(a[i], std::move(a[i + 1]));
  reply_simple(out, "OK");
  return Outcome::keep;
}

// EXPIRE/PEXPIRE key n [NX|XX|GT|LT]: options first, then the number, as redis does.
Outcome expire_generic(Keyspace& ks, Args& a, std::string& out, bool ms_unit, std::string_view name) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (std::size_t j = 3; j < a.size(); ++j) {
    if (iequals(a[j], "nx"))
      nx = true;
    else if (iequals(a[j], "xx"))
      xx = true;
    else if (iequals(a[j], "gt"))
      gt = true;
    else if (iequals(a[j], "lt"))
      lt = true;
    else {
      reply_error(out, "ERR Unsupported option " + a[j]);
      return Outcome::keep;
    }
  }
  if (nx && (xx || gt || lt)) {
    reply_error(out, "ERR NX and XX, GT or LT options at the same time are not compatible");
    return Outcome::keep;
  }
  if (gt && lt) {
    reply_error(out, "ERR GT and LT options at the same time are not compatible");
    return Outcome::keep;
  }
  const std::optional<long long> v = parse_ll(a[2]);
  if (!v) {
    reply_error(out, kNotInteger);
    return Outcome::keep;
  }
  const std::int64_t now = now_ms();
  if ((!ms_unit && (*v > LLONG_MAX / 1000 || *v < LLONG_MIN / 1000))) {
    reply_error(out, "ERR invalid expire time in '" + std::string(name) + "' command");
    return Outcome::keep;
  }
  const long long ms = ms_unit ? *v : *v * 1000;
  if ((ms > 0 && ms > LLONG_MAX - now) || (ms < 0 && ms < LLONG_MIN + now)) {
    reply_error(out, "ERR invalid expire time in '" + std::string(name) + "' command");
    return Outcome::keep;
  }
  const std::int64_t when = now + ms;
  const std::int64_t cur = ks.expiry(a[1]);
  if (cur == -2) {
    reply_int(out, 0);
    return Outcome::keep;
  }
  // GT/LT treat "no expiry" as an infinite TTL.
  if ((nx && cur != Keyspace::kNoExpiry) || (xx && cur == Keyspace::kNoExpiry) ||
      (gt && (cur == Keyspace::kNoExpiry || when <= cur)) || (lt && cur != Keyspace::kNoExpiry && when >= cur)) {
    reply_int(out, 0);
    return Outcome::keep;
  }
  if (when <= now)
    ks.erase(a[1]);
  else
    ks.set_expiry(a[1], when);
  reply_int(out, 1);
  return Outcome::keep;
}

Outcome expire(Keyspace& ks, Args& a, std::string& out) { return expire_generic(ks, a, out, false, "expire"); }
Outcome pexpire(Keyspace& ks, Args& a, std::string& out) { return expire_generic(ks, a, out, true, "pexpire"); }

Outcome ttl_generic(Keyspace& ks, Args& a, std::string& out, bool ms_unit) {
  const std::int64_t at = ks.expiry(a[1]);
  if (at < 0) {
    reply_int(out, at);  // -2: no such key, -1: no expiry
    return Outcome::keep;
  }
  std::int64_t left = at - now_ms();
  if (left < 0) left = 0;
  reply_int(out, ms_unit ? left : (left + 500) / 1000);
  return Outcome::keep;
}

Outcome ttl(Keyspace& ks, Args& a, std::string& out) { return ttl_generic(ks, a, out, false); }
Outcome pttl(Keyspace& ks, Args& a, std::string& out) { return ttl_generic(ks, a, out, true); }

Outcome persist(Keyspace& ks, Args& a, std::string& out) {
  const std::int64_t at = ks.expiry(a[1]);
  const bool had = at >= 0;
  if (had) ks.set_expiry(a[1], Keyspace::kNoExpiry);
  reply_int(out, had ? 1 : 0);
  return Outcome::keep;
}

Outcome keys(Keyspace& ks, Args& a, std::string& out) {
  std::vector<const std::string*> found;
  const std::string& pattern = a[1];
  const bool all = pattern == "*";
  ks.for_each_live([&](const std::string& k) {
    if (all || glob_match(pattern, k)) found.push_back(&k);
  });
  reply_array(out, found.size());
  for (const std::string* k : found) reply_bulk(out, *k);
  return Outcome::keep;
}

Outcome dbsize(Keyspace& ks, Args&, std::string& out) {
  reply_int(out, static_cast<long long>(ks.size()));
  return Outcome::keep;
}

Outcome flushall(Keyspace& ks, Args& a, std::string& out) {
  if (a.size() > 2 || (a.size() == 2 && !iequals(a[1], "sync") && !iequals(a[1], "async"))) {
    reply_error(out, kSyntax);
    return Outcome::keep;
  }
  ks.clear();
  reply_simple(out, "OK");
  return Outcome::keep;
}

Outcome select(Keyspace&, Args& a, std::string& out) {
  const std::optional<long long> db = parse_ll(a[1]);
  if (!db)
    reply_error(out, kNotInteger);
  else if (*db != 0)
    reply_error(out, "ERR DB index is out of range");
  else
    reply_simple(out, "OK");
  return Outcome::keep;
}

// CONFIG GET pattern...: the few parameters clients probe (redis-benchmark asks for save and
// appendonly), answered as name/value pairs; this server keeps nothing on disk.
Outcome config(Keyspace&, Args& a, std::string& out) {
  if (!iequals(a[1], "get")) {
    reply_error(out, "ERR unknown subcommand '" + a[1].substr(0, 128) + "'. Try CONFIG HELP.");
    return Outcome::keep;
  }
  if (a.size() < 3) {
    reply_error(out, "ERR wrong number of arguments for 'config|get' command");
    return Outcome::keep;
  }
  static constexpr std::pair<std::string_view, std::string_view> kParams[] = {
      {"appendonly", "no"}, {"databases", "1"}, {"save", ""}};
  std::vector<std::pair<std::string_view, std::string_view>> hits;
  for (const auto& p : kParams)
    for (std::size_t i = 2; i < a.size(); ++i)
      if (glob_match(a[i], p.first)) {
        hits.push_back(p);
        break;
      }
  reply_array(out, hits.size() * 2);
  for (const auto& [k, v] : hits) {
    reply_bulk(out, k);
    reply_bulk(out, v);
  }
  return Outcome::keep;
}

constexpr Command kCommands[] = {
    {"ping", -1, ping},       {"echo", 2, echo},        {"quit", -1, quit},       {"get", 2, get},
    {"set", -3, set},         {"del", -2, del},         {"exists", -2, exists},   {"incr", 2, incr},
    {"decr", 2, decr},        {"incrby", 3, incrby},    {"decrby", 3, decrby},    {"mget", -2, mget},
    {"mset", -3, mset},       {"expire", -3, expire},   {"pexpire", -3, pexpire}, {"ttl", 2, ttl},
    {"pttl", 2, pttl},        {"persist", 2, persist},  {"keys", 2, keys},        {"dbsize", 1, dbsize},
    {"flushall", -1, flushall}, {"flushdb", -1, flushall}, {"select", 2, select}, {"config", -2, config},
};

const Command* lookup(std::string_view name) {
  for (const Command& c : kCommands)
    if (iequals(c.name, name)) return &c;
  return nullptr;
}

// redis-server's text: the name and the first arguments, each quoted, up to about 128 bytes.
void unknown_command(const Args& a, std::string& out) {
  std::string msg = "ERR unknown command '" + a[0].substr(0, 128) + "', with args beginning with: ";
  std::string args;
  for (std::size_t i = 1; i < a.size() && args.size() < 128; ++i)
    args += "'" + a[i].substr(0, 128 - args.size()) + "' ";
  reply_error(out, msg + args);
}

}  // namespace

Outcome execute(Keyspace& ks, std::vector<std::string>& args, std::string& out) {
  const Command* c = lookup(args[0]);
  if (!c) {
    unknown_command(args, out);
    return Outcome::keep;
  }
  const auto n = static_cast<long>(args.size());
  if ((c->arity > 0 && n != c->arity) || (c->arity < 0 && n < -c->arity)) {
    reply_error(out, "ERR wrong number of arguments for '" + std::string(c->name) + "' command");
    return Outcome::keep;
  }
  return c->run(ks, args, out);
}

}  // namespace kv
