// Child program for diag_test: prints greenev::patches::report() (and GREENEV_PATCH_REPORT=1 from
// the test prints it at start-up too). Linked against diag_unpatched_lib.
#include <greenev/greenev.hpp>

#include <cstdio>

extern "C" long diag_lib_raw_read(int, void*, unsigned long);

int main(int argc, char**) {
  if (argc > 1) {  // keep the library referenced (it must stay loaded)
    char b;
    diag_lib_raw_read(-1, &b, 1);
  }
  auto r = greenev::patches::report();
  std::string t = r.text();
  std::fwrite(t.data(), 1, t.size(), stdout);
  std::printf("patched_symbols %zu not_winning %zu\n", r.patched_symbols.size(), r.not_winning.size());
  for (const auto& o : r.objects) {
    if (o.path.find("diag_unpatched") == std::string::npos) continue;
    std::printf("lib unpatched:");
    for (auto& s : o.unpatched) std::printf(" %s", s.c_str());
    std::printf("\nlib patched:");
    for (auto& s : o.patched) std::printf(" %s", s.c_str());
    std::printf("\n");
  }
  return 0;
}
