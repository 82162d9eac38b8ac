// greenev_bench_file — regular-file reads through the patches (patches/file.cpp).
//   RESULT file_cached_pread.raw|greenev        ns_per_read  4 KiB random preads, file in the page cache
//   RESULT file_cached_read.greenev             ns_per_read  the same through lseek+read
//   RESULT file_cached_ratio.greenev            x            greenev / raw (target <= 1.1)
//   RESULT file_evicted_pread.inplace|pool      ns_per_read  after posix_fadvise(DONTNEED) each round
//   RESULT file_copy_stall.greenev              ms           longest gap a 1 ms ticker saw while another
//                                                            fiber copied 256 MiB file to file
//   args: reads=N (default 20000) file_mib=N (64) copy_mib=N (256) dir=PATH (/tmp)
// Raw reads are the syscall itself (syscall(SYS_pread64)), which no patch can see.
#include "bench_common.h"

#include <greenev/greenev.hpp>

#include <fcntl.h>
#include <random>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::string make_file(const std::string& dir, std::size_t size, const char* tag) {
  std::string path = dir + "/greenev_bench_file_" + tag + "_" + std::to_string(getpid());
  greenev::patches::Disable off;
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  std::vector<char> buf(1 << 20, 'x');
  for (std::size_t done = 0; done < size; done += buf.size())
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) std::abort();
  ::fsync(fd);
  ::close(fd);
  return path;
}

void evict(int fd) {
  greenev::patches::Disable off;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

}  // namespace

int main(int argc, char** argv) {
  const long long reads = bench_arg_ll(argc, argv, "reads", 20000);
  const std::size_t file_mib = static_cast<std::size_t>(bench_arg_ll(argc, argv, "file_mib", 64));
  const std::size_t copy_mib = static_cast<std::size_t>(bench_arg_ll(argc, argv, "copy_mib", 256));
  const char* d = bench_arg(argc, argv, "dir");
  const std::string dir = d ? d : "/tmp";
  const std::string path = make_file(dir, file_mib << 20, "src");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const off_t pages = static_cast<off_t>((file_mib << 20) / 4096);

  greenev::spawn([&] {
    char buf[4096];
    std::mt19937_64 rng(1);
    // Warm the cache and both paths.
    for (off_t p = 0; p < pages; ++p) (void)syscall(SYS_pread64, fd, buf, sizeof buf, p * 4096);
    auto run = [&](auto&& one) {
      std::mt19937_64 r(7);
      const std::uint64_t t0 = bench_now_ns();
      for (long long i = 0; i < reads; ++i) one(static_cast<off_t>(r() % static_cast<std::uint64_t>(pages)) * 4096);
      return static_cast<double>(bench_now_ns() - t0) / static_cast<double>(reads);
    };
    double raw = 1e30, ours = 1e30, viaread = 1e30;
    for (int round = 0; round < 3; ++round) {  // best of 3: the box is shared
      raw = std::min(raw, run([&](off_t o) { bench_sink(static_cast<std::uint64_t>(syscall(SYS_pread64, fd, buf, sizeof buf, o))); }));
      ours = std::min(ours, run([&](off_t o) { bench_sink(static_cast<std::uint64_t>(::pread(fd, buf, sizeof buf, o))); }));
      viaread = std::min(viaread, run([&](off_t o) {
        ::lseek(fd, o, SEEK_SET);
        bench_sink(static_cast<std::uint64_t>(::read(fd, buf, sizeof buf)));
      }));
    }
    bench_result("file_cached_pread", "raw", raw, "ns_per_read");
    bench_result("file_cached_pread", "greenev", ours, "ns_per_read");
    bench_result("file_cached_read", "greenev", viaread - 0, "ns_per_read");
    bench_result("file_cached_ratio", "greenev", ours / raw, "x");

    // Evicted: every read misses (the pool) vs the same reads blocking in place.
    const long long cold = std::min<long long>(reads / 10, 2000);
    auto cold_run = [&](bool pool) {
      greenev::patches::set_file_threadpool(pool);
      evict(fd);
      std::mt19937_64 r(11);
      const std::uint64_t t0 = bench_now_ns();
      for (long long i = 0; i < cold; ++i)
        bench_sink(static_cast<std::uint64_t>(::pread(fd, buf, sizeof buf, static_cast<off_t>(r() % static_cast<std::uint64_t>(pages)) * 4096)));
      greenev::patches::set_file_threadpool(true);
      return static_cast<double>(bench_now_ns() - t0) / static_cast<double>(cold);
    };
    bench_result("file_evicted_pread", "inplace", cold_run(false), "ns_per_read");
    bench_result("file_evicted_pread", "pool", cold_run(true), "ns_per_read");
  }).join();
  ::close(fd);
  ::unlink(path.c_str());

  // A 1 ms ticker while another fiber copies copy_mib MiB file to file with read/write.
  const std::string src = make_file(dir, copy_mib << 20, "copy");
  const std::string dst = src + ".out";
  double worst_ms = 0;
  bool stop = false;
  auto ticker = greenev::spawn([&] {
    std::uint64_t last = bench_now_ns();
    while (!stop) {
      greenev::sleep(1ms);
      const std::uint64_t now = bench_now_ns();
      worst_ms = std::max(worst_ms, static_cast<double>(now - last) / 1e6 - 1.0);
      last = now;
    }
  });
  greenev::spawn([&] {
    int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(dst.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    std::vector<char> buf(1 << 20);
    ssize_t n;
    while ((n = ::read(in, buf.data(), buf.size())) > 0)
      if (::write(out, buf.data(), static_cast<std::size_t>(n)) != n) std::abort();
    ::fsync(out);
    ::close(in);
    ::close(out);
  }).join();
  stop = true;
  ticker.join();
  bench_result("file_copy_stall", "greenev", worst_ms, "ms");
  ::unlink(src.c_str());
  ::unlink(dst.c_str());
  return 0;
}
