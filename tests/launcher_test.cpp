// greenev-launch end to end: real masters, real workers (tests/progs/launch_worker), curl and wrk
// as clients. Each case starts its own master in its own process group and kills the group when
// it ends (launch_support.hpp), whatever happened. Bounds are generous: the box is shared.
#include "launch_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <poll.h>
#include <sched.h>
#include <thread>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

using test::Launch;

namespace {

std::string ctl(const char* name) { return "/tmp/greenev-launch-test-" + std::string(name) + "-" + std::to_string(::getpid()) + ".sock"; }

std::string url(int port, const std::string& path = "/") { return "http://127.0.0.1:" + std::to_string(port) + path; }

}  // namespace

TEST_CASE("workers serve on the shared socket, the master runs no thread, and SIGTERM stops with exit 0") {
  auto c = ctl("basic");
  Launch l({"-w", "2", "-b", "127.0.0.1:0", "-c", c, "--", test::worker_path()});
  int port = l.port();
  REQUIRE_MESSAGE(port > 0, l.log());
  auto r = test::curl(url(port));
  CHECK(r.out.find("worker ") == 0);
  CHECK(r.out.find("fds 1") != std::string::npos);
  auto st = test::sh(test::launcher_path() + " status -c " + c);
  CHECK(st.status == 0);
  CHECK(test::worker_pids(c).size() == 2);
  CHECK(st.out.find("requests") != std::string::npos);
  // The master forks workers from a single-threaded process: nothing started a thread.
  auto tasks = test::sh("ls /proc/" + std::to_string(l.pid()) + "/task | wc -l");
  CHECK(std::atoi(tasks.out.c_str()) == 1);
  l.signal(SIGTERM);
  auto code = l.wait_exit(30);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(Launch::count(l.log(), "exited with status 0") == 2);
  CHECK(::access(c.c_str(), F_OK) != 0);  // control socket removed
}

TEST_CASE("a worker killed with SIGKILL is replaced while the other keeps serving") {
  auto c = ctl("kill9");
  Launch l({"-w", "2", "-b", "127.0.0.1:0", "-c", c, "--", test::worker_path()});
  int port = l.port();
  REQUIRE(port > 0);
  auto pids = test::worker_pids(c);
  REQUIRE(pids.size() == 2);
  auto wrk = std::thread([&] { test::sh("wrk -t1 -c4 -d3s " + url(port) + " >/dev/null 2>&1"); });
  test::nap(0.5);
  ::kill(pids[0], SIGKILL);
  // Requests keep being served right away (by the survivor, or queued for the replacement).
  int ok = 0;
  for (int i = 0; i < 10; ++i) ok += test::curl(url(port)).out.find("worker ") == 0;
  CHECK(ok == 10);
  CHECK(l.wait_log("killed by signal 9 (KILL)", 10));
  CHECK(l.wait_log(": started", 10, 3));
  wrk.join();
  auto now = test::worker_pids(c);
  CHECK(now.size() == 2);
  CHECK(std::find(now.begin(), now.end(), pids[0]) == now.end());
  CHECK(std::find(now.begin(), now.end(), pids[1]) != now.end());
}

TEST_CASE("SIGHUP during a wrk run: zero socket errors, zero non-2xx, all workers replaced") {
  auto c = ctl("hup");
  Launch l({"-w", "2", "-b", "127.0.0.1:0", "-c", c, "--boot-time", "0.3", "--", test::worker_path()});
  int port = l.port();
  REQUIRE(port > 0);
  auto before = test::worker_pids(c);
  test::CmdResult res;
  auto wrk = std::thread([&] { res = test::sh("wrk -t2 -c16 -d4s " + url(port) + " 2>&1"); });
  test::nap(1.0);
  l.signal(SIGHUP);
  wrk.join();
  INFO(res.out);
  INFO(l.log());
  CHECK(res.out.find("requests in") != std::string::npos);
  CHECK(res.out.find("Socket errors") == std::string::npos);
  CHECK(res.out.find("Non-2xx") == std::string::npos);
  CHECK(l.wait_log("reload 1 done", 10));
  auto after = test::worker_pids(c);
  CHECK(after.size() == 2);
  for (int p : before) CHECK(std::find(after.begin(), after.end(), p) == after.end());
}

