// Proof with a real, unmodified library: libpq's blocking API (PQconnectdb, PQexecParams; inside,
// libpq sets its socket non-blocking and waits in poll()) from 20 fibers, each on its own
// connection, running `SELECT pg_sleep(0.2)`. Serially 4 s; with the patches, ~0.2 s.
//
// The test creates a throwaway cluster (initdb + pg_ctl) in a temp dir, listening on a Unix socket
// in that dir only (no TCP), and always stops it and removes the dir (RAII), failures included.
// PostgreSQL refuses to run as root, and CI runs as root: the server commands then run as the
// `postgres` user through runuser (util-linux) or su. As a non-root user they run as that user.
#include "interop_support.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <pwd.h>

namespace {

using namespace std::chrono_literals;
using test::interop::Clock;
using test::interop::shq;

// The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, or "".
std::string find_pg_bindir() {
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = e.path().string() + "/bin";
    if (::access((bin + "/initdb").c_str(), X_OK) == 0 && ::access((bin + "/pg_ctl").c_str(), X_OK) == 0)
      found.emplace_back(std::atoi(e.path().filename().c_str()), bin);
  }
  if (found.empty()) {
    // Not Debian's layout: initdb on PATH (e.g. a source build).
    std::string initdb = test::interop::which("initdb");
    if (!initdb.empty()) return std::filesystem::path(initdb).parent_path().string();
    return "";
  }
  std::sort(found.begin(), found.end());
  return found.back().second;
}

// A throwaway PostgreSQL cluster. start() may fail a REQUIRE half-way: the destructor still stops
// whatever was started and removes the directory.
class PgCluster {
 public:
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  PgCluster() = default;

  // "" when the cluster can be created here, else why not.
  std::string why_not() {
    bindir_ = find_pg_bindir();
    if (bindir_.empty()) return "PostgreSQL server binaries (initdb, pg_ctl) not found";
    if (::geteuid() == 0) {
      passwd* pw = ::getpwnam("postgres");
      if (!pw) return "running as root and there is no 'postgres' user to run the server as";
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
      std::string runuser = test::interop::which("runuser");
      if (!runuser.empty()) {
        as_user_ = shq(runuser) + " -u postgres -- ";
      } else {
        std::string su = test::interop::which("su");
        if (su.empty()) return "running as root and neither runuser nor su is available";
        su_ = shq(su);
      }
    }
    return "";
  }

  void start() {
    char tmpl[] = "/tmp/greenev-pg-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    if (::geteuid() == 0) REQUIRE(::chown(dir_.c_str(), uid_, gid_) == 0);
    REQUIRE(::chmod(dir_.c_str(), 0700) == 0);
    const std::string data = dir_ + "/data";

    // The watchdog: if this process dies without running the destructor (crash, ctest timeout),
    // the kernel sends it SIGTERM (PR_SET_PDEATHSIG) and it stops the cluster and removes the dir.
    // On the normal path the destructor does that itself and SIGKILLs the watchdog first.
    watchdog_.start({"/bin/sh", "-c",
                     "trap '" + escape_single(stop_command() + "; rm -rf " + shq(dir_)) +
                         "; exit 0' TERM; while :; do sleep 1; done"},
                    "/dev/null", -1, SIGTERM);

    auto t0 = Clock::now();
    auto r = run_as_server_user(shq(bindir_ + "/initdb") + " -D " + shq(data) +
                                " -A trust -U postgres -E UTF8 --locale=C --no-sync");
    if (r.rc != 0) FAIL("initdb failed (", r.rc, "):\n", r.out);
    MESSAGE("initdb: ", test::ms_since(t0), " ms");

    // Unix socket in our dir only; small and fast (no fsync); enough connections for the test.
    const std::string opts = "-c listen_addresses='' -c unix_socket_directories=" + dir_ +
                             " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                             " -c shared_buffers=16MB -c max_connections=50"
                             " -c dynamic_shared_memory_type=mmap";
    t0 = Clock::now();
    r = run_as_server_user(shq(bindir_ + "/pg_ctl") + " -D " + shq(data) + " -l " +
                           shq(dir_ + "/server.log") + " -o " + shq(opts) + " -w -t 30 start");
    started_ = true;  // even a failed start may have left a postmaster behind: always stop
    if (r.rc != 0) {
      std::string server_log = log();
      FAIL("pg_ctl start failed (", r.rc, "):\n", r.out, "\nserver log:\n", server_log);
    }
    MESSAGE("pg_ctl start: ", test::ms_since(t0), " ms");
  }

