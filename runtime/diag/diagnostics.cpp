// runtime/diag/diagnostics.cpp — hub statistics and fiber dumps.
#include "core/hub.hpp"

#include <greenev/hub.hpp>

#include <cstdio>

namespace greenev {

HubStats hub_stats() { return detail::Hub::current().stats(); }

void dump_fibers() {
  std::fprintf(stderr, "greenev: fibers of this thread's hub:\n");
  detail::Hub::current().dump(stderr);
}

}  // namespace greenev
