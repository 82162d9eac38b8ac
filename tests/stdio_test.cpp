// glibc stdio on cooperative descriptors from fibers (patches/stdio.cpp), popen/pclose.
#include "test_support.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>

using namespace std::chrono_literals;

namespace {

// Writes `parts` to fd with a pause between them (so the reader finds the pipe empty mid-line).
greenev::Fiber<void> slow_writer(int fd, std::vector<std::string> parts) {
  return greenev::spawn([fd, parts = std::move(parts)] {
    for (auto& p : parts) {
      greenev::sleep(15ms);
      REQUIRE(::write(fd, p.data(), p.size()) == static_cast<ssize_t>(p.size()));
    }
    ::close(fd);
  });
}

}  // namespace

TEST_CASE("fgets/getline/fgetc on an fdopen'd pipe wait for data instead of failing with EAGAIN") {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  std::string big(100000, 'z');
  test::Ticker ticker(2ms);
  auto w = slow_writer(p[1], {"line1\n", "li", "ne2\n", "c", big + "\n", "tail"});
  FILE* f = ::fdopen(p[0], "r");
  REQUIRE(f);
  char buf[64];
  REQUIRE(std::fgets(buf, sizeof buf, f) != nullptr);
  CHECK(std::string(buf) == "line1\n");
  REQUIRE(std::fgets(buf, sizeof buf, f) != nullptr);
  CHECK(std::string(buf) == "line2\n");
  CHECK(std::fgetc(f) == 'c');
  char* line = nullptr;
  size_t cap = 0;
  CHECK(::getline(&line, &cap, f) == static_cast<ssize_t>(big.size() + 1));
  CHECK(std::string(line) == big + "\n");
  std::free(line);
  CHECK(getc_unlocked(f) == 't');  // the macro path (__uflow)
  char rest[8] = {};
  CHECK(std::fread(rest, 1, sizeof rest, f) == 3);
  CHECK(std::string(rest) == "ail");
  CHECK(std::feof(f));
  CHECK_FALSE(std::ferror(f));
  w.join();
  ticker.stop();
  CHECK(ticker.ticks() > 10);  // the reader yielded while it waited
  std::fclose(f);
  test::require_hub_clean();
}

TEST_CASE("fprintf/fputs/fwrite/fflush to a slow socket peer write everything, never a spurious error") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  std::string got;
  auto reader = greenev::spawn([&] {
    char b[4096];
    ssize_t n;
    while ((n = ::read(sv[1], b, sizeof b)) > 0) {
      got.append(b, static_cast<size_t>(n));
      if (got.size() % (64 << 10) < sizeof b) greenev::sleep(1ms);  // slower than the writer
    }
  });
  FILE* f = ::fdopen(sv[0], "w");
  REQUIRE(f);
  std::string expect;
  for (int i = 0; i < 2000; ++i) {
    CHECK(std::fprintf(f, "row %d %s\n", i, "abcdefghij") > 0);
    expect += "row " + std::to_string(i) + " abcdefghij\n";
  }
  std::string block(1 << 20, 'q');
  CHECK(std::fwrite(block.data(), 1, block.size(), f) == block.size());
  expect += block;
  CHECK(std::fputs("end\n", f) >= 0);
  expect += "end\n";
  CHECK(std::fputc('!', f) == '!');
  expect += "!";
  CHECK(std::fflush(f) == 0);
  CHECK_FALSE(std::ferror(f));
  CHECK(std::fclose(f) == 0);
  reader.join();
  CHECK(got.size() == expect.size());
  CHECK(got == expect);
  ::close(sv[1]);
  test::require_hub_clean();
}

TEST_CASE("popen r/w and pclose from fibers: cooperative reads, exit status, a ticker keeps ticking") {
  test::Ticker ticker(2ms);
  std::vector<greenev::Fiber<std::string>> fs;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i)
    fs.push_back(greenev::spawn([i] {
      FILE* f = ::popen(("echo start " + std::to_string(i) + "; sleep 0.2; echo done; exit 3").c_str(), "r");
      REQUIRE(f);
      std::string out;
      char buf[128];
      while (std::fgets(buf, sizeof buf, f)) out += buf;
      CHECK_FALSE(std::ferror(f));
      const int st = ::pclose(f);
      CHECK(WIFEXITED(st));
      CHECK(WEXITSTATUS(st) == 3);
      return out;
    }));
  for (int i = 0; i < 10; ++i) CHECK(fs[static_cast<size_t>(i)].join() == "start " + std::to_string(i) + "\ndone\n");
  CHECK(test::ms_since(t0) < 1800);  // one after another: 2 s
  ticker.stop();
  CHECK(ticker.ticks() > 10);

  char path[] = "/tmp/greenev_popen_XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  greenev::spawn([&] {
    FILE* w = ::popen((std::string("cat > ") + path).c_str(), "w");
    REQUIRE(w);
    for (int i = 0; i < 1000; ++i) std::fprintf(w, "%d\n", i);
    CHECK(::pclose(w) == 0);
  }).join();
  FILE* r = std::fopen(path, "r");
  REQUIRE(r);
  int count = 0, v = -1;
  while (std::fscanf(r, "%d", &v) == 1) ++count;
  std::fclose(r);
  ::unlink(path);
  CHECK(count == 1000);
  CHECK(v == 999);
  test::require_hub_clean();
}

TEST_CASE("a large fwrite to a regular file yields to other fibers") {
  char path[] = "/tmp/greenev_stdio_XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::string block(64 << 20, 'w');
  test::Ticker ticker(1ms);
  greenev::spawn([&] {
    FILE* f = std::fopen(path, "w");
    REQUIRE(f);
    CHECK(std::fputs("head\n", f) >= 0);
    CHECK(std::fwrite(block.data(), 1, block.size(), f) == block.size());
    CHECK(std::fclose(f) == 0);
  }).join();
  ticker.stop();
  CHECK(ticker.ticks() > 0);  // in place, the hub would not have run the ticker at all
  struct stat st;
  CHECK(::stat(path, &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(block.size() + 5));
  ::unlink(path);
  test::require_hub_clean();
}

TEST_CASE("fclose(fdopen(socket)) then a regular file on the same number reads fine from a fiber") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  const int num = sv[0];
  greenev::spawn([&] {
    FILE* f = ::fdopen(sv[0], "r+");
    REQUIRE(f);
    REQUIRE(::write(sv[1], "x\n", 2) == 2);
    char b[8];
    REQUIRE(std::fgets(b, sizeof b, f));  // the fd table now knows num as a socket, with a watcher
    std::fclose(f);
  }).join();
  ::close(sv[1]);
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd == num);
  greenev::spawn([&] {
    char b[64];
    CHECK(::read(fd, b, sizeof b) > 0);
  }).join();
  ::close(fd);
  test::require_hub_clean();
}
