// patches/patch.hpp — what every patches/*.cpp file shares: the export macro and the anchor.
//
// The library is built with -fvisibility=hidden; interposed libc symbols must be visible
// (GREENEV_PATCH). GREENEV_PATCH_ANCHOR(name) defines the symbol runtime/io/hub_io.cpp references so
// that a static link keeps the file (see hub_io.cpp). GREENEV_PATCH_ALIAS defines a second exported
// name (the `__` aliases glibc exports) for a function of the same file.
#pragma once
#include "io/io.hpp"

#include <vector>

#define GREENEV_PATCH extern "C" __attribute__((visibility("default")))
#define GREENEV_PATCH_ANCHOR(name) extern "C" const char greenev_patch_anchor_##name = 0
#define GREENEV_PATCH_ALIAS(name, target, decl) \
  extern "C" __attribute__((visibility("default"), alias(#target))) decl

namespace greenev::detail {

// Sum of an iovec array's lengths.
inline std::size_t iov_total(const struct iovec* iov, int cnt) noexcept {
  std::size_t t = 0;
  for (int i = 0; i < cnt; ++i) t += iov[i].iov_len;
  return t;
}

// Calls f(iov, cnt) on the part of iov after the first `done` bytes (a copy only when done > 0).
template <class F>
ssize_t with_iov_from(const struct iovec* iov, int cnt, std::size_t done, F&& f) {
  if (done == 0) return f(iov, cnt);
  int i = 0;
  while (i < cnt && done >= iov[i].iov_len) done -= iov[i++].iov_len;
  const int n = cnt - i;
  struct iovec small[64];
  std::vector<struct iovec> big;
  struct iovec* local = small;
  if (n > 64) {
    big.resize(static_cast<std::size_t>(n));
    local = big.data();
  }
  for (int k = 0; k < n; ++k) local[k] = iov[i + k];
  if (n > 0) {
    local[0].iov_base = static_cast<char*>(local[0].iov_base) + done;
    local[0].iov_len -= done;
  }
  return f(local, n);
}

}  // namespace greenev::detail
