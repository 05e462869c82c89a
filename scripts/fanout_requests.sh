#!/usr/bin/env bash
# Requests per 1,000 conversations of the datasets that read per conversation or evaluation
# (evaluations by search and one by one, recordings), measured against the simulated org:
# each dataset is extracted alone over the same days, and the run's API requests (token
# requests excluded) are divided by the conversations of those days.
#
#   bash scripts/fanout_requests.sh [conversations per day] [days]
set -euo pipefail
cd "$(dirname "$0")/.."
PER_DAY="${1:-1000}"
DAYS="${2:-2}"
cargo build --locked --quiet -p genesys-loader -p genesys-sim --bins
FROM=$(date -u -d "$((DAYS + 2)) days ago" +%F)
TO=$(date -u -d "2 days ago" +%F)
CONVERSATIONS=$((PER_DAY * DAYS))

measure() { # profile dataset label
  local log out url pid summary
  log=$(mktemp); out=$(mktemp -d)
  target/debug/genesys-sim --port 0 --per-day "$PER_DAY" --profile "$1" \
    --client-id c --client-secret s >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^genesys-sim listening on //p' "$log"); [ -n "$url" ] && break; sleep 0.1
  done
  summary=$(GENESYS_CLIENT_ID=c GENESYS_CLIENT_SECRET=s target/debug/genesys-loader extract \
    --api-url "$url" --login-url "$url" --dataset "$2" --from "$FROM" --to "$TO" --out "$out" \
    --job-poll-ms 200 --max-requests-per-minute 6000 2>/dev/null)
  kill "$pid" 2>/dev/null || true
  python3 - "$summary" "$out" "$3" "$CONVERSATIONS" <<'PY'
import json, sys, pathlib
s = json.loads(sys.argv[1])
m = json.loads(pathlib.Path(sys.argv[2], "_manifests", s["run_id"] + ".json").read_text())
api = m["stats"]["api"]
n = int(sys.argv[4])
rows = ", ".join(f"{t} {r}" for t, r in sorted(s["rows"].items()))
print(f"{sys.argv[3]:<34} {api['requests']:>6} requests  {1000 * api['requests'] / n:>7.1f} per 1,000 conversations  ({rows})")
PY
  rm -rf "$log" "$out"
}

echo "$DAYS days of $PER_DAY conversations ($CONVERSATIONS), $FROM to $TO:"
measure least-privilege evaluations "evaluations (search)"
measure no-quality-search evaluations "evaluations (one by one)"
measure least-privilege recordings "recordings"
