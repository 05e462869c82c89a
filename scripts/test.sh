#!/usr/bin/env bash
# Runs the whole test suite: unit tests, the simulated-org end-to-end tests, and the S3 tests
# against an S3-compatible server (s3s-fs, started inside the test process on 127.0.0.1).
# Needs only a Rust toolchain; everything else is built from Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}" CARGO_INCREMENTAL=0

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

start=$(date +%s)
# Two test binaries at a time fits a 2-core machine; each starts its own simulator and S3 server.
cargo test --locked --workspace -- --test-threads=2
echo "tests finished in $(( $(date +%s) - start ))s"
