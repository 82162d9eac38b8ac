// io_patches_off — run with GREENEV_PATCHES=0: patches::enabled() is false and the libc calls are
// the real ones (a usleep in a fiber does not switch). Then set_enabled(true) turns them back on.
// Prints "patches_off: ok" and exits 0.
#include <greenev/greenev.hpp>
#include <greenev/patches.hpp>

#include <cstdio>
#include <unistd.h>

int main() {
  bool ok = !greenev::patches::enabled();
  auto s0 = greenev::hub_stats().switches;
  usleep(2000);
  ok = ok && greenev::hub_stats().switches == s0;
  greenev::patches::set_enabled(true);
  s0 = greenev::hub_stats().switches;
  usleep(2000);
  ok = ok && greenev::hub_stats().switches > s0;
  std::printf("patches_off: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
