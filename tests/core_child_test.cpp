// Behaviour that ends or crashes a process, checked from outside (tests/progs).
#include "test_support.hpp"

#include <csignal>

TEST_CASE("stack overflow in a fiber stops the process with a message naming the fiber") {
  // Under ASan its own SEGV handler would answer first; let greenev's handler speak.
  auto r = test::run_child("stack_overflow", {}, {"ASAN_OPTIONS=handle_segv=0:detect_leaks=0"});
  CHECK(r.signaled);
  CHECK(r.signal == SIGSEGV);
  CHECK_MESSAGE(r.out.find("greenev: stack overflow in fiber 'deep-recursion'") != std::string::npos, r.out);
  CHECK(r.out.find("not reached") == std::string::npos);
}

TEST_CASE("overflowing an unguarded slab stack is caught by its canary") {
  auto r = test::run_child("stack_overflow", {"slab"},
                           {"GREENEV_MAX_GUARDED_STACKS=0", "ASAN_OPTIONS=handle_segv=0:detect_leaks=0"});
  CHECK(r.signaled);
  CHECK(r.signal == SIGABRT);
  CHECK_MESSAGE(r.out.find("stack overflow in fiber 'deep-recursion'") != std::string::npos, r.out);
  CHECK(r.out.find("canary") != std::string::npos);
}

TEST_CASE("spawning keeps working past 32k fibers, with a one-time notice") {
  auto r = test::run_child("many_fibers", {"40000"});
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK(r.out.find("started 40000") != std::string::npos);
  CHECK(r.out.find("finished 40000") != std::string::npos);
  CHECK(r.out.find("alive 0") != std::string::npos);
  auto first = r.out.find("slab stacks");
  CHECK(first != std::string::npos);
  CHECK(r.out.find("slab stacks", first + 1) == std::string::npos);  // said once
}

TEST_CASE("an exception escaping an unjoined fiber is reported and is not fatal") {
  auto r = test::run_child("unjoined_exception");
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK(r.out.find("ticks 5") != std::string::npos);
  CHECK_MESSAGE(r.out.find("fiber 'doomed'") != std::string::npos, r.out);
  CHECK(r.out.find("kaboom") != std::string::npos);
}

TEST_CASE("fibers still alive when main returns are reported, not silently leaked") {
  auto r = test::run_child("exit_with_live_fibers");
  CHECK(r.exit_code == 0);
  CHECK_MESSAGE(r.out.find("hub exiting with 1 live fiber") != std::string::npos, r.out);
  CHECK(r.out.find("'sleeper'") != std::string::npos);
  CHECK(r.out.find("sleep") != std::string::npos);
}
