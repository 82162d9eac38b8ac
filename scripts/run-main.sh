#!/usr/bin/env bash
# scripts/run-main.sh — install dependencies, build greenev, run the main demonstration.
#
# Uses the same build/ directory (and defaults) as scripts/test.sh, so a later test run reuses it.
# By default it runs scripts/launch-demo.sh: greenev-http under greenev-launch with one worker per
# core, a short wrk load, what each worker served, one zero-downtime reload, a graceful stop.
# Environment:
#   GREENEV_MAIN=path       program to run instead, relative to the repo root (arguments are passed
#                           to it), e.g. build/examples/hello_fibers or build/examples/echo_server
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

if [[ -z "${GREENEV_MAIN:-}" ]]; then
  exec bash "$ROOT/scripts/launch-demo.sh"
fi
if [[ ! -x "$GREENEV_MAIN" ]]; then
  echo "run-main: $GREENEV_MAIN was not built" >&2
  exit 1
fi
echo "=== running $GREENEV_MAIN $*"
"$GREENEV_MAIN" "$@"
