// A client compiled with -O2 -D_FORTIFY_SOURCE=2 cooperates: glibc's headers turn its read / recv /
// recvfrom / poll into __read_chk / __recv_chk / __recvfrom_chk / __poll_chk (what distro-built
// libraries call), and those must yield like the plain names. The client is tests/progs/
// fortify_client.cpp (see there); it is built twice, against the shared and the static library.
//
// The binaries are checked to really call the fortified names. Evidence from a build (g++ 12,
// glibc 2.36), `nm -D --undefined-only progs/fortify_client`:
//     U __poll_chk@GLIBC_2.16
//     U __read_chk@GLIBC_2.4
//     U __recv_chk@GLIBC_2.4
//     U __recvfrom_chk@GLIBC_2.4
// (and no plain `read`/`recv`/`recvfrom`/`poll` import).
#include "interop_support.hpp"

#include <cstdlib>
#include <string>

namespace {

const char* const kFortified[] = {"__read_chk", "__recv_chk", "__recvfrom_chk", "__poll_chk"};

// The value of `key=` in the client's result line, or -1.
double field(const std::string& out, const std::string& key) {
  auto line = out.rfind("result: ");
  if (line == std::string::npos) return -1;
  auto pos = out.find(" " + key + "=", line);
  if (pos == std::string::npos) return -1;
  return std::atof(out.c_str() + pos + key.size() + 2);
}

// True when the nm listing has `sym` as a symbol of one of the given types (nm's letters).
bool has_symbol(const std::string& nm, const std::string& sym, const std::string& types) {
  std::size_t pos = 0;
  while ((pos = nm.find(sym, pos)) != std::string::npos) {
    bool starts = pos >= 2 && nm[pos - 1] == ' ' && types.find(nm[pos - 2]) != std::string::npos;
    char after = pos + sym.size() < nm.size() ? nm[pos + sym.size()] : '\n';
    if (starts && (after == '\n' || after == '@')) return true;
    pos += sym.size();
  }
  return false;
}

void run_client(const std::string& prog) {
  const std::string bin = test::prog_path(prog);
  REQUIRE_MESSAGE(::access(bin.c_str(), X_OK) == 0, bin, " is not built");
  auto t0 = test::interop::Clock::now();
  auto r = test::run_child(prog);
  const double wall = test::ms_since(t0);
  MESSAGE(prog, " (", wall, " ms wall):\n", r.out);
  CHECK_FALSE_MESSAGE(r.signaled, prog, " killed by signal ", r.signal);
  CHECK(r.exit_code == 0);
  // run_child's exit status can be lost to libev's SIGCHLD reaper; the output cannot.
  CHECK(r.out.find("result: ok") != std::string::npos);
  const double elapsed = field(r.out, "elapsed_ms");
  const double switches = field(r.out, "switches");
  const double yielded = field(r.out, "yielded");
  REQUIRE(elapsed >= 0);
  // 40 readers each waiting ~100 ms for their writer: serially 4 s (and impossible without the
  // hooks: the writers are fibers too). Concurrently ~100 ms.
  CHECK(elapsed >= 90);
  CHECK_MESSAGE(elapsed < 1000, "fortified calls did not overlap: ", elapsed, " ms");
  // Every reader's fortified call must have parked (other fibers ran during it).
  CHECK_MESSAGE(yielded == 40, "fortified calls that yielded: ", yielded, "/40");
  CHECK(switches >= 40);
  test::require_hub_clean();
}

}  // namespace

TEST_CASE("the fortified client really calls __read_chk / __recv_chk / __recvfrom_chk / __poll_chk") {
  if (test::interop::which("nm").empty()) {
    MESSAGE("SKIPPED: nm (binutils) not found");
    return;
  }
  // Linked with the shared library: the fortified names are imports, resolved to libgreenev's hooks.
  auto r = test::interop::sh("nm -D --undefined-only " + test::interop::shq(test::prog_path("fortify_client")));
  REQUIRE_MESSAGE(r.rc == 0, r.out);
  for (const char* sym : kFortified) CHECK_MESSAGE(has_symbol(r.out, sym, "U"), sym, " not imported:\n", r.out);
  // Linked with the static library: the hooks are linked into the binary itself (they were not
  // dropped by the linker), so the fortified calls bind to greenev's definitions, not glibc's.
  auto s = test::interop::sh("nm " + test::interop::shq(test::prog_path("fortify_client_static")));
  REQUIRE_MESSAGE(s.rc == 0, s.out);
  for (const char* sym : kFortified)
    CHECK_MESSAGE(has_symbol(s.out, sym, "TWi"), sym, " is not defined in the static binary (hook dropped?)");
}

TEST_CASE("a -O2 -D_FORTIFY_SOURCE=2 client's read/recv/recvfrom/poll yield (shared libgreenev)") {
  run_client("fortify_client");
}

TEST_CASE("a -O2 -D_FORTIFY_SOURCE=2 client's read/recv/recvfrom/poll yield (static libgreenev)") {
  run_client("fortify_client_static");
}
