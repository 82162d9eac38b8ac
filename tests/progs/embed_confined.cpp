// Child program for the thread-confinement checks: uses a hub-confined primitive from a second
// thread ("intruder") after the main thread ("owner-main") used it. Built with GREENEV_CHECKS, so
// the checks are on whatever the build type. Modes: event | queue | mutex | fiber | semaphore |
// condition | recursive | pool | result (each must abort with a message), allowed (cross_thread Event and ThreadQueue from another thread: exit 0),
// fork (the forking thread's objects stay usable in the child: exit 0).
#include <greenev/greenev.hpp>

#include <cstdio>
#include <cstring>
#include <pthread.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;

template <class F>
void from_intruder(F f) {
  std::thread t([&] {
    pthread_setname_np(pthread_self(), "intruder");
    f();
  });
  t.join();
}

int main(int argc, char** argv) {
  pthread_setname_np(pthread_self(), "owner-main");
  const char* mode = argc > 1 ? argv[1] : "";
  greenev::Event ev;
  greenev::Queue<int> q;
  greenev::Mutex m;
  greenev::Semaphore sem(2);
  greenev::Condition cond;
  greenev::RecursiveMutex rm;
  greenev::Pool pool(2);
  greenev::AsyncResult<int> result;
  ev.wait(1ms);  // first uses: main owns them
  q.put(1);
  m.lock();
  m.unlock();
  sem.acquire();
  cond.notify_all();
  rm.lock();
  rm.unlock();
  pool.spawn([] {}).join();
  (void)result.get(1ms);
  if (!std::strcmp(mode, "event")) {
    from_intruder([&] { ev.set(); });
  } else if (!std::strcmp(mode, "queue")) {
    from_intruder([&] { q.try_get(); });
  } else if (!std::strcmp(mode, "mutex")) {
    from_intruder([&] { (void)m.try_lock(); });
  } else if (!std::strcmp(mode, "semaphore")) {
    from_intruder([&] { sem.release(); });
  } else if (!std::strcmp(mode, "condition")) {
    from_intruder([&] { cond.notify_one(); });
  } else if (!std::strcmp(mode, "recursive")) {
    from_intruder([&] { (void)rm.try_lock(); });
  } else if (!std::strcmp(mode, "pool")) {
    from_intruder([&] { pool.spawn([] {}); });
  } else if (!std::strcmp(mode, "result")) {
    from_intruder([&] { result.set(7); });
  } else if (!std::strcmp(mode, "fiber")) {
    auto f = greenev::spawn(greenev::SpawnOptions{"sleeper", 0}, [] { greenev::sleep(1h); });
    greenev::this_fiber::yield();
    from_intruder([&] { f.join(); });
  } else if (!std::strcmp(mode, "allowed")) {
    greenev::Event remote(greenev::cross_thread);
    greenev::ThreadQueue<int> tq(4);
    from_intruder([&] {
      tq.put(5);
      remote.set();
    });
    remote.wait();
    if (tq.get() != 5) return 1;
    std::printf("allowed ok\n");
    return 0;
  } else if (!std::strcmp(mode, "fork")) {
    const pid_t pid = fork();
    if (pid == 0) {
      q.put(2);
      ev.set();
      m.lock();
      m.unlock();
      _exit(q.size() == 2 && ev.is_set() ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    std::printf("fork ok\n");
    return 0;
  } else {
    return 2;
  }
  std::printf("not reached: no check fired\n");
  return 3;
}
