// The fd table's state machine and the POSIX semantics of the socket/fd patches (issues 7, 8 and 14):
// each case runs as a child program (tests/progs/fd_cases.cpp) bounded by its own alarm, so a
// hang fails as a SIGALRM death instead of stalling the suite.
#include "test_support.hpp"

namespace {
void run_case(const char* name) {
  auto r = test::run_child("fd_cases", {name});
  INFO(name, "\n", r.out);
  CHECK_FALSE(r.signaled);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(std::string(name) + ": ok") != std::string::npos);
}
}  // namespace

TEST_CASE("a number closed by fclose(fdopen()) and reused: a fiber reading the new socket wakes") {
  run_case("unseen_close_fclose");
}
TEST_CASE("a number closed by syscall(SYS_close) and reused: a fiber reading the new socket wakes") {
  run_case("unseen_close_syscall");
}
TEST_CASE("a number closed by close_range and reused: a fiber reading the new socket wakes") {
  run_case("unseen_close_close_range");
}
TEST_CASE("a number closed on a plain std::thread and reused: a fiber reading the new socket wakes") {
  run_case("unseen_close_thread");
}
TEST_CASE("a number closed inside run_blocking and reused: a fiber reading the new socket wakes") {
  run_case("unseen_close_run_blocking");
}
TEST_CASE("close() on another thread wakes the fiber parked on the fd with EBADF") { run_case("cross_thread_close"); }
TEST_CASE("O_NONBLOCK set through a dup() copy shows on the original, whose read returns EAGAIN") {
  run_case("dup_nonblock");
}
TEST_CASE("SO_RCVTIMEO is honoured on a plain thread for a socket greenev made non-blocking") {
  run_case("rcvtimeo_thread");
}
TEST_CASE("SO_SNDTIMEO bounds a blocking connect on a plain thread (EINPROGRESS)") {
  run_case("sndtimeo_connect_thread");
}
TEST_CASE("timeouts inherited by accept or set by a raw syscall are honoured in a fiber") {
  run_case("rcvtimeo_inherited");
}
TEST_CASE("MSG_WAITALL on datagram and seqpacket sockets returns one message") { run_case("waitall_dgram"); }
TEST_CASE("MSG_PEEK|MSG_WAITALL waits for the whole count and never duplicates data") { run_case("peek_waitall"); }
TEST_CASE("recvmsg with MSG_WAITALL returns the full count") { run_case("recvmsg_waitall"); }
TEST_CASE("reads on thousands of distinct invalid fds do not grow memory") { run_case("invalid_fds"); }
TEST_CASE("open()/fopen() reset the entry of a number closed behind greenev's back") { run_case("open_reuse"); }
TEST_CASE("two hub threads preparing one new fd never make it look non-blocking") { run_case("prepare_race"); }
TEST_CASE("errno set before a parking read on fd 0 survives it") { run_case("errno_shared"); }
TEST_CASE("close() from a signal handler wakes the fiber waiting on the fd") { run_case("close_in_handler"); }
