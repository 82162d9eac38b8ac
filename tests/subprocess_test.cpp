// Subprocess, check_output, and the patched waitpid/system from fibers (issue 8).
// Every child started here is reaped before its test case ends (the zombie checks look at /proc).
#include "test_support.hpp"

#include <greenev/subprocess.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>

using namespace std::chrono_literals;

namespace {

// A pid that has been reaped has no /proc entry (a zombie still has one, state Z).
bool proc_entry_exists(pid_t pid) {
  struct stat st;
  return ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

greenev::SubprocessOptions piped(std::vector<std::string> argv) {
  greenev::SubprocessOptions o;
  o.argv = std::move(argv);
  o.in = greenev::Stdio::pipe();
  o.out = greenev::Stdio::pipe();
  o.err = greenev::Stdio::pipe();
  return o;
}

}  // namespace

TEST_CASE("children are watched through pidfds on this kernel, by polling when switched off") {
  const char* v = std::getenv("GREENEV_PIDFD");
  const bool off = v && std::string(v) == "0";
  CHECK(std::string(greenev::child_watch_method()) == (off ? "poll" : "pidfd"));
}

TEST_CASE("Subprocess passes argv, env and cwd and returns the exit status") {
  auto o = piped({"sh", "-c", "echo \"$FOO\"; pwd; echo oops >&2; exit 3"});
  o.env = std::vector<std::string>{"FOO=bar baz", "PATH=/usr/bin:/bin"};
  o.cwd = "/tmp";
  greenev::Subprocess p(std::move(o));
  auto r = p.communicate();
  CHECK(r.out == "bar baz\n/tmp\n");
  CHECK(r.err == "oops\n");
  CHECK(r.returncode == 3);
  CHECK(p.exited());
  CHECK(p.exit_status() == 3);
  CHECK_FALSE(proc_entry_exists(p.pid()));
  test::require_hub_clean();
}

TEST_CASE("communicate moves 10 MiB each way without deadlock while the hub keeps ticking") {
  std::string input(10 << 20, '\0');
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>('a' + i % 23);
  test::Ticker ticker(2ms);
  // tee writes everything to stdout and to stderr while we are still writing stdin.
  greenev::Subprocess p(piped({"sh", "-c", "tee /dev/stderr"}));
  auto r = p.communicate(input);
  ticker.stop();
  CHECK(r.returncode == 0);
  CHECK(r.out.size() == input.size());
  CHECK(r.err.size() == input.size());
  CHECK(r.out == input);
  CHECK(ticker.ticks() > 3);
  test::require_hub_clean();
}

TEST_CASE("wait with a timeout, terminate, kill and send_signal report the signal") {
  greenev::Subprocess p({"sleep", "10"});
  CHECK_FALSE(p.poll());
  CHECK_FALSE(p.wait(50ms));
  p.terminate();
  CHECK(p.wait() == -SIGTERM);
  CHECK(p.signaled());
  CHECK(p.term_signal() == SIGTERM);
  p.kill();  // reaped: a no-op, never a signal to a recycled pid

  greenev::Subprocess q({"sleep", "10"});
  q.send_signal(SIGUSR1);
  CHECK(q.wait() == -SIGUSR1);
  greenev::Subprocess k({"sleep", "10"});
  k.kill();
  CHECK(k.wait(5s) == -SIGKILL);
  test::require_hub_clean();
}

TEST_CASE("communicate past its deadline throws SubprocessTimeout with the output so far") {
  greenev::Subprocess p(piped({"sh", "-c", "echo first; sleep 10"}));
  try {
    p.communicate({}, 300ms);
    FAIL("no timeout");
  } catch (const greenev::SubprocessTimeout& t) {
    CHECK(t.out == "first\n");
  }
  CHECK_FALSE(p.returncode());
  p.kill();
  CHECK(p.wait() == -SIGKILL);
  test::require_hub_clean();
}

TEST_CASE("a Timeout scope interrupts Subprocess::wait with TimeoutError") {
  greenev::Subprocess p({"sleep", "10"});
  CHECK_THROWS_AS(([&] {
                    greenev::Timeout t(100ms);
                    p.wait();
                  }()),
                  greenev::TimeoutError);
  p.kill();
  p.wait();
  test::require_hub_clean();
}

TEST_CASE("a missing program fails in the constructor with ENOENT") {
  try {
    greenev::Subprocess p({"/nonexistent/greenev-no-such-program"});
    FAIL("spawned");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == ENOENT);
    CHECK(std::string(e.what()).find("greenev-no-such-program") != std::string::npos);
  }
}

TEST_CASE("the destructor of a running Subprocess kills and reaps it: no zombie") {
  pid_t pid;
  auto t0 = std::chrono::steady_clock::now();
  {
    greenev::Subprocess p({"sleep", "30"});
    pid = p.pid();
    CHECK(proc_entry_exists(pid));
  }
  CHECK_FALSE(proc_entry_exists(pid));
  CHECK(test::ms_since(t0) < 5000);
  test::require_hub_clean();
}

TEST_CASE("check_output returns stdout and throws with stderr in the message") {
  CHECK(greenev::check_output({"echo", "hello"}) == "hello\n");
  CHECK(greenev::check_output({"cat"}, "piped input") == "piped input");
  try {
    greenev::check_output({"sh", "-c", "echo partial; echo 'disk on fire' >&2; exit 4"});
    FAIL("no throw");
  } catch (const greenev::CalledProcessError& e) {
    CHECK(e.returncode == 4);
    CHECK(e.out == "partial\n");
    CHECK(std::string(e.what()).find("disk on fire") != std::string::npos);
    CHECK(std::string(e.what()).find("status 4") != std::string::npos);
  }
  CHECK_THROWS_AS(greenev::check_output({"sh", "-c", "kill -9 $$"}), greenev::CalledProcessError);
  CHECK(greenev::call({"true"}) == 0);
  test::require_hub_clean();
}

