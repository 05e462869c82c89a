#!/usr/bin/env bash
# Demo: starts the simulated Genesys Cloud org on loopback, extracts the last four UTC days of
# every dataset (conversation details, aggregates, evaluations, recordings, the dimensions) into
# ./genesys-out, prints
# rows per table and where the manifest is, then reconciles the aggregates with the details.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
OUT="${1:-./genesys-out}"

# GENESYS_LOADER: a loader binary to run instead of building one; GENESYS_SIM_URL: a simulated
# org already running (with GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET), e.g. the test's.
LOADER="${GENESYS_LOADER:-}"
if [ -z "$LOADER" ]; then
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
  echo "building (first time: a few minutes)..." >&2
  cargo build --locked --quiet -p genesys-loader -p genesys-sim --bins
  LOADER=target/debug/genesys-loader
fi

if [ -n "${GENESYS_SIM_URL:-}" ]; then
  URL="$GENESYS_SIM_URL" CLIENT_ID="${GENESYS_CLIENT_ID:?GENESYS_CLIENT_ID}" SECRET="${GENESYS_CLIENT_SECRET:?GENESYS_CLIENT_SECRET}"
else
  CLIENT_ID=demo-client
  SECRET="demo-secret-$(date +%s)"
  LOG=$(mktemp)
  # The simulated org allows 3,000 requests a minute (a real org: about 300), and the loader paces
  # itself at 2,400: the per-recording and per-evaluation reads then take seconds, not minutes.
  target/debug/genesys-sim --port 0 --client-id "$CLIENT_ID" --client-secret "$SECRET" --per-day 400 \
    --rate-limit-per-minute 3000 >"$LOG" 2>&1 &
  SIM_PID=$!
  trap 'kill "$SIM_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
  URL=""
  for _ in $(seq 1 100); do
    URL=$(sed -n 's/^genesys-sim listening on //p' "$LOG")
    [ -n "$URL" ] && break
    sleep 0.1
  done
  [ -n "$URL" ] || { echo "the simulator did not start:" >&2; cat "$LOG" >&2; exit 1; }
fi
echo "simulated org at $URL" >&2

FROM=$(date -u -d '4 days ago' +%F)
TO=$(date -u +%F)
start=$(date +%s.%N)
SUMMARY=$(GENESYS_CLIENT_ID="$CLIENT_ID" GENESYS_CLIENT_SECRET="$SECRET" \
  "$LOADER" extract --api-url "$URL" --login-url "$URL" \
  --dataset all --from "$FROM" --to "$TO" --out "$OUT" --job-poll-ms 200 \
  --max-requests-per-minute 2400)
end=$(date +%s.%N)

python3 - "$SUMMARY" "$start" "$end" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
print(f"run {s['run_id']}: {s['conversations']} conversations, {s['files']} files, "
      f"{float(sys.argv[3]) - float(sys.argv[2]):.1f} s wall")
for table, rows in s["rows"].items():
    print(f"  {table:<30} {rows:>8} rows")
print(f"manifest:    {s['manifest']}")
print(f"load script: {s['load_script']}")
PY

# The first day's conversations emit metrics the day before never saw: reconcile the other three.
echo "reconciling aggregates with details:" >&2
"$LOADER" reconcile --from "$(date -u -d '3 days ago' +%F)" --to "$TO" --out "$OUT"
