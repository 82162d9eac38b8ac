// Child program: fibers still alive when their hub goes are killed and unwound, and reported with
// a count that matches the list (main is never listed).
//   (none)     main returns while 'sleeper' and 'waiter' are parked -> report with 2, both listed,
//              both unwound ("unwound sleeper", "unwound waiter"), exit 0
//   loopexit   main got LoopExit for a fiber stuck on an Event, caught it and carried on: no
//              second report at exit, the stuck fiber is still unwound
//   stubborn   a fiber catches FiberExit (catch (...)) and sleeps on for 6 s: kill() says after
//              5 s which fiber waits for which and why, then returns once the fiber is done
//   threads    200 threads each leave parked fibers behind at thread exit: their fibers are
//              unwound and the process's fd count does not grow (epoll fd, eventfd freed), nor
//              does its address space by a per-thread mapping (the 64 KiB alternate signal stack)
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <string>
#include <thread>

using namespace std::chrono_literals;

struct Unwound {
  std::string name;
  ~Unwound() { std::printf("unwound %s\n", name.c_str()); }
};

static long vm_kb() {
  long kb = -1;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmSize: %ld kB", &kb) == 1) break;
    std::fclose(f);
  }
  return kb;
}

static int count_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "loopexit") == 0) {
    static greenev::Event never;
    auto stuck = greenev::spawn(greenev::SpawnOptions{"stuck"}, [] {
      Unwound u{"stuck"};
      never.wait();
    });
    try {
      stuck.join();
    } catch (const greenev::LoopExit&) {
      std::puts("main got LoopExit and carries on");
    }
    return 0;
  }
  if (std::strcmp(mode, "stubborn") == 0) {
    auto f = greenev::spawn(greenev::SpawnOptions{"stubborn"}, [] {
      for (int i = 0; i < 3; ++i) {
        try {
          greenev::sleep(3s);
        } catch (...) {  // the careless catch-all that eats FiberExit
        }
      }
      std::puts("stubborn done");
    });
    greenev::this_fiber::yield();
    f.kill();
    std::puts("kill returned");
    return 0;
  }
  if (std::strcmp(mode, "threads") == 0) {
    std::thread([] { greenev::spawn([] {}).join(); }).join();  // warm-up: lazily opened fds
    const int before = count_fds();
    const long vm_before = vm_kb();
    int unwound = 0;
    for (int i = 0; i < 200; ++i) {
      std::thread([&] {
        struct Count {
          int& n;
          ~Count() { ++n; }
        };
        greenev::spawn([&] {
          Count c{unwound};
          greenev::sleep(1h);
        }).detach();
        greenev::sleep(1ms);
      }).join();
    }
    const int after = count_fds();
    std::printf("unwound %d fds before %d after %d vm_kb before %ld after %ld\n", unwound, before, after, vm_before,
                vm_kb());
    return 0;
  }
  greenev::spawn(greenev::SpawnOptions{"sleeper"}, [] {
    Unwound u{"sleeper"};
    greenev::sleep(std::chrono::hours(1));
  }).detach();
  static greenev::Event ev;
  greenev::spawn(greenev::SpawnOptions{"waiter"}, [] {
    Unwound u{"waiter"};
    ev.wait();
  }).detach();
  greenev::sleep(std::chrono::milliseconds(1));
  return 0;
}
