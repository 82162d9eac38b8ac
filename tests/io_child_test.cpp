// Cooperative I/O behaviours that touch process-wide state, run as child programs (tests/progs/io_*).
#include "test_support.hpp"

TEST_CASE("SIGPIPE never kills: writes to a closed socket or pipe return EPIPE") {
  auto r = test::run_child("io_sigpipe");
  INFO(r.out);
  CHECK_FALSE(r.signaled);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("sigpipe: ok") != std::string::npos);
  test::require_hub_clean();
}

TEST_CASE("a 1 ms SIGALRM storm during 10k patched operations: every call completes") {
  auto r = test::run_child("io_signal_storm");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("storm: ok") != std::string::npos);
  test::require_hub_clean();
}

TEST_CASE("a program linked against greenev_static still has working patches") {
  auto r = test::run_child("io_static");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("static: ok") != std::string::npos);
  test::require_hub_clean();
}

TEST_CASE("GREENEV_PATCHES=0 turns the patches off; set_enabled(true) turns them on") {
  auto r = test::run_child("io_patches_off", {}, {"GREENEV_PATCHES=0"});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("patches_off: ok") != std::string::npos);
  test::require_hub_clean();
}
