// runtime/diag/patched_symbols.cpp — the generated list of symbols greenev interposes.
// greenev_patched_symbols.inc is written at build time by cmake/gen_patched_symbols.cmake from the
// compiled patches/ objects (nm), so it cannot drift from what the library really defines.
#include <cstddef>

namespace greenev::detail {

extern const char* const g_patched_symbols[] = {
#include "greenev_patched_symbols.inc"
};
extern const std::size_t g_patched_symbol_count = sizeof g_patched_symbols / sizeof g_patched_symbols[0];

}  // namespace greenev::detail
