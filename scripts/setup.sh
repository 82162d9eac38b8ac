#!/usr/bin/env bash
# scripts/setup.sh — install the Debian packages greenev needs to build, test and benchmark.
#
# Idempotent: asks dpkg which packages are missing and only then runs apt-get (update + install),
# so a second run on a ready machine touches nothing and needs no network. Runs as root on a fresh
# Debian 12; uses sudo only when not root and sudo exists. Add new dependencies to PACKAGES below
# (the one list every script uses).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential g++ cmake pkg-config
  # library dependencies
  libboost-context-dev libboost-fiber-dev libev-dev libsystemd-dev libboost-stacktrace-dev
  # tests (python3-prometheus-client: the reference parser checks the metrics output)
  doctest-dev python3-prometheus-client
  # examples
  libhttp-parser-dev libhiredis-dev libcurl4-openssl-dev libpq-dev libssl-dev libsqlite3-dev
  libcli11-dev openssl
  # benchmarks and comparison baselines (Go, gevent, redis, postgres, load generators)
  golang-go python3-gevent redis-server postgresql wrk curl nginx-light socat netcat-openbsd
  strace valgrind
  # taskset (util-linux), ps/pgrep (procps)
  util-linux procps
)

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
