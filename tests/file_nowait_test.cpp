// Cached regular-file reads on the hub (patches/file.cpp): preadv2(RWF_NOWAIT) first, the pool for
// what is not in the page cache, whole counts always.
#include "test_support.hpp"

#include <cstdlib>
#include <random>
#include <string>

namespace {

struct TempFile {
  std::string path;
  int fd = -1;
  std::string data;
  explicit TempFile(std::size_t size) {
    char tmpl[] = "/tmp/greenev_nowait_XXXXXX";
    fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
    data.resize(size);
    std::mt19937 rng(42);
    for (auto& c : data) c = static_cast<char>(rng());
    greenev::patches::Disable off;  // set up in place
    REQUIRE(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  // Best effort: drop the file from the page cache.
  void evict() {
    greenev::patches::Disable off;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  }
};

}  // namespace

TEST_CASE("cached pread/read are served on the hub: no thread-pool job") {
  TempFile f(1 << 20);  // just written: in the page cache
  greenev::spawn([&] {
    const auto before = greenev::patches::file_stats();
    std::mt19937 rng(7);
    char buf[4096];
    for (int i = 0; i < 200; ++i) {
      const off_t off = static_cast<off_t>(rng() % (f.data.size() - sizeof buf));
      REQUIRE(::pread(f.fd, buf, sizeof buf, off) == static_cast<ssize_t>(sizeof buf));
      REQUIRE(std::string(buf, sizeof buf) == f.data.substr(static_cast<std::size_t>(off), sizeof buf));
    }
    REQUIRE(::lseek(f.fd, 0, SEEK_SET) == 0);
    std::string all;
    ssize_t n;
    while ((n = ::read(f.fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<std::size_t>(n));
    CHECK(n == 0);
    CHECK(all == f.data);
    const auto after = greenev::patches::file_stats();
    CHECK(after.pool_calls == before.pool_calls);  // the hit path never went to the pool
    CHECK(after.nowait_hits - before.nowait_hits == 200 + 256 + 1);  // + the EOF read
  }).join();
  test::require_hub_clean();
}

TEST_CASE("evicted data goes to the pool and reads stay whole and correct") {
  TempFile f(4 << 20);
  f.evict();
  greenev::spawn([&] {
    const auto before = greenev::patches::file_stats();
    std::string buf(256 << 10, '\0');
    for (off_t off = 0; off < static_cast<off_t>(f.data.size()); off += static_cast<off_t>(buf.size())) {
      REQUIRE(::pread(f.fd, buf.data(), buf.size(), off) == static_cast<ssize_t>(buf.size()));
      REQUIRE(buf == f.data.substr(static_cast<std::size_t>(off), buf.size()));
    }
    const auto after = greenev::patches::file_stats();
    const auto missed = (after.nowait_misses - before.nowait_misses) + (after.nowait_partial - before.nowait_partial);
    MESSAGE("hits ", after.nowait_hits - before.nowait_hits, ", partial ", after.nowait_partial - before.nowait_partial,
            ", misses ", after.nowait_misses - before.nowait_misses, ", pool calls ", after.pool_calls - before.pool_calls);
    // Every miss or partial hit paid exactly one pool call (whether eviction worked is the kernel's).
    CHECK(after.pool_calls - before.pool_calls == missed);
  }).join();
  test::require_hub_clean();
}

TEST_CASE("a partly cached range returns the whole count: the rest comes from the pool") {
  TempFile f(1 << 20);
  f.evict();
  {
    greenev::patches::Disable off;  // cache exactly the first page, in place
    char page[4096];
    REQUIRE(::pread(f.fd, page, sizeof page, 0) == 4096);
  }
  greenev::spawn([&] {
    std::string buf(f.data.size(), '\0');
    REQUIRE(::lseek(f.fd, 0, SEEK_SET) == 0);
    CHECK(::read(f.fd, buf.data(), buf.size()) == static_cast<ssize_t>(buf.size()));
    CHECK(buf == f.data);
    CHECK(::lseek(f.fd, 0, SEEK_CUR) == static_cast<off_t>(f.data.size()));
    // Past the end: 0; across the end: the bytes up to it.
    CHECK(::pread(f.fd, buf.data(), 100, static_cast<off_t>(f.data.size())) == 0);
    CHECK(::pread(f.fd, buf.data(), 100, static_cast<off_t>(f.data.size()) - 10) == 10);
    CHECK(::pread(f.fd, buf.data(), 10, -1) == -1);
    CHECK(errno == EINVAL);
  }).join();
  test::require_hub_clean();
}

TEST_CASE("a directory still fails read() with the real call's EISDIR") {
  int d = ::open("/tmp", O_RDONLY | O_DIRECTORY);
  REQUIRE(d >= 0);
  greenev::spawn([&] {
    char c;
    errno = 0;
    const ssize_t r = ::read(d, &c, 1);
    CHECK(r == -1);
    CHECK(errno == EISDIR);
  }).join();
  ::close(d);
  test::require_hub_clean();
}
