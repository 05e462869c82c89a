#!/usr/bin/env bash
# The long fault soak: SIGKILL at random points of runs under every injected fault kind, each
# killed run resumed and compared row for row with an uninterrupted one.
#   GENESYS_SOAK_TRIALS=100 GENESYS_SOAK_SEED=7 bash scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}" GENESYS_SOAK_TRIALS="${GENESYS_SOAK_TRIALS:-20}"
cargo test --locked --test faults -- --ignored --nocapture soak_ 2>&1 | grep -E '^soak:|test result|panicked|FAILED'
