// tests/progs/held_lock.cpp — the held-lock rule against real lock users, as a child program
// (without the rule these hang or corrupt). Bounded by alarm(): a hang dies of SIGALRM.
//   held_lock mutex_read   fiber A holds a std::mutex across a socket read fed by another thread;
//                          fiber B takes the same mutex meanwhile: must not deadlock the thread.
//   held_lock sqlite DIR   two fibers share one sqlite3* (serialized mode) and insert through the
//                          file thread pool; PRAGMA integrity_check must say "ok".
#include <greenev/greenev.hpp>

#ifndef GREENEV_NO_SQLITE
#include <sqlite3.h>
#endif

#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

int mutex_read() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
  std::mutex m;
  bool b_done = false;
  char got = 0;
  std::thread writer([&] {
    std::this_thread::sleep_for(200ms);
    (void)::write(sv[1], "x", 1);
  });
  auto a = greenev::spawn([&] {
    std::lock_guard lk(m);
    if (::read(sv[0], &got, 1) != 1) std::perror("read");
  });
  auto b = greenev::spawn([&] {
    std::lock_guard lk(m);  // A is inside its read: without the rule, this blocks the thread forever
    b_done = true;
  });
  a.join();
  b.join();
  writer.join();
  ::close(sv[0]);
  ::close(sv[1]);
  if (got != 'x' || !b_done) return 1;
  std::puts("mutex_read: ok");
  return 0;
}

#ifndef GREENEV_NO_SQLITE
bool exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    return false;
  }
  return true;
}

int sqlite(const std::string& dir) {
  const std::string path = dir + "/held_lock.db";
  ::unlink(path.c_str());
  ::unlink((path + "-journal").c_str());
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    return 2;
  if (!exec(db, "PRAGMA cache_size=10; PRAGMA synchronous=OFF; CREATE TABLE t(id INTEGER PRIMARY KEY, who INTEGER, v BLOB)")) return 2;
  int failures = 0;
  auto writer = [&](int who) {
    for (int i = 0; i < 150; ++i) {
      char sql[160];
      std::snprintf(sql, sizeof sql, "INSERT INTO t(who, v) VALUES(%d, randomblob(%d))", who, 200 + (i * 37) % 900);
      if (!exec(db, sql)) ++failures;
    }
  };
  auto f1 = greenev::spawn([&] { writer(1); });
  auto f2 = greenev::spawn([&] { writer(2); });
  f1.join();
  f2.join();
  std::string result;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) result += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  long rows = 0;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, nullptr) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  ::unlink(path.c_str());
  std::printf("integrity_check: %s; rows %ld; failed statements %d\n", result.c_str(), rows, failures);
  if (result != "ok" || rows != 300 || failures != 0) return 1;
  std::puts("sqlite: ok");
  return 0;
}
#else
int sqlite(const std::string&) { return 3; }
#endif

}  // namespace

int main(int argc, char** argv) {
  alarm(20);
  if (argc >= 2 && std::strcmp(argv[1], "mutex_read") == 0) return mutex_read();
  if (argc >= 3 && std::strcmp(argv[1], "sqlite") == 0) return sqlite(argv[2]);
  std::fprintf(stderr, "usage: held_lock mutex_read | sqlite DIR\n");
  return 2;
}
