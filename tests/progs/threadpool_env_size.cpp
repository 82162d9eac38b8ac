// Child program: prints the default pool's size (GREENEV_THREADPOOL_SIZE and the setter).
//   args: [setter N]  call set_default_thread_pool_size(N) before first use
#include <greenev/threadpool.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "setter") == 0) greenev::set_default_thread_pool_size(std::strtoul(argv[2], nullptr, 10));
  std::printf("size=%zu\n", greenev::default_thread_pool().size());
  std::printf("value=%d\n", greenev::run_blocking([] { return 7; }));
  return 0;
}
