// Child program: std::terminate inside a fiber must name the fiber (id, name, wait reason).
//   throw_in_unwind  a destructor throws while FiberExit unwinds fiber 'thrower' -> SIGABRT with
//                    "greenev: std::terminate called in fiber 'thrower'"
//   kill_in_dtor     kill() from a destructor while the caller's Timeout has expired: must not
//                    terminate (it used to throw TimeoutError out of the destructor) -> exit 0
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstring>
#include <stdexcept>

using namespace std::chrono_literals;

struct ThrowsInDtor {
  ~ThrowsInDtor() noexcept(false) { throw std::runtime_error("cleanup failed"); }
};

struct KillsInDtor {
  greenev::Fiber<void>& child;
  ~KillsInDtor() { child.kill(); }
};

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "throw_in_unwind") == 0) {
    auto f = greenev::spawn(greenev::SpawnOptions{"thrower"}, [] {
      ThrowsInDtor t;
      greenev::sleep(10s);
    });
    greenev::this_fiber::yield();
    f.kill();
    std::puts("not reached");
    return 0;
  }
  if (std::strcmp(mode, "kill_in_dtor") == 0) {
    bool unwound = false;
    greenev::Fiber<void> child = greenev::spawn(greenev::SpawnOptions{"child"}, [&] {
      struct Slow {
        bool& u;
        ~Slow() {
          greenev::sleep(5ms);  // needs a moment to stop
          u = true;
        }
      } s{unwound};
      greenev::sleep(10s);
    });
    auto owner = greenev::spawn(greenev::SpawnOptions{"owner"}, [&] {
      try {
        greenev::Timeout t(10ms);
        KillsInDtor k{child};
        greenev::sleep(1s);  // the Timeout fires here; k's destructor kills during unwinding
      } catch (const greenev::TimeoutError&) {
        std::puts("owner timed out");
      }
    });
    owner.join();
    std::printf("child gone %d unwound %d\n", child.ready() ? 1 : 0, unwound ? 1 : 0);
    return 0;
  }
  return 2;
}
