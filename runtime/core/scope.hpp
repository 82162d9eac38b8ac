// runtime/core/scope.hpp — what the hub needs to know about a fiber's greenev::Timeout scopes.
#pragma once
#include <greenev/detail/fiber_base.hpp>

namespace greenev::detail {

// The earliest deadline among the fiber's scopes that have not fired yet (kForever if none).
Deadline scope_deadline(const FiberBase* f) noexcept;

// Marks the earliest expired scope fired and throws its TimeoutError.
[[noreturn]] void raise_scope_timeout(FiberBase* f);

}  // namespace greenev::detail
