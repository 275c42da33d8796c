#!/usr/bin/env bash
#
# soak_short.sh - the short version of the kill -9 soak that `make check`
# runs: tests/soak/soak.sh (random operations, hangard SIGKILLed at a
# random moment, restarted, every invariant checked after each restart)
# with SOAK_SHORT_CYCLES cycles (default 8; well under 90 s).  `make soak`
# runs the long one (tests/soak/soak.mk).  SOAK_SEED replays a seed.
# Usage: BUILD=build tests/integration/soak_short.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
SOAK_CYCLES=${SOAK_SHORT_CYCLES:-8} SOAK_ID=${SOAK_ID:-soakq} exec bash tests/soak/soak.sh