TEST_CASE("SIGTERM lets slow in-flight requests complete") {
  auto c = ctl("slow");
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "-c", c, "--heartbeat-timeout", "2", "--", test::worker_path()});
  int port = l.port();
  REQUIRE(port > 0);
  std::vector<test::CmdResult> rs(3);
  std::vector<std::thread> ts;
  for (auto& r : rs) ts.emplace_back([&r, port] { r = test::curl(url(port, "/slow?ms=3000")); });
  // In flight = accepted by the worker (its heartbeat reports 3 connections), not just queued.
  bool in_flight = false;
  for (int i = 0; i < 100 && !in_flight; ++i, test::nap(0.05)) {
    auto st = test::sh(test::launcher_path() + " status -c " + c).out;
    auto row = st.find("\n0 ");
    int idx, pid, restarts, conns = 0;
    char state[32];
    double up;
    if (row != std::string::npos)
      std::sscanf(st.c_str() + row + 1, "%d %d %31s %lf %d %d", &idx, &pid, state, &up, &restarts, &conns);
    in_flight = conns == 3;
  }
  CHECK(in_flight);
  l.signal(SIGTERM);
  for (auto& t : ts) t.join();
  for (auto& r : rs) CHECK(r.out.find("worker 0") == 0);
  auto code = l.wait_exit(20);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("the graceful timeout is enforced on a worker that ignores SIGTERM") {
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "--graceful-timeout", "1", "--", test::worker_path()}, {"TW_IGNORE_TERM=1"});
  REQUIRE(l.port() > 0);
  auto t0 = std::chrono::steady_clock::now();
  l.signal(SIGTERM);
  auto code = l.wait_exit(20);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15));
  CHECK(l.log().find("after the graceful timeout: SIGKILL") != std::string::npos);
}

TEST_CASE("a worker that dies at boot every time stops the master with the reason and a non-zero exit") {
  Launch l({"-w", "2", "-b", "127.0.0.1:0", "--backoff-min", "0.01", "--", test::worker_path()}, {"TW_BOOT_EXIT=3"});
  auto code = l.wait_exit(60);
  REQUIRE(code.has_value());
  CHECK(*code != 0);
  auto log = l.log();
  INFO(log);
  CHECK(log.find("failed at boot 5 times in a row (last: exited with status 3") != std::string::npos);
  CHECK(log.find("giving up") != std::string::npos);
}

TEST_CASE("a worker whose hub hangs is aborted, restarted, and the log names the running fiber") {
  auto c = ctl("hang");
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "-c", c, "--heartbeat-timeout", "1", "--", test::worker_path()});
  int port = l.port();
  REQUIRE(port > 0);
  auto before = test::worker_pids(c);
  test::curl(url(port, "/spin"), "-m 1");
  CHECK(l.wait_log("hung; sending SIGABRT", 20));
  CHECK(l.wait_log("SIGABRT report: fiber 'spin-handler'", 10));
  // ... and its symbolized stack: the spinning handler's frames are in the worker's executable.
  CHECK(l.wait_log("backtrace of the running code", 10));
  CHECK(l.wait_log("launch_worker)", 10));
  CHECK(l.wait_log("killed by signal 6 (ABRT)", 10));
  CHECK(l.wait_log(": started", 10, 2));
  CHECK(l.wait_log("serving", 10, 2));
  auto r = test::curl(url(port));
  CHECK(r.out.find("worker 0") == 0);
  std::vector<int> after;
  for (int i = 0; i < 100 && after.empty(); ++i, test::nap(0.1)) after = test::worker_pids(c);  // booted
  REQUIRE(after.size() == 1);
  CHECK(after[0] != before.at(0));
}

