// runtime/process/fork.hpp — the fork driver and the raw hook registration the lower layers use.
//
// fork_with_hooks() is what the patched fork() and greenev::fork() call: the registry's prepare
// hooks, the real fork, then the parent or child hooks. glibc's fork reached another way (a
// library holding libc's own address, a static link whose fork is not interposed) still runs the
// registry through pthread_atfork; a thread-local flag keeps one fork from running it twice.
// Lower layers (the hub, the thread pool) register plain function pointers: nothing to allocate
// at static-initialisation time and no std::function in the fork path of the core.
#pragma once
#include <sys/types.h>

namespace greenev::detail {

// -1 with errno on failure (the parent hooks ran), like fork().
pid_t fork_with_hooks() noexcept;

// Registers hooks that are never removed (any pointer may be null).
void add_fork_hooks_raw(int order, void (*prepare)() noexcept, void (*parent)() noexcept,
                        void (*child)() noexcept) noexcept;

}  // namespace greenev::detail
