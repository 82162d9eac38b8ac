// Child program: fork() after the thread pool ran, and fork() while work is in flight and another
// thread keeps the pool busy. Every child must be able to use run_blocking within 2 s (alarm
// kills it otherwise), and a fiber whose job was in flight at the fork must wake in the child
// with ECANCELED instead of hanging. Prints "ok" and exits 0 when all is well.
//   args: after | busy
#include <greenev/greenev.hpp>
#include <greenev/threadpool.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

static int fail(const char* what) {
  std::fprintf(stderr, "FAIL: %s\n", what);
  return 1;
}

// In the child: the pool works again (fresh threads) within 2 s.
static int child_checks(greenev::Fiber<int>* in_flight) {
  alarm(2);
  const pid_t me = getpid();
  if (greenev::run_blocking([] { return getpid(); }) != me) return 10;
  int sum = 0;
  std::vector<greenev::Fiber<int>> fs;
  for (int i = 0; i < 8; ++i) fs.push_back(greenev::spawn([i] { return greenev::run_blocking([i] { return i; }); }));
  for (auto& f : fs) sum += f.join();
  if (sum != 28) return 11;
  if (in_flight) {  // its job ran on a thread that does not exist here
    try {
      in_flight->join();
      return 12;
    } catch (const std::system_error& e) {
      if (e.code().value() != ECANCELED) return 13;
    }
  }
  return 0;
}

static int wait_child(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFSIGNALED(st)) {
    std::fprintf(stderr, "child killed by signal %d\n", WTERMSIG(st));
    return -1;
  }
  return WEXITSTATUS(st);
}

int main(int argc, char** argv) {
  const bool busy = argc > 1 && std::strcmp(argv[1], "busy") == 0;
  for (int i = 0; i < 4; ++i)
    if (greenev::run_blocking([i] { return i * 2; }) != i * 2) return fail("warm-up");

  if (!busy) {
    pid_t pid = fork();
    if (pid == 0) _exit(child_checks(nullptr));
    int rc = wait_child(pid);
    if (rc != 0) {
      std::fprintf(stderr, "child exit %d\n", rc);
      return fail("child");
    }
    if (greenev::run_blocking([] { return 5; }) != 5) return fail("parent after fork");
    std::puts("ok");
    return 0;
  }

  // busy: another thread's hub hammers the pool while this one forks repeatedly, with a job of
  // this hub in flight each time.
  std::atomic<bool> stop{false};
  std::atomic<long> calls{0};
  std::thread hammer([&] {
    std::vector<greenev::Fiber<void>> fs;
    for (int f = 0; f < 4; ++f)
      fs.push_back(greenev::spawn([&] {
        while (!stop.load(std::memory_order_relaxed)) {
          greenev::run_blocking([] {});
          ++calls;
        }
      }));
    for (auto& f : fs) f.join();
  });
  for (int round = 0; round < 20; ++round) {
    auto in_flight = greenev::spawn([] { return greenev::run_blocking([] { std::this_thread::sleep_for(300ms); return 1; }); });
    greenev::sleep(2ms);  // it is now waiting on a worker
    pid_t pid = fork();
    if (pid == 0) _exit(child_checks(&in_flight));
    int rc = wait_child(pid);
    if (rc != 0) {
      std::fprintf(stderr, "round %d: child exit %d\n", round, rc);
      stop = true;
      hammer.join();
      return fail("busy child");
    }
    if (round % 5 == 0 && in_flight.join() != 1) return fail("parent's in-flight job");
    in_flight.kill();
  }
  stop = true;
  hammer.join();
  if (calls.load() == 0) return fail("hammer made no calls");
  std::puts("ok");
  return 0;
}