TEST_CASE("stdin from /dev/null, extra fds passed, new session and process group") {
  greenev::SubprocessOptions o;
  o.argv = {"cat"};
  o.in = greenev::Stdio::devnull();
  o.out = greenev::Stdio::pipe();
  greenev::Subprocess cat(std::move(o));
  auto r = cat.communicate();
  CHECK(r.out.empty());
  CHECK(r.returncode == 0);

  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  const int passed = ::fcntl(p[1], F_DUPFD_CLOEXEC, 40);
  ::close(p[1]);
  greenev::SubprocessOptions e;
  e.argv = {"sh", "-c", "echo via-40 > /proc/self/fd/40"};
  e.pass_fds = {passed};
  greenev::Subprocess writer(std::move(e));
  ::close(passed);
  CHECK(writer.wait() == 0);
  char buf[32] = {};
  CHECK(::read(p[0], buf, sizeof buf) == 7);
  CHECK(std::string(buf) == "via-40\n");
  ::close(p[0]);

  greenev::SubprocessOptions s;
  s.argv = {"sleep", "10"};
  s.new_session = true;
  greenev::Subprocess sess(std::move(s));
  greenev::SubprocessOptions g;
  g.argv = {"sleep", "10"};
  g.new_process_group = true;
  greenev::Subprocess grp(std::move(g));
  greenev::sleep(50ms);  // let posix_spawn's child finish setsid/setpgid (it has: spawn returned)
  CHECK(::getsid(sess.pid()) == sess.pid());
  CHECK(::getpgid(grp.pid()) == grp.pid());
  CHECK(::getpgid(grp.pid()) != ::getpgrp());
  test::require_hub_clean();
}

TEST_CASE("50 fibers each running sleep 0.2 through system() and waitpid() overlap; a ticker keeps ticking") {
  test::Ticker ticker(5ms);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<greenev::Fiber<int>> fs;
  for (int i = 0; i < 25; ++i) fs.push_back(greenev::spawn([] { return std::system("sleep 0.2"); }));
  for (int i = 0; i < 25; ++i)
    fs.push_back(greenev::spawn([] {
      pid_t pid;
      char sl[] = "sleep", arg[] = "0.2";
      char* argv[] = {sl, arg, nullptr};
      if (posix_spawnp(&pid, "sleep", nullptr, nullptr, argv, environ) != 0) return -1;
      int st = -1;
      if (::waitpid(pid, &st, 0) != pid) return -2;
      return st;
    }));
  for (auto& f : fs) CHECK(f.join() == 0);
  const double ms = test::ms_since(t0);
  ticker.stop();
  MESSAGE("50 x sleep 0.2 took ", ms, " ms");
  CHECK(ms < 5000);  // one after another: 10 s
  CHECK(ticker.ticks() > 10);
  test::require_hub_clean();
}

TEST_CASE("waitpid results are never taken from the application") {
  // The application's own child, spawned behind greenev's back.
  pid_t app;
  char sh[] = "sh", c[] = "-c", cmd[] = "sleep 0.3; exit 7";
  char* argv[] = {sh, c, cmd, nullptr};
  REQUIRE(posix_spawnp(&app, "sh", nullptr, nullptr, argv, environ) == 0);
  // greenev's own children come and go meanwhile.
  for (int i = 0; i < 3; ++i) CHECK(greenev::Subprocess({"true"}).wait() == 0);
  CHECK(std::system("exit 2") == W_EXITCODE(2, 0));
  greenev::sleep(400ms);  // the app's child has exited by now: only its parent may reap it
  CHECK(proc_entry_exists(app));
  // waitpid(-1) from a fiber sees it (cooperatively: polled) with its own status.
  test::Ticker ticker(2ms);
  int st = 0;
  const pid_t got = greenev::spawn([&] { return ::waitpid(-1, &st, 0); }).join();
  ticker.stop();
  CHECK(got == app);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 7);
  CHECK(::waitpid(-1, &st, WNOHANG) == -1);  // nothing left
  CHECK(errno == ECHILD);
  test::require_hub_clean();
}

TEST_CASE("waitpid(-1) from a fiber waits cooperatively while another fiber ticks") {
  pid_t app;
  char sl[] = "sleep", arg[] = "0.3";
  char* argv[] = {sl, arg, nullptr};
  REQUIRE(posix_spawnp(&app, "sleep", nullptr, nullptr, argv, environ) == 0);
  test::Ticker ticker(5ms);
  int st = 0;
  CHECK(::wait(&st) == app);
  ticker.stop();
  CHECK(ticker.ticks() > 10);
  siginfo_t info{};
  CHECK(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == -1);
  test::require_hub_clean();
}

TEST_CASE("waitid on a pid and on a pidfd park cooperatively") {
  pid_t app;
  char sh[] = "sh", c[] = "-c", cmd[] = "sleep 0.2; exit 5";
  char* argv[] = {sh, c, cmd, nullptr};
  REQUIRE(posix_spawnp(&app, "sh", nullptr, nullptr, argv, environ) == 0);
  test::Ticker ticker(5ms);
  siginfo_t info{};
  CHECK(::waitid(P_PID, static_cast<id_t>(app), &info, WEXITED) == 0);
  ticker.stop();
  CHECK(info.si_pid == app);
  CHECK(info.si_status == 5);
  CHECK(ticker.ticks() > 5);
  test::require_hub_clean();
}
