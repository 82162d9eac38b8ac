// Child program: a process that does not link greenev loads it late with dlopen (a plugin, an
// extension module) and uses it from two threads. greenev's hot thread-locals use the
// initial-exec TLS model, which a late-loaded library may only use while glibc's surplus of
// static TLS lasts: dlopen fails outright ("cannot allocate memory in static TLS block") if it
// does not. The C++ API is reached through dlsym of one exported function (a timed sleep: it
// creates the thread's hub, its free lists and a timer).
#include <dlfcn.h>

#include <cstdio>
#include <thread>

int main() {
  void* lib = dlopen(GREENEV_SHARED_PATH, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  using SleepUntil = void (*)(long);
  auto sleep_until = reinterpret_cast<SleepUntil>(dlsym(lib, "_ZN7greenev6detail14sleep_until_nsEl"));
  if (!sleep_until) {
    std::printf("dlsym failed: %s\n", dlerror());
    return 1;
  }
  auto now = [] {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1'000'000'000L + ts.tv_nsec;
  };
  auto nap = [&] {
    const long t0 = now();
    sleep_until(t0 + 20'000'000);  // 20 ms on this thread's hub
    return (now() - t0) / 1'000'000;
  };
  const long main_ms = nap();
  long thread_ms = -1;
  std::thread([&] { thread_ms = nap(); }).join();
  std::printf("late dlopen ok: main slept %ld ms, thread slept %ld ms\n", main_ms, thread_ms);
  return main_ms >= 20 && thread_ms >= 20 ? 0 : 1;
}