  ~PgCluster() {
    watchdog_.stop(SIGKILL);
    if (started_) {
      auto r = test::interop::sh(stop_command());
      if (r.rc != 0) std::fprintf(stderr, "interop_pq_test: pg_ctl stop failed (%d): %s\n", r.rc, r.out.c_str());
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::string conninfo() const {
    return "host=" + dir_ + " user=postgres dbname=postgres connect_timeout=10 application_name=greenev";
  }

  std::string log() const {
    test::interop::ShResult r = test::interop::sh("tail -n 40 " + shq(dir_ + "/server.log"));
    return r.out;
  }

 private:
  // `cmd` as the server's user, in the cluster's dir (the server tools want a readable cwd).
  std::string as_server_user(const std::string& cmd) const {
    std::string script = "cd " + shq(dir_) + " && ";
    if (!su_.empty()) script += su_ + " -s /bin/sh postgres -c " + shq(cmd);
    else script += as_user_ + cmd;
    return script;
  }
  test::interop::ShResult run_as_server_user(const std::string& cmd) {
    return test::interop::sh(as_server_user(cmd));
  }
  std::string stop_command() const {
    return as_server_user(shq(bindir_ + "/pg_ctl") + " -D " + shq(dir_ + "/data") + " -m immediate -w -t 30 stop");
  }
  // For text that goes inside a single-quoted shell word: ' -> '\''.
  static std::string escape_single(const std::string& s) {
    std::string r;
    for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return r;
  }

  test::interop::ServerProcess watchdog_;

  std::string bindir_, dir_, as_user_, su_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool started_ = false;
};

// Connection helpers: they run in fibers, so they throw instead of asserting (test::interop::ensure).
struct ConnFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnFree>;
struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

Conn connect(const std::string& conninfo) {
  Conn c(PQconnectdb(conninfo.c_str()));
  test::interop::ensure(c != nullptr, "PQconnectdb: out of memory");
  test::interop::ensure(PQstatus(c.get()) == CONNECTION_OK, "PQconnectdb: ", PQerrorMessage(c.get()));
  return c;
}

// SELECT pg_sleep(0.2), $1::int — returns the echoed id.
int sleep_and_echo(PGconn* c, int id) {
  std::string v = std::to_string(id);
  const char* params[1] = {v.c_str()};
  Result r(PQexecParams(c, "SELECT pg_sleep(0.2), $1::int", 1, nullptr, params, nullptr, nullptr, 0));
  test::interop::ensure(r != nullptr, "PQexecParams: ", PQerrorMessage(c));
  test::interop::ensure(PQresultStatus(r.get()) == PGRES_TUPLES_OK, PQresultErrorMessage(r.get()));
  test::interop::ensure(PQntuples(r.get()) == 1 && PQnfields(r.get()) == 2, "unexpected result shape");
  return std::atoi(PQgetvalue(r.get(), 0, 1));
}

}  // namespace

TEST_CASE("libpq blocking API: 20 fibers, each SELECT pg_sleep(0.2) on its own connection, run concurrently") {
  PgCluster cluster;
  if (std::string why = cluster.why_not(); !why.empty()) {
    MESSAGE("SKIPPED: ", why, " (scripts/setup.sh installs postgresql; CI runs this test)");
    return;
  }
  cluster.start();

  // The harness from main, before any fiber: pg_sleep(0.2) really takes ~200 ms.
  {
    Conn c = connect(cluster.conninfo());
    MESSAGE("server version ", PQserverVersion(c.get()));
    auto t0 = Clock::now();
    CHECK(sleep_and_echo(c.get(), -1) == -1);
    double ms = test::ms_since(t0);
    MESSAGE("one pg_sleep(0.2) from main: ", ms, " ms");
    REQUIRE(ms >= 150);
  }

  constexpr int kFibers = 20;
  std::vector<int> echoed(kFibers, -1000);
  std::vector<std::uint64_t> connect_sw(kFibers), query_sw(kFibers);  // hub switches during each call
  const auto switches_before = greenev::hub_stats().switches;
  const auto t0 = Clock::now();
  std::vector<greenev::Fiber<void>> fibers;
  for (int i = 0; i < kFibers; ++i) {
    fibers.push_back(greenev::spawn(greenev::SpawnOptions{"pq-" + std::to_string(i)}, [&, i] {
      Conn c;
      connect_sw[i] = test::interop::switches_during([&] { c = connect(cluster.conninfo()); });
      query_sw[i] = test::interop::switches_during([&] { echoed[i] = sleep_and_echo(c.get(), i); });
    }));
  }
  test::interop::join_all(fibers);
  const double total_ms = test::ms_since(t0);
  const auto switches = greenev::hub_stats().switches - switches_before;
  int connects_yielded = 0, queries_yielded = 0;
  for (int i = 0; i < kFibers; ++i) {
    connects_yielded += connect_sw[i] > 0;
    queries_yielded += query_sw[i] > 0;
  }
  MESSAGE(kFibers, " fibers x pg_sleep(0.2): ", total_ms, " ms (serial would be ~", kFibers * 200,
          " ms); hub switches ", switches, "; calls that yielded: PQconnectdb ", connects_yielded, "/",
          kFibers, ", PQexecParams ", queries_yielded, "/", kFibers);

  for (int i = 0; i < kFibers; ++i) {
    CAPTURE(i);
    CHECK(echoed[i] == i);
    CHECK_MESSAGE(query_sw[i] > 0, "PQexecParams blocked the thread instead of yielding");
  }
  CHECK_MESSAGE(total_ms < 2000, "queries did not overlap: ", total_ms, " ms");
  // The startup handshake waits for the server's fork and replies: every PQconnectdb yields too.
  CHECK(connects_yielded == kFibers);
  CHECK(queries_yielded == kFibers);
  CHECK_MESSAGE(switches >= kFibers, "the libpq calls did not yield: ", switches, " switches");
  test::require_hub_clean();
}

// docs/interrupts.md, "What C libraries return": a Timeout or kill() reaching PQexec.
#include "interrupt_probe.hpp"

TEST_CASE("libpq: a Timeout or kill inside PQexec gives a fatal error naming the errno, then raises") {
  PgCluster cluster;
  if (std::string why = cluster.why_not(); !why.empty()) {
    MESSAGE("SKIPPED: ", why, " (scripts/setup.sh installs postgresql; CI runs this test)");
    return;
  }
  cluster.start();
  ExecStatusType status = PGRES_EMPTY_QUERY;
  ConnStatusType conn = CONNECTION_OK;
  std::string err;
  auto query = [&] {
    Conn c = connect(cluster.conninfo());
    Result r(PQexec(c.get(), "SELECT pg_sleep(5)"));
    status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    conn = PQstatus(c.get());
    err = PQerrorMessage(c.get());
  };
  // libpq waits in select(); its failure ends PQexec with an error but leaves PQstatus() at
  // CONNECTION_OK although the query still runs on the server: the connection must be discarded.
  auto t = test::timeout_probe(300ms, query);
  MESSAGE("Timeout: PQexec -> ", std::string(PQresStatus(status)), ", PQstatus ", static_cast<int>(conn), ": ", err);
  CHECK(t.call_returned);
  CHECK(t.raised);
  CHECK(status == PGRES_FATAL_ERROR);
  CHECK(err.find(std::string("select() failed: ") + std::strerror(ETIMEDOUT)) != std::string::npos);
  auto k = test::kill_probe(300ms, query);
  MESSAGE("kill: PQexec -> ", std::string(PQresStatus(status)), ", PQstatus ", static_cast<int>(conn), ": ", err);
  CHECK(k.call_returned);
  CHECK(k.raised);
  CHECK(status == PGRES_FATAL_ERROR);
  CHECK(err.find(std::string("select() failed: ") + std::strerror(ECANCELED)) != std::string::npos);
  test::require_hub_clean();
}
