#!/usr/bin/env bash
# Runs the linters (rustfmt, clippy with warnings as errors), then the whole test suite: unit
# tests, the simulated-org end-to-end tests, the S3 tests against an S3-compatible server
# (s3s-fs, started inside the test process on 127.0.0.1), and the Snowflake load proof
# (fakesnow, sqlglot, pyarrow in a venv under target/).
# Needs a Rust toolchain (with rustfmt and clippy) and python3; everything else is installed
# from pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}" CARGO_INCREMENTAL=0

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found: the Snowflake load tests need it" >&2; exit 1; }
for tool in fmt clippy; do
  cargo "$tool" --version >/dev/null 2>&1 \
    || { echo "cargo $tool not found: rustup component add rustfmt clippy" >&2; exit 1; }
done

start=$(date +%s)
VENV=target/test-venv
if ! "$VENV/bin/python" -c 'import fakesnow, sqlglot, jsonschema, pyarrow' 2>/dev/null \
   || ! cmp -s scripts/requirements-test.txt "$VENV/requirements-test.txt"; then
  echo "installing the Python test tools into $VENV ..." >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt "$VENV/requirements-test.txt"
fi
export GENESYS_TEST_PYTHON="$PWD/$VENV/bin/python" GENESYS_REQUIRE_PYTHON_TESTS=1
# As root (CI is), the fault suite also fills a small tmpfs to prove a full disk loses nothing.
if [ "$(id -u)" = 0 ]; then export GENESYS_REQUIRE_ROOT_TESTS=1; fi
python3 -m py_compile scripts/airflow_dag.py

# Lint first, so a finding fails the run before the long test build. Clippy checks every
# target (tests and benches too), with the features the build uses.
cargo fmt --all --check
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "linters passed in $(( $(date +%s) - start ))s"

# Two test binaries at a time fits a 2-core machine; each starts its own simulator and S3 server.
cargo test --locked --workspace -- --test-threads=2
echo "tests finished in $(( $(date +%s) - start ))s"
