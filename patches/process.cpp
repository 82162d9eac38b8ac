// patches/process.cpp — fork and the wait family.
//
// fork (+ __fork): runs the after-fork registry around the real fork (runtime/process/fork.cpp):
// in the child the hub gets a fresh loop backend, the thread pool fresh workers, and only the
// calling fiber continues (greenev/fork.hpp). Outside any hub it is the same call with the hooks.
// Pass through: vfork and _Fork (their children may only exec or _exit: nothing of greenev runs
// there), clone.
#include "patch.hpp"

#include "process/fork.hpp"

using namespace greenev::detail;

GREENEV_PATCH_ANCHOR(process);

GREENEV_PATCH pid_t fork(void) noexcept { return fork_with_hooks(); }
GREENEV_PATCH_ALIAS(__fork, fork, pid_t __fork(void) noexcept);
