// examples/kv/commands.hpp — greenev-kv's command table: runs one parsed request on a Keyspace.
//
// Each command has redis-server's name, arity rule (n > 0: exactly n words; n < 0: at least -n)
// and reply texts, so redis clients and tools (redis-cli, redis-benchmark, hiredis) see the replies
// they expect; tests/kv_corpus_test.cpp checks them byte for byte against a real redis-server.
// Names are matched case-insensitively. execute() never suspends (see keyspace.hpp) and never
// throws for bad input: every user error is an error reply.
// Supported: PING ECHO GET SET(EX PX EXAT PXAT NX XX KEEPTTL GET) DEL EXISTS INCR DECR INCRBY
// DECRBY MGET MSET EXPIRE PEXPIRE(NX XX GT LT) TTL PTTL PERSIST KEYS DBSIZE FLUSHALL FLUSHDB QUIT
// SELECT(0 only) CONFIG GET (a few fixed parameters, for redis-benchmark's start-up probe).
#pragma once

#include "keyspace.hpp"

#include <string>
#include <vector>

namespace kv {

enum class Outcome {
  keep,   // reply appended; read the next request
  close,  // reply appended; flush it and close the connection (QUIT)
};

// Runs args (args[0] is the command name; args is not empty) and appends the reply to out.
Outcome execute(Keyspace& ks, std::vector<std::string>& args, std::string& out);

}  // namespace kv
