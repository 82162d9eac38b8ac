// Child program: a thread whose hub cannot be created because no fd is left. Expected output:
// "spawn: system_error EMFILE", "sleep: system_error EMFILE", patched calls falling back to the
// real blocking call ("poll 0", "usleep 0"), then, with fds freed, "after: 7"; exit 0.
#include <greenev/greenev.hpp>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>
#include <vector>

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  rlimit rl{64, 64};
  setrlimit(RLIMIT_NOFILE, &rl);
  std::vector<int> fds;
  for (;;) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fds.push_back(fd);
  }
  try {
    greenev::spawn([] { return 1; });
    std::puts("spawn: no error");
  } catch (const std::system_error& e) {
    std::printf("spawn: system_error %s\n", e.code().value() == EMFILE ? "EMFILE" : e.what());
  }
  try {
    greenev::sleep(std::chrono::milliseconds(1));
    std::puts("sleep: no error");
  } catch (const std::system_error& e) {
    std::printf("sleep: system_error %s\n", e.code().value() == EMFILE ? "EMFILE" : e.what());
  }
  std::printf("poll %d\n", ::poll(nullptr, 0, 5));
  std::printf("usleep %d\n", ::usleep(1000));
  for (int i = 0; i < 8 && !fds.empty(); ++i) {
    ::close(fds.back());
    fds.pop_back();
  }
  auto f = greenev::spawn([] {
    greenev::sleep(std::chrono::milliseconds(1));
    return 7;
  });
  std::printf("after: %d\n", f.join());
  return 0;
}