TEST_CASE("--max-requests with jitter recycles each worker between N and N+jitter requests, losing none") {
  auto c = ctl("maxreq");
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "-c", c, "--max-requests", "5", "--max-requests-jitter", "20", "--",
            test::worker_path()});
  int port = l.port();
  REQUIRE(port > 0);
  int ok = 0, sent = 0;
  // The master checks the count at each heartbeat, so a worker may serve a few past its limit.
  for (; sent < 600 && Launch::count(l.log(), "replacing (served ") < 4; ++sent)
    ok += test::curl(url(port)).out.find("worker ") == 0;
  CHECK(ok == sent);
  const std::string log = l.log();
  INFO(log);
  std::vector<unsigned long> limits;
  for (auto p = log.find("replacing (served "); p != std::string::npos; p = log.find("replacing (served ", p + 1))
    limits.push_back(std::strtoul(log.c_str() + log.find(", max ", p) + 6, nullptr, 10));
  REQUIRE(limits.size() >= 4);
  for (unsigned long m : limits) {
    CHECK(m >= 5);
    CHECK(m <= 25);
  }
  // Jitter: four limits drawn from 21 values are all equal with probability 1/9261.
  CHECK(std::adjacent_find(limits.begin(), limits.end(), std::not_equal_to<>()) != limits.end());
  l.signal(SIGTERM);
  auto code = l.wait_exit(30);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("systemd socket activation: LISTEN_FDS adopted, sd_notify READY/STATUS/STOPPING sent") {
  // Play systemd: a listening socket at fd 3 with LISTEN_PID = the launcher's pid, and a datagram
  // NOTIFY_SOCKET we read back.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(lfd, 64) == 0);
  socklen_t al = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &al);
  const int port = ntohs(a.sin_port);
  const int high = ::dup2(lfd, 9);  // out of the way of fd 3 (which the shell fills); dash: one digit
  ::close(lfd);
  lfd = high;
  std::string npath = "/tmp/greenev-launch-test-notify-" + std::to_string(::getpid());
  ::unlink(npath.c_str());
  int nfd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, npath.c_str());
  REQUIRE(::bind(nfd, reinterpret_cast<sockaddr*>(&un), sizeof un) == 0);
  // Launch can't place fd 3 itself: run through a shell that does, with LISTEN_PID=$$ (exec keeps it).
  std::string shell = "exec 3<&" + std::to_string(lfd) + " " + std::to_string(lfd) + "<&-; LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web NOTIFY_SOCKET=" +
                      npath + " exec " + test::launcher_path() + " -w 1 -- " + test::worker_path();
  Launch l({}, {}, {"/bin/sh", "-c", shell, "--"});
  ::close(lfd);
  std::string got;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got.find("READY=1") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{nfd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buf[512];
      ssize_t n = ::recv(nfd, buf, sizeof buf, 0);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n)).append("\n");
    }
  }
  INFO(got);
  INFO(l.log());
  CHECK(got.find("MAINPID=") != std::string::npos);
  CHECK(got.find("READY=1") != std::string::npos);
  CHECK(l.log().find("on web") != std::string::npos);
  auto r = test::curl(url(port));
  CHECK(r.out.find("worker 0") == 0);
  CHECK(r.out.find("fds 1") != std::string::npos);
  l.signal(SIGTERM);
  auto code = l.wait_exit(20);
  CHECK(code == std::optional<int>(0));
  for (;;) {
    char buf[512];
    ssize_t n = ::recv(nfd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n)).append("\n");
  }
  CHECK(got.find("STATUS=1/1 workers serving") != std::string::npos);
  CHECK(got.find("STOPPING=1") != std::string::npos);
  ::close(nfd);
  ::unlink(npath.c_str());
}

TEST_CASE("the default worker count follows the CPU affinity (taskset)") {
  Launch one({"-b", "127.0.0.1:0", "--", test::worker_path()}, {}, {"taskset", "-c", "0"});
  CHECK(one.wait_log("starting 1 worker(s)", 10));
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  const int mine = CPU_COUNT(&set);
  Launch all({"-b", "127.0.0.1:0", "--", test::worker_path()});
  // cgroup cpu.max may lower it further; never above the affinity mask.
  CHECK(all.wait_log("starting ", 10));
  int n = 0;
  auto log = all.log();
  std::sscanf(log.c_str() + log.find("starting ") + 9, "%d", &n);
  CHECK(n >= 1);
  CHECK(n <= mine);
}

