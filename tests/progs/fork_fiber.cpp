// Child program: fork() from a fiber after the thread pool and the resolver ran.
//   args: fiber | main | raw | hooks
// fiber: a spawned fiber forks (greenev::fork); main: the main fiber forks (patched ::fork) and the
// child returns from main(); raw: glibc's own fork (reached through dlsym on libc, so only the
// pthread_atfork fallback resets the hub). In every case the parent had other fibers in each
// state (sleeping, waiting on an Event, a Semaphore, a pipe read, a join, not started yet); any
// of them running in the child exits it with a distinctive status (90-99). The child must resolve
// localhost, read a file through the pool and run fibers within 2 s (alarm), see the others as
// finished with ECANCELED, and the parent must carry on as if nothing happened.
// hooks: the after-fork registry order (prepare high->low, parent/child low->high).
// Prints "ok" and exits 0 when all is well.
#include <greenev/fork.hpp>
#include <greenev/greenev.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <string>
#include <system_error>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

pid_t g_parent = 0;
bool in_child() { return getpid() != g_parent; }

int fail(const char* what) {
  std::fprintf(stderr, "FAIL(%d): %s (errno %d)\n", static_cast<int>(getpid()), what, errno);
  return 1;
}

bool resolve_localhost() {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo("localhost", "80", &hints, &res) != 0) return false;
  freeaddrinfo(res);
  return true;
}

bool read_file(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0;
}

int wait_exit(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFSIGNALED(st)) return 1000 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

using ForkFn = pid_t (*)();
ForkFn libc_fork() {
  void* h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  return h ? reinterpret_cast<ForkFn>(dlsym(h, "fork")) : nullptr;
}

// The parent's other fibers, one per waiting state. Each exits the process if it runs in a child.
struct Others {
  greenev::Event ev;
  greenev::Semaphore sem{0};
  int p[2] = {-1, -1};
  int ticks = 0;
  bool stop = false;
  std::vector<greenev::Fiber<void>> fs;
  std::vector<bool> done_before;  // finished in the parent before the fork

  void start() {
    if (pipe(p) != 0) throw std::runtime_error("pipe");
    fs.push_back(greenev::spawn([this] {
      while (!stop) {
        greenev::sleep(5ms);
        if (in_child()) _exit(99);
        ++ticks;
      }
    }));
    fs.push_back(greenev::spawn([this] {
      ev.wait();
      if (in_child()) _exit(98);
    }));
    fs.push_back(greenev::spawn([this] {
      sem.acquire();
      if (in_child()) _exit(97);
    }));
    fs.push_back(greenev::spawn([this] {
      char c;
      if (read(p[0], &c, 1) != 1) _exit(90);
      if (in_child()) _exit(96);
    }));
    fs.push_back(greenev::spawn([this] {
      fs[3].join();
      if (in_child()) _exit(95);
    }));
    greenev::sleep(20ms);  // all of them are parked now
    fs.push_back(greenev::spawn([] {
      if (in_child()) _exit(94);  // spawned, never started before the fork
    }));
  }

  // In the child: poke everything the others wait on; none of them may run.
  int poke_in_child() {
    ev.set();
    sem.release();
    if (write(p[1], "x", 1) != 1) return fail("child pipe write");
    greenev::sleep(50ms);
    // The semaphore's permit was not handed to a dead waiter.
    if (!sem.try_acquire()) return fail("semaphore permit lost to a fiber that did not survive fork");
    // (No read-back: the pipe is shared with the parent, whose own reader may take the byte now
    // that the parent waits for this child cooperatively.)
    for (std::size_t i = 0; i < fs.size(); ++i) {
      if (done_before[i]) continue;
      if (!fs[i].ready()) return fail("a parent fiber is not done in the child");
      try {
        fs[i].join();
        return fail("join of a discarded fiber returned");
      } catch (const std::system_error& e) {
        if (e.code().value() != ECANCELED) return fail("join of a discarded fiber: wrong error");
      }
    }
    return 0;
  }

  int finish_in_parent() {
    stop = true;
    ev.set();
    sem.release();
    if (write(p[1], "y", 1) != 1) return fail("parent pipe write");
    for (auto& f : fs) f.join();
    if (ticks < 2) return fail("parent ticker did not tick");
    close(p[0]);
    close(p[1]);
    return 0;
  }
};

int child_work(Others& o) {
  alarm(2);
  if (!resolve_localhost()) return fail("child: getaddrinfo(localhost)");
  if (!read_file("/proc/self/status") && !read_file("/etc/hostname")) return fail("child: read a file");
  std::string path = "/tmp/greenev_fork_" + std::to_string(getpid());
  {
    int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, "hello", 5) != 5) return fail("child: write a file");
    close(fd);
    if (!read_file(path.c_str())) return fail("child: read back a file");
    unlink(path.c_str());
  }
  int sum = 0;
  std::vector<greenev::Fiber<int>> kids;
  for (int i = 0; i < 10; ++i)
    kids.push_back(greenev::spawn([i] {
      greenev::sleep(1ms);
      return greenev::run_blocking([i] { return i; });
    }));
  for (auto& k : kids) sum += k.join();
  if (sum != 45) return fail("child: fibers");
  if (int rc = o.poke_in_child()) return rc;
  if (greenev::hub_stats().fibers_alive != 1 && greenev::hub_stats().fibers_alive != 0)
    return fail("child: fibers_alive counts discarded fibers");
  return 0;
}

