// greenev/detail/config.hpp — export macro and build-wide constants.
//
// The library is built with hidden visibility; GREENEV_API marks what the shared library exports.
// Only the interposed libc symbols (patches/) are extern "C"; everything else is namespaced.
#pragma once

#if defined(GREENEV_BUILDING)
#define GREENEV_API __attribute__((visibility("default")))
#else
#define GREENEV_API
#endif

#if defined(__SANITIZE_ADDRESS__)
#define GREENEV_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define GREENEV_TSAN 1
#endif
