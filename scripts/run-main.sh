#!/usr/bin/env bash
# scripts/run-main.sh — install dependencies, build greenev, run the main example.
#
# Uses the same build/ directory (and defaults) as scripts/test.sh, so a later test run reuses it.
# Arguments are passed to the example. Environment:
#   GREENEV_MAIN=path       program to run, relative to the repo root (default: build/examples/hello_fibers,
#                           then the echo_server self-test: unmodified POSIX socket code on fibers)
#   GREENEV_SKIP_SETUP=1    don't run scripts/setup.sh
#   GREENEV_CMAKE_ARGS="…"  extra arguments for the configure step
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [[ "${GREENEV_SKIP_SETUP:-0}" != 1 ]]; then
  bash "$ROOT/scripts/setup.sh"
fi

read -r -a EXTRA_CMAKE_ARGS <<<"${GREENEV_CMAKE_ARGS:-}"
cmake -S "$ROOT" -B build "${EXTRA_CMAKE_ARGS[@]}"
cmake --build build --parallel "$(nproc 2>/dev/null || echo 2)"

if [[ -n "${GREENEV_MAIN:-}" ]]; then
  MAINS=("$GREENEV_MAIN")
else
  MAINS=(build/examples/hello_fibers build/examples/echo_server)
fi
for MAIN in "${MAINS[@]}"; do
  if [[ ! -x "$MAIN" ]]; then
    echo "run-main: $MAIN was not built" >&2
    exit 1
  fi
  echo "=== running $MAIN $*"
  "$MAIN" "$@"
done