int run_fork(const char* mode) {
  Others o;
  o.start();
  std::fflush(nullptr);
  const bool from_fiber = std::strcmp(mode, "fiber") == 0 || std::strcmp(mode, "raw") == 0;
  const bool raw = std::strcmp(mode, "raw") == 0;
  pid_t pid = -1;
  if (from_fiber) {
    // The forking fiber's return ends the child (status 0); main must never continue there.
    auto forker = greenev::spawn([&] {
      greenev::sleep(1ms);
      for (auto& f : o.fs) o.done_before.push_back(f.ready());
      o.fs.push_back(greenev::spawn([] {
        if (in_child()) _exit(92);  // spawned by the forking fiber, not started at the fork
      }));
      o.done_before.push_back(false);
      pid = raw ? libc_fork()() : greenev::fork();
      if (pid == 0) {
        if (int rc = child_work(o)) _exit(rc);
        return;  // the child process ends here
      }
    });
    forker.join();
    if (in_child()) _exit(93);  // main resumed in the child
  } else {
    for (auto& f : o.fs) o.done_before.push_back(f.ready());
    pid = fork();
    if (pid == 0) {
      if (int rc = child_work(o)) _exit(rc);
      return -1;  // main() returns 0 in the child: exit with a clean hub
    }
  }
  if (pid < 0) return fail("fork");
  const int rc = wait_exit(pid);
  if (rc != 0) {
    std::fprintf(stderr, "child exit %d\n", rc);
    return fail("child");
  }
  if (int r = o.finish_in_parent()) return r;
  if (!resolve_localhost()) return fail("parent: getaddrinfo after fork");
  return 0;
}

std::string g_trace;

int run_hooks() {
  auto mk = [](const char* tag, int order) {
    greenev::ForkHooks h;
    h.order = order;
    std::string t(tag);
    h.prepare = [t] { g_trace += "P" + t; };
    h.parent = [t] { g_trace += "A" + t; };
    h.child = [t] { g_trace += "C" + t; };
    return h;
  };
  greenev::add_fork_hooks(mk("2", 60));
  const auto id = greenev::add_fork_hooks(mk("1", 55));
  greenev::add_fork_hooks(mk("3", greenev::fork_order::user));
  greenev::ForkHooks bad;
  bad.child = [] { throw std::runtime_error("boom"); };
  bad.parent = [] { throw std::runtime_error("boom"); };
  greenev::add_fork_hooks(bad);
  if (greenev::fork_generation() != 0) return fail("generation in the original process");
  int p[2];
  if (pipe(p) != 0) return fail("pipe");
  std::fflush(nullptr);
  pid_t pid = greenev::fork();
  if (pid == 0) {
    std::string msg = g_trace + (greenev::fork_generation() == 1 ? " gen1" : " gen?");
    (void)!write(p[1], msg.data(), msg.size());
    _exit(0);
  }
  close(p[1]);
  char buf[128] = {};
  ssize_t n = 0, r;
  while ((r = read(p[0], buf + n, sizeof buf - 1 - static_cast<size_t>(n))) > 0) n += r;
  close(p[0]);
  if (wait_exit(pid) != 0) return fail("hooks child");
  if (std::string(buf) != "P3P2P1C1C2C3 gen1") {
    std::fprintf(stderr, "child trace '%s'\n", buf);
    return fail("child hook order");
  }
  if (g_trace != "P3P2P1A1A2A3") {
    std::fprintf(stderr, "parent trace '%s'\n", g_trace.c_str());
    return fail("parent hook order");
  }
  if (!greenev::remove_fork_hooks(id) || greenev::remove_fork_hooks(id)) return fail("remove_fork_hooks");
  g_trace.clear();
  pid = fork();
  if (pid == 0) _exit(g_trace == "P3P2C2C3" ? 0 : 7);
  if (wait_exit(pid) != 0 || g_trace != "P3P2A2A3") return fail("hooks after removal");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_parent = getpid();
  const char* mode = argc > 1 ? argv[1] : "fiber";
  // Warm up what the child must re-create: the pool's workers and the resolver.
  for (int i = 0; i < 4; ++i)
    if (greenev::run_blocking([i] { return i; }) != i) return fail("warm-up");
  if (!greenev::spawn([] { return resolve_localhost(); }).join()) return fail("warm-up resolve");
  int rc = std::strcmp(mode, "hooks") == 0 ? run_hooks() : run_fork(mode);
  if (rc == -1) return 0;  // the child of "main" mode returning from main()
  if (rc != 0) return rc;
  std::puts("ok");
  return 0;
}
