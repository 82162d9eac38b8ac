// runtime/core/scope.hpp — what the hub needs to know about a fiber's greenev::Timeout scopes.
#pragma once
#include <greenev/detail/fiber_base.hpp>

namespace greenev::detail {

// The earliest deadline among the fiber's scopes that have not fired yet (kForever if none).
Deadline scope_deadline(const FiberBase* f) noexcept;

// Throws the TimeoutError a patched call left pending (outermost first), else marks the earliest
// expired scope fired and throws its TimeoutError.
[[noreturn]] void raise_scope_timeout(FiberBase* f);

// A patched call was interrupted by an expired scope: mark the earliest expired scope fired, with
// its TimeoutError pending (raised by the next greenev suspension point, see park()).
void scope_fire_pending(FiberBase* f) noexcept;

// True while a scope of f owes a TimeoutError (scope_fire_pending).
bool scope_pending(const FiberBase* f) noexcept;

}  // namespace greenev::detail
