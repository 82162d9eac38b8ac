/* bench_common.h — tiny helpers shared by every C/C++ benchmark program (peers and greenev's own).
 *
 * Output protocol (parsed by tests/bench/run.sh):
 *   RESULT <bench>.<impl> <value> <unit>     one measurement, e.g. "RESULT switch_pair.go 180.2 ns_per_switch"
 *   NOTE <free text>                         anything the runner should repeat in its summary
 * Anything else on stdout/stderr is ignored by the runner (but kept in the raw log).
 *
 * Header-only, usable from C and C++.
 */
#ifndef GREENEV_BENCH_COMMON_H
#define GREENEV_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM", ...); -1 if unavailable. */
static inline long bench_status_kib(const char* field) {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  size_t n = strlen(field);
  long v = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      v = strtol(line + n + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return v;
}
static inline long bench_rss_kib(void) { return bench_status_kib("VmRSS"); }
static inline long bench_hwm_kib(void) { return bench_status_kib("VmHWM"); }

static inline void bench_result(const char* bench, const char* impl, double value, const char* unit) {
  printf("RESULT %s.%s %.6g %s\n", bench, impl, value, unit);
  fflush(stdout);
}
/* For a run that could not produce a number: the runner shows FAIL and repeats the note. */
static inline void bench_fail(const char* bench, const char* impl, const char* unit, const char* why) {
  printf("NOTE %s.%s: %s\n", bench, impl, why);
  printf("RESULT %s.%s FAIL %s\n", bench, impl, unit);
  fflush(stdout);
}

/* Keeps the optimizer from deleting a computation. */
static inline void bench_sink(uint64_t v) { __asm__ __volatile__("" ::"r"(v) : "memory"); }

/* Command-line helper: "name=value" arguments, e.g. ./prog iters=1000000 only=switch_pair */
static inline const char* bench_arg(int argc, char** argv, const char* name) {
  size_t n = strlen(name);
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
  return NULL;
}
static inline long long bench_arg_ll(int argc, char** argv, const char* name, long long dflt) {
  const char* v = bench_arg(argc, argv, name);
  return v ? strtoll(v, NULL, 0) : dflt;
}
/* True when only= is absent or lists `bench` (comma separated). */
static inline int bench_selected(int argc, char** argv, const char* bench) {
  const char* v = bench_arg(argc, argv, "only");
  if (!v) return 1;
  size_t n = strlen(bench);
  for (const char* p = v; *p;) {
    const char* e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncmp(p, bench, n) == 0) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

#ifdef __cplusplus
}
#endif
#endif