TEST_CASE("SIGTTIN adds a worker and SIGTTOU retires one") {
  auto c = ctl("ttin");
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "-c", c, "--", test::worker_path()});
  REQUIRE(l.port() > 0);
  l.signal(SIGTTIN);
  CHECK(l.wait_log("SIGTTIN: 2 worker(s)", 10));
  CHECK(l.wait_log("worker 1 pid", 10));
  bool two = false;
  for (int i = 0; i < 100 && !two; ++i, test::nap(0.1)) two = test::worker_pids(c).size() == 2;
  CHECK(two);
  l.signal(SIGTTOU);
  CHECK(l.wait_log("SIGTTOU: 1 worker(s)", 10));
  CHECK(l.wait_log("(retired)", 15));
  CHECK(test::worker_pids(c).size() == 1);
  l.signal(SIGTTOU);  // never below one
  CHECK(l.wait_log("SIGTTOU ignored", 10));
}

TEST_CASE("a unix socket address is bound, served, and removed at stop") {
  std::string path = "/tmp/greenev-launch-test-unix-" + std::to_string(::getpid()) + ".sock";
  Launch l({"-w", "1", "-b", "unix:" + path, "--", test::worker_path()});
  REQUIRE(l.wait_log("worker(s) ready", 10));
  auto r = test::curl("http://localhost/", "--unix-socket " + path);
  CHECK(r.out.find("worker 0") == 0);
  l.signal(SIGTERM);
  CHECK(l.wait_exit(20) == std::optional<int>(0));
  CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("workers drop to --user after the master has bound (root only)") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: not root");
    return;
  }
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "-u", "nobody", "--", test::worker_path()});
  int port = l.port();
  REQUIRE_MESSAGE(port > 0, l.log());
  auto r = test::curl(url(port));
  CHECK(r.out.find("uid 65534") != std::string::npos);
}

TEST_CASE("as PID 1 in a pid namespace the master reaps orphans and stops on request") {
  if (test::sh("unshare --pid --fork --mount-proc true 2>/dev/null").status != 0) {
    MESSAGE("skipped: unshare --pid not permitted here");
    return;
  }
  auto c = ctl("pid1");
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "-c", c, "--", test::worker_path()}, {},
           {"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"});
  int port = l.port();
  REQUIRE_MESSAGE(port > 0, l.log());
  CHECK(l.log().find("as PID 1") != std::string::npos);
  test::curl(url(port, "/orphan"));
  CHECK(l.wait_log("reaped orphan pid", 10));
  auto r = test::sh(test::launcher_path() + " stop -c " + c);
  CHECK(r.out.find("stopping") == 0);
  CHECK(l.wait_exit(20) == std::optional<int>(0));
}

TEST_CASE("a pid file is written, refused to a second master, and removed at stop") {
  std::string pidf = "/tmp/greenev-launch-test-" + std::to_string(::getpid()) + ".pid";
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "-p", pidf, "--", test::worker_path()});
  REQUIRE(l.port() > 0);
  auto content = test::sh("cat " + pidf);
  CHECK(std::atoi(content.out.c_str()) == l.pid());
  Launch second({"-w", "1", "-b", "127.0.0.1:0", "-p", pidf, "--", test::worker_path()});
  auto code = second.wait_exit(10);
  CHECK(code.has_value());
  CHECK(code != std::optional<int>(0));
  CHECK(second.log().find("names a live process") != std::string::npos);
  l.signal(SIGTERM);
  CHECK(l.wait_exit(20) == std::optional<int>(0));
  CHECK(::access(pidf.c_str(), F_OK) != 0);
}

TEST_CASE("a program that is not there is reported before anything starts") {
  Launch l({"-w", "1", "-b", "127.0.0.1:0", "--", "/nonexistent/prog"});
  auto code = l.wait_exit(10);
  REQUIRE(code.has_value());
  CHECK(*code != 0);
  CHECK(l.log().find("cannot execute /nonexistent/prog") != std::string::npos);
}

