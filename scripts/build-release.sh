#!/usr/bin/env bash
# Builds the loader binary to ship, with profile-guided optimization (PGO):
#
#   bash scripts/build-release.sh        # → target/pgo/release/genesys-loader
#
# 1. An instrumented release build (`-Cprofile-generate`), in target/pgo-gen.
# 2. A training run against the simulated org on loopback, on days and volumes of its own (not
#    the bench's): `extract --dataset all --keep-raw` of three days, the query path on a recent
#    day, then `rebuild` of every partitioned dataset from the raw zone. Every dataset's decode
#    and write path runs, the way a backfill runs it.
# 3. The counts merged by `llvm-profdata` and a release build that uses them
#    (`-Cprofile-use`), in target/pgo. The compiler lays out and inlines the hot paths (the
#    JSON reader, the row walk, the Parquet encoder) by how often they ran.
#
# Needs `llvm-profdata` from LLVM 19 or newer (rustc's own LLVM writes the counts): rustup's
# `llvm-tools` component, or Debian's `llvm-19` package (`apt-get install llvm-19`); set
# LLVM_PROFDATA to name another. Profiles are not committed: they would go stale with the code.
# Without the tool, `cargo install --locked --path .` builds the same binary without PGO.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
T=target/pgo-train

profdata="${LLVM_PROFDATA:-}"
if [ -z "$profdata" ]; then
  for c in "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-profdata \
    $(for v in 25 24 23 22 21 20 19; do echo "llvm-profdata-$v /usr/lib/llvm-$v/bin/llvm-profdata"; done); do
    if command -v "$c" >/dev/null 2>&1; then profdata=$c; break; fi
  done
fi
if [ -z "$profdata" ]; then
  echo "no llvm-profdata of LLVM 19 or newer: install rustup's llvm-tools component or Debian's llvm-19, or set LLVM_PROFDATA" >&2
  exit 1
fi

echo "instrumented build (target/pgo-gen)..." >&2
cargo build --release --locked --quiet -p genesys-sim --bin genesys-sim
rm -rf "$T"
mkdir -p "$T/raw"
# RUSTFLAGS reach build scripts too: the counts they write while building are removed below.
CARGO_TARGET_DIR=target/pgo-gen RUSTFLAGS="-Cprofile-generate=$PWD/$T/raw" \
  cargo build --release --locked --quiet -p genesys-loader --bin genesys-loader
rm -f "$T"/raw/*

. scripts/lib/sim.sh
trap stop_sim EXIT
launch_sim "$T/sim.log" --client-id train --client-secret train --per-day 2000 \
  --rate-limit-per-minute 1000000 --job-processing-ms 200

LOADER=target/pgo-gen/release/genesys-loader
run() {
  GENESYS_CLIENT_ID=train GENESYS_CLIENT_SECRET=train "$LOADER" "$@" >/dev/null 2>>"$T/train.log" || {
    echo "the training run '$*' failed; the end of $T/train.log:" >&2
    tail -20 "$T/train.log" >&2
    exit 1
  }
}
echo "training against the simulated org..." >&2
FROM=2026-03-08 TO=2026-03-11 # three days across a DST change in North America
run extract --api-url "$URL" --login-url "$URL" --dataset all --from $FROM --to $TO \
  --out "$T/zone" --keep-raw --job-poll-ms 50 --max-requests-per-minute 100000
run extract --api-url "$URL" --login-url "$URL" --dataset conversations \
  --from "$(date -u -d '1 day ago' +%F)" --to "$(date -u +%F)" --out "$T/query" \
  --max-requests-per-minute 100000
for ds in conversations conversation-aggregates evaluations wfm-schedules wfm-adherence recordings; do
  run rebuild --dataset $ds --from $FROM --to $TO --out "$T/zone"
done
stop_sim
"$profdata" merge -o "$PWD/$T/genesys.profdata" "$T"/raw/*.profraw

echo "optimized build (target/pgo)..." >&2
CARGO_TARGET_DIR=target/pgo RUSTFLAGS="-Cprofile-use=$PWD/$T/genesys.profdata" \
  cargo build --release --locked --quiet -p genesys-loader --bin genesys-loader
rm -rf "$T/zone" "$T/query" "$T/raw"
echo "target/pgo/release/genesys-loader"
