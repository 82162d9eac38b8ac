#!/usr/bin/env bash
# scripts/setup.sh — install the Debian packages greenev needs to build, test and benchmark.
#
# Idempotent: asks dpkg which packages are missing and only then runs apt-get (update + install),
# so a second run on a ready machine touches nothing and needs no network. Runs as root on a fresh
# Debian 12; uses sudo only when not root and sudo exists. Add new dependencies to PACKAGES below
# (the one list every script uses). `--lib-only`: only what building and installing the library
# needs (LIB_PACKAGES), for users who link greenev into their own programs.
set -euo pipefail

# What building and installing the library alone needs (`setup.sh --lib-only`): no Go,
# PostgreSQL, redis, gevent or wrk.
LIB_PACKAGES=(
  build-essential g++ cmake pkg-config
  libboost-context-dev libev-dev libboost-stacktrace-dev
  libcli11-dev  # header-only; the greenev-launch command line
)

PACKAGES=(
  "${LIB_PACKAGES[@]}"
  # not needed by the library itself (Boost.Fiber: a benchmark baseline; libsystemd-dev)
  libboost-fiber-dev libsystemd-dev
  # tests (python3-prometheus-client: the reference parser checks the metrics output)
  doctest-dev python3-prometheus-client
  # examples
  libhttp-parser-dev libhiredis-dev libcurl4-openssl-dev libpq-dev libssl-dev libsqlite3-dev
  openssl
  # benchmarks and comparison baselines (Go, gevent, redis, postgres, load generators)
  golang-go python3-gevent redis-server postgresql wrk curl nginx-light socat netcat-openbsd
  strace
  # callgrind: instructions per switch (tests/bench/callgrind_switch.sh)
  valgrind
  # ThreadQueue benchmark peer (moodycamel's lock-free queue; tests/bench/greenev_bench_thread_queue.cpp)
  libconcurrentqueue-dev
  # taskset (util-linux), ps/pgrep (procps)
  util-linux procps
)

if [[ ${1:-} == --lib-only ]]; then
  PACKAGES=("${LIB_PACKAGES[@]}")
elif [[ $# -gt 0 ]]; then
  echo "usage: setup.sh [--lib-only]" >&2
  exit 2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "setup: not root and no sudo; install these packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}"
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
