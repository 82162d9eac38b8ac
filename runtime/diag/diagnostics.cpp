// runtime/diag/diagnostics.cpp — start-up configuration of the diagnostics from the environment.
//
//   GREENEV_MONITOR=100ms    start the blocked-hub monitor (units ms, s, us; bare numbers are ms;
//                            1/on/yes mean 100 ms; 0/off/no/empty leave it off)
//   GREENEV_DUMP_SIGNAL=USR2 dump every fiber to stderr on that signal (name, SIG name or number)
//   GREENEV_PATCH_REPORT=1   print the patch self-test to stderr at start-up
// Read once, by the library's constructor and again (no-op) at the first hub's creation, which
// keeps this object in static links (registry.cpp calls diag_configure_from_env()).
// A bad value is reported on stderr and ignored, never fatal: diagnostics must not stop a service.
#include "diag/hub_diag.hpp"

#include <greenev/diagnostics.hpp>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unistd.h>

namespace greenev::detail {

namespace {

bool parse_duration_ms(const std::string& v, long& ms) {
  if (v == "1" || v == "on" || v == "yes" || v == "true") {
    ms = 100;
    return true;
  }
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || x < 0) return false;
  const std::string unit(end);
  double scale;
  if (unit.empty() || unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "us") scale = 0.001;
  else return false;
  ms = static_cast<long>(x * scale + 0.5);
  return true;
}

int parse_signal(std::string v) {
  if (!v.empty() && std::isdigit(static_cast<unsigned char>(v[0]))) return std::atoi(v.c_str());
  for (auto& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (v.rfind("SIG", 0) == 0) v = v.substr(3);
  static const struct {
    const char* name;
    int sig;
  } kSignals[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
                  {"WINCH", SIGWINCH}, {"URG", SIGURG}, {"PWR", SIGPWR}};
  for (const auto& s : kSignals)
    if (v == s.name) return s.sig;
  return 0;
}

void configure() noexcept {
  try {
    if (const char* m = std::getenv("GREENEV_MONITOR"); m && *m && std::strcmp(m, "0") != 0 &&
                                                         std::strcmp(m, "off") != 0 && std::strcmp(m, "no") != 0) {
      long ms = 0;
      if (parse_duration_ms(m, ms) && ms >= 1)
        diag::start_monitor(std::chrono::milliseconds(ms));
      else
        std::fprintf(stderr, "greenev: ignoring GREENEV_MONITOR=%s (want e.g. 100ms, 0.5s)\n", m);
    }
    if (const char* s = std::getenv("GREENEV_DUMP_SIGNAL"); s && *s) {
      if (int sig = parse_signal(s); sig > 0 && sig < NSIG)
        diag::install_dump_signal(sig);
      else
        std::fprintf(stderr, "greenev: ignoring GREENEV_DUMP_SIGNAL=%s (want e.g. USR2)\n", s);
    }
    if (const char* r = std::getenv("GREENEV_PATCH_REPORT"); r && *r && std::strcmp(r, "0") != 0) {
      const std::string text = patches::report().text();
      std::fwrite(text.data(), 1, text.size(), stderr);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greenev: diagnostics start-up failed: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "greenev: diagnostics start-up failed\n");
  }
}

__attribute__((constructor)) void configure_at_load() { diag_configure_from_env(); }

}  // namespace

void diag_configure_from_env() noexcept {
  static std::once_flag once;
  std::call_once(once, configure);
}

}  // namespace greenev::detail