TEST_CASE("--metrics serves the workers' summed counters in the Prometheus format") {
  Launch l({"-w", "2", "-b", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--heartbeat-timeout", "2", "--", test::worker_path()});
  int port = l.port();
  REQUIRE(port > 0);
  auto log = l.log();
  auto p = log.find("metrics on http://");
  REQUIRE(p != std::string::npos);
  std::string murl = log.substr(p + 11, log.find('\n', p) - p - 11);
  for (int i = 0; i < 7; ++i) test::curl(url(port));
  long total = 0;
  std::string body;
  for (int i = 0; i < 100 && total < 7; ++i, test::nap(0.1)) {
    body = test::curl(murl).out;
    auto q = body.find("\ngreenev_requests_total ");
    total = q == std::string::npos ? 0 : std::atol(body.c_str() + q + 24);
  }
  INFO(body);
  CHECK(total == 7);
  CHECK(body.find("# TYPE greenev_requests_total counter") != std::string::npos);
  CHECK(body.find("greenev_launcher_workers 2") != std::string::npos);
  CHECK(Launch::count(body, "greenev_worker_requests{index=") == 2);
}

TEST_CASE("launch(): forked workers serve, a killed one is replaced, SIGHUP reloads and SIGTERM exits 0") {
  auto c = ctl("lib");
  std::string lib = std::string(GREENEV_PROGS_DIR) + "/launch_lib";
  Launch l({"127.0.0.1:0", "2"}, {"LL_CONTROL=" + c}, {}, lib);
  int port = l.port();
  REQUIRE_MESSAGE(port > 0, l.log());
  auto r = test::curl(url(port));
  CHECK(r.out.find("lib worker ") == 0);
  auto tasks = test::sh("ls /proc/" + std::to_string(l.pid()) + "/task | wc -l");
  CHECK(std::atoi(tasks.out.c_str()) == 1);
  auto pids = test::worker_pids(c);
  REQUIRE(pids.size() == 2);
  ::kill(pids[0], SIGKILL);
  CHECK(l.wait_log("killed by signal 9", 10));
  CHECK(l.wait_log(": started", 10, 3));
  for (int i = 0; i < 5; ++i) CHECK(test::curl(url(port)).out.find("lib worker ") == 0);
  test::CmdResult res;
  auto wrk = std::thread([&] { res = test::sh("wrk -t1 -c8 -d3s " + url(port) + " 2>&1"); });
  test::nap(0.8);
  l.signal(SIGHUP);
  wrk.join();
  INFO(res.out);
  INFO(l.log());
  CHECK(res.out.find("Socket errors") == std::string::npos);
  CHECK(res.out.find("Non-2xx") == std::string::npos);
  CHECK(l.wait_log("reload 1 done", 10));
  // Counters come from StreamServer through the heartbeat.
  auto st = test::sh(test::launcher_path() + " status -c " + c).out;
  CHECK(st.find("running") != std::string::npos);
  l.signal(SIGTERM);
  CHECK(l.wait_exit(30) == std::optional<int>(0));
  CHECK(::access(c.c_str(), F_OK) != 0);
}

#ifdef GREENEV_HTTP
TEST_CASE("greenev-http under greenev-launch: SIGHUP twice during wrk, zero socket errors and non-2xx") {
  auto c = ctl("http");
  Launch l({"-w", "2", "-b", "127.0.0.1:0", "-c", c, "--boot-time", "0.3", "--", GREENEV_HTTP});
  int port = l.port();
  REQUIRE_MESSAGE(port > 0, l.log());
  CHECK(test::curl(url(port)).out == "Hello, world!\n");
  test::CmdResult res;
  auto wrk = std::thread([&] { res = test::sh("wrk -t2 -c16 -d5s " + url(port) + " 2>&1"); });
  test::nap(1.0);
  l.signal(SIGHUP);
  CHECK(l.wait_log("reload 1 done", 10));
  l.signal(SIGHUP);
  wrk.join();
  INFO(res.out);
  INFO(l.log());
  CHECK(res.out.find("requests in") != std::string::npos);
  CHECK(res.out.find("Socket errors") == std::string::npos);
  CHECK(res.out.find("Non-2xx") == std::string::npos);
  CHECK(l.wait_log("reload 2 done", 10));
  // StreamServer's counters reach the status through the heartbeat.
  long served = 0;
  for (int i = 0; i < 40 && served == 0; ++i, test::nap(0.1)) {
    test::curl(url(port));
    auto st = test::sh(test::launcher_path() + " status -c " + c).out;
    auto row = st.find("\n0 ");
    int idx, pid, restarts;
    char state[32], conns[32];
    double up;
    if (row != std::string::npos)
      std::sscanf(st.c_str() + row + 1, "%d %d %31s %lf %d %31s %ld", &idx, &pid, state, &up, &restarts, conns, &served);
  }
  CHECK(served > 0);
  l.signal(SIGTERM);
  CHECK(l.wait_exit(30) == std::optional<int>(0));
}
#endif
