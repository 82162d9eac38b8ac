// Child program: the process ends while thread-pool work is still in flight. It must exit at
// once with status 0, not hang joining workers or crash on freed state.
//   args: exit    main calls exit(0) while fibers wait on 10 s jobs
//         return  main returns after a Timeout abandoned a 10 s job
//         thread  a thread whose hub abandoned a job has exited; main returns while it runs
#include <greenev/greenev.hpp>
#include <greenev/threadpool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

using namespace std::chrono_literals;

static void slow() { std::this_thread::sleep_for(10s); }

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "exit";
  if (std::strcmp(mode, "exit") == 0) {
    for (int i = 0; i < 4; ++i) greenev::spawn([] { greenev::run_blocking(slow); }).detach();
    greenev::sleep(50ms);
    std::puts("exiting");
    std::fflush(stdout);
    std::exit(0);
  }
  if (std::strcmp(mode, "return") == 0) {
    bool timed_out = !greenev::with_timeout(20ms, [] { greenev::run_blocking(slow); });
    std::puts(timed_out ? "returning" : "no timeout?");
    return timed_out ? 0 : 1;
  }
  std::thread([] { (void)greenev::with_timeout(20ms, [] { greenev::run_blocking(slow); }); }).join();
  std::puts("returning");
  return 0;
}
