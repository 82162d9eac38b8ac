// Child program: fork() while other threads hammer the hub inbox mutex (posts to main's hub) and
// the slab-stack mutexes (spawning fibers on slab stacks). Each forked child posts to its own hub
// and starts a slab-stack fiber: it must not deadlock on a mutex another thread held at the fork.
// Prints "forks N hangs H"; H must be 0. Run with GREENEV_MAX_GUARDED_STACKS=0.
#include <greenev/greenev.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  greenev::HubHandle main_hub = greenev::HubHandle::current();
  std::atomic<bool> stop{false};
  std::atomic<long> posted{0};
  std::thread poster([&] {
    while (!stop.load()) {
      main_hub.post([] {});
      posted.fetch_add(1);
      std::this_thread::sleep_for(20us);  // a plain thread: the real nanosleep
    }
  });
  std::thread spawner([&] {
    while (!stop.load()) {
      std::vector<greenev::Fiber<void>> fs;
      for (int i = 0; i < 1100; ++i)  // past the warm pool: stacks go back to the slab lists
        fs.push_back(greenev::spawn(greenev::SpawnOptions{"s", 32 * 1024}, [] {}));
      for (auto& f : fs) f.join();
    }
  });
  const int kForks = 60;
  int hangs = 0;
  for (int i = 0; i < kForks; ++i) {
    std::this_thread::sleep_for(2ms);
    pid_t pid = fork();
    if (pid == 0) {
      greenev::HubHandle::current().post([] {});
      auto f = greenev::spawn(greenev::SpawnOptions{"child", 32 * 1024}, [] { return 1; });
      greenev::sleep(1ms);  // drains the inbox
      _exit(f.join() == 1 ? 0 : 3);
    }
    int st = 0;
    bool done = false;
    for (int t = 0; t < 500 && !done; ++t) {  // 5 s
      if (waitpid(pid, &st, WNOHANG) == pid) done = true;
      else std::this_thread::sleep_for(10ms);
    }
    if (!done) {
      ++hangs;
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
    }
    greenev::sleep(0ms);  // main drains its inbox now and then
  }
  stop = true;
  poster.join();
  spawner.join();
  greenev::sleep(1ms);
  std::printf("forks %d hangs %d\n", kForks, hangs);
  return 0;
}
