// fork() from fibers, run as child programs (tests/progs/fork_fiber.cpp says what each mode checks).
#include "test_support.hpp"

namespace {

void expect_ok(const char* prog, const char* mode) {
  auto r = test::run_child(prog, {mode}, {"TSAN_OPTIONS=die_after_fork=0"});
  INFO(prog, " ", mode, ": ", r.out);
  CHECK_FALSE(r.signaled);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok") != std::string::npos);
  CHECK(r.out.find("FAIL") == std::string::npos);
  CHECK(r.out.find("live fiber") == std::string::npos);
}

}  // namespace

TEST_CASE("fork() from a spawned fiber: only it runs in the child, which resolves, reads and spawns") {
  expect_ok("fork_fiber", "fiber");
}

TEST_CASE("fork() from the main fiber: the child returns from main() with a clean hub") {
  expect_ok("fork_fiber", "main");
}

TEST_CASE("glibc's fork reached without the patched symbol still resets the hub (pthread_atfork)") {
  expect_ok("fork_fiber", "raw");
}

TEST_CASE("after-fork hooks run in order: prepare high to low, parent and child low to high") {
  expect_ok("fork_fiber", "hooks");
}
