// Thread-confinement checks, seen from outside: a hub-confined primitive used from another
// thread aborts with one line naming the primitive, the operation and both threads.
#include "test_support.hpp"

#include <csignal>

namespace {
void expect_abort(const char* mode, const char* what) {
  auto r = test::run_child("embed_confined", {mode}, {"ASAN_OPTIONS=detect_leaks=0"});
  CHECK_MESSAGE(r.signaled, r.out);
  CHECK(r.signal == SIGABRT);
  CHECK_MESSAGE(r.out.find(what) != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("on thread ") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("'intruder'") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("belongs to thread ") != std::string::npos, r.out);
  CHECK_MESSAGE(r.out.find("'owner-main'") != std::string::npos, r.out);
  CHECK(r.out.find("not reached") == std::string::npos);
}
}  // namespace

TEST_CASE("an Event used from another thread aborts naming it and both threads") {
  expect_abort("event", "Event::set called on thread");
}

TEST_CASE("a Queue used from another thread aborts naming it and both threads") {
  expect_abort("queue", "Queue::try_get called on thread");
}

TEST_CASE("a Mutex used from another thread aborts naming it and both threads") {
  expect_abort("mutex", "Mutex::try_lock called on thread");
}

TEST_CASE("Semaphore, Condition, RecursiveMutex, Pool and AsyncResult used from another thread abort too") {
  expect_abort("semaphore", "Semaphore::release called on thread");
  expect_abort("condition", "Condition::notify_one called on thread");
  expect_abort("recursive", "RecursiveMutex::try_lock called on thread");
  expect_abort("pool", "Group::spawn called on thread");
  expect_abort("result", "AsyncResult::set called on thread");
}

TEST_CASE("a Fiber handle joined from another thread aborts naming the fiber and both threads") {
  expect_abort("fiber", "Fiber::join (fiber ");
  auto r = test::run_child("embed_confined", {"fiber"}, {"ASAN_OPTIONS=detect_leaks=0"});
  CHECK_MESSAGE(r.out.find("'sleeper')") != std::string::npos, r.out);
}

TEST_CASE("cross_thread Events and ThreadQueue are not confined; a fork child keeps its objects") {
  auto r = test::run_child("embed_confined", {"allowed"});
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK(r.out.find("allowed ok") != std::string::npos);
  auto f = test::run_child("embed_confined", {"fork"});
  CHECK_MESSAGE(f.exit_code == 0, f.out);
  CHECK(f.out.find("fork ok") != std::string::npos);
}

TEST_CASE("a program that loads libgreenev late with dlopen can use it on two threads") {
  auto r = test::run_child("late_dlopen");
  CHECK_MESSAGE(r.exit_code == 0, r.out);
  CHECK_MESSAGE(r.out.find("late dlopen ok") != std::string::npos, r.out);
}
