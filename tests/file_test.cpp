// Regular files in fibers (patches/file.cpp): read/write/pread/pwrite/readv/writev/preadv/pwritev
// and fsync run on the thread pool, give the real calls' results and errno, keep the hub running
// during a large write, complete under a Timeout (which is raised afterwards), and stay in place
// when patches::set_file_threadpool(false) says so.
#include "test_support.hpp"

#include <greenev/patches.hpp>

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct TempFile {
  std::string path;
  int fd = -1;
  TempFile() {
    char tmpl[] = "/tmp/greenev-file-test-XXXXXX";
    fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
  }
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
  }
};

template <class F>
auto in_fiber(F f) {
  return greenev::spawn(std::move(f)).join();
}

template <class F>
auto unpatched(F f) {
  greenev::patches::Disable off;
  return f();
}

struct FilePool {  // file pooling set for one test, restored after
  bool old = greenev::patches::file_threadpool();
  explicit FilePool(bool on) { greenev::patches::set_file_threadpool(on); }
  ~FilePool() { greenev::patches::set_file_threadpool(old); }
};

std::string res(ssize_t r, int e) { return std::to_string(r) + (r < 0 ? "/" + std::string(std::strerror(e)) : ""); }

// A scripted sequence of file calls on a fresh temp file: every result, errno, the bytes read
// and the final offset, as one string.
std::string script() {
  TempFile f;
  std::string log;
  auto note = [&](ssize_t r) { log += res(r, errno) + ";"; };
  note(::write(f.fd, "hello, world\n", 13));
  note(::pwrite(f.fd, "HELLO", 5, 0));
  note(::pwrite64(f.fd, "!", 1, 20));  // past the end: a hole
  char a[4], b[8];
  struct iovec wv[2] = {{const_cast<char*>("abc"), 3}, {const_cast<char*>("defgh"), 5}};
  note(::writev(f.fd, wv, 2));
  note(::pwritev(f.fd, wv, 2, 30));
  note(::lseek(f.fd, 0, SEEK_SET));
  char buf[64] = {};
  note(::read(f.fd, buf, 7));
  log.append(buf, 7);
  struct iovec rv[2] = {{a, sizeof a}, {b, sizeof b}};
  note(::readv(f.fd, rv, 2));
  log.append(a, sizeof a).append(b, sizeof b);
  std::memset(buf, 0, sizeof buf);
  note(::pread(f.fd, buf, sizeof buf, 3));
  log.append(buf, sizeof buf);
  note(::pread64(f.fd, buf, 4, 1000));  // past the end: 0
  note(::preadv(f.fd, rv, 2, 30));
  log.append(a, sizeof a).append(b, sizeof b);
  note(::fsync(f.fd));
  note(::fdatasync(f.fd));
  note(::lseek(f.fd, 0, SEEK_CUR));
  // Errors: the worker's errno must come home.
  const int ro = ::open(f.path.c_str(), O_RDONLY);
  note(::write(ro, "x", 1));    // EBADF (not open for writing), through the pool
  note(::pwrite(ro, "x", 1, 0));
  note(::read(ro, nullptr, 1));  // EFAULT
  ::close(ro);
  note(::read(ro, buf, 1));      // EBADF: closed
  note(::pread(ro, buf, 1, 0));
  note(::fsync(ro));
  note(::pread(f.fd, buf, 1, -1));  // EINVAL
  int p[2];
  REQUIRE(::pipe(p) == 0);
  note(::pread(p[0], buf, 1, 0));   // ESPIPE: not a file, not pooled
  note(::pwrite(p[1], "x", 1, 0));
  note(::fsync(p[1]));              // EINVAL
  ::close(p[0]);
  ::close(p[1]);
  return log;
}

}  // namespace

TEST_CASE("file calls in a fiber give the real calls' results, bytes, offsets and errno") {
  REQUIRE(greenev::patches::file_threadpool());  // the default (GREENEV_FILE_THREADPOOL unset)
  const std::string want = unpatched(script);
  CHECK(in_fiber(script) == want);
  {
    FilePool off(false);
    CHECK(in_fiber(script) == want);
  }
  CHECK(want.find("Bad file descriptor") != std::string::npos);
  CHECK(want.find("Illegal seek") != std::string::npos);
  test::require_hub_clean();
}

TEST_CASE("errno set before a pooled file call survives it when it succeeds") {
  TempFile f;
  in_fiber([&] {
    errno = 4242;
    CHECK(::write(f.fd, "abc", 3) == 3);
    CHECK(errno == 4242);
    char c;
    CHECK(::pread(f.fd, &c, 1, 1) == 1);
    CHECK(c == 'b');
    CHECK(errno == 4242);
  });
  test::require_hub_clean();
}

// A ticker sleeping 1 ms at a time counts how often the hub ran it during one 64 MiB write.
int ticks_during_big_write(int fd) {
  std::vector<char> big(64 << 20, 'x');
  test::Ticker ticker(1ms);
  greenev::sleep(5ms);
  const int before = ticker.ticks();
  CHECK(::pwrite(fd, big.data(), big.size(), 0) == static_cast<ssize_t>(big.size()));
  const int during = ticker.ticks() - before;
  ticker.stop();
  return during;
}

TEST_CASE("a ticker fiber keeps running while a 64 MiB file write happens on the pool") {
  TempFile f;
  const auto s0 = greenev::hub_stats().switches;
  CHECK(ticks_during_big_write(f.fd) >= 1);
  CHECK(greenev::hub_stats().switches > s0);
  struct stat st;
  REQUIRE(::fstat(f.fd, &st) == 0);
  CHECK(st.st_size == 64 << 20);
  test::require_hub_clean();
}

TEST_CASE("set_file_threadpool(false) runs file calls in place: the hub waits for the write") {
  TempFile f;
  FilePool off(false);
  CHECK(ticks_during_big_write(f.fd) == 0);
  test::require_hub_clean();
}

TEST_CASE("a Timeout expiring during a pooled file call lets it complete, then raises") {
  TempFile f;
  std::vector<char> big(32 << 20, 'y');
  greenev::Timeout t(1ms);
  CHECK(::write(f.fd, big.data(), big.size()) == static_cast<ssize_t>(big.size()));
  std::vector<char> back(big.size());
  CHECK(::pread(f.fd, back.data(), back.size(), 0) == static_cast<ssize_t>(back.size()));
  CHECK(back == big);
  CHECK_THROWS_AS(greenev::sleep(1ms), greenev::TimeoutError);
  test::require_hub_clean();
}

TEST_CASE("kill() during a pooled file call lets it complete, then unwinds the fiber") {
  TempFile f;
  ssize_t r = 0;
  bool after = false;
  auto w = greenev::spawn([&] {
    std::vector<char> big(32 << 20, 'z');
    r = ::write(f.fd, big.data(), big.size());
    greenev::sleep(1ms);  // FiberExit here
    after = true;
  });
  greenev::this_fiber::yield();  // w is now inside write()
  w.kill();
  CHECK(r == 32 << 20);
  CHECK_FALSE(after);
  CHECK(w.killed());
  test::require_hub_clean();
}

TEST_CASE("file calls from a plain std::thread pass through") {
  TempFile f;
  std::thread([&] {
    CHECK(::pwrite(f.fd, "abc", 3, 0) == 3);
    char b[3];
    CHECK(::pread(f.fd, b, 3, 0) == 3);
    CHECK(std::memcmp(b, "abc", 3) == 0);
  }).join();
  test::require_hub_clean();
}
