#!/usr/bin/env bash
# Speed and memory of the decode and write path, against what a user would otherwise run.
#
#   bash scripts/bench.sh [--record]
#
# 1. Builds release binaries and a raw zone from the simulated org (`extract --keep-raw` of
#    BENCH_DAYS days × BENCH_PER_DAY conversations: job-result pages, over 100 MB of JSON).
# 2. Times, each in its own process, on the same pages: `genesys-loader rebuild` (reads the
#    zstd raw zone, writes all 15 tables), DuckDB (read_json → 5 core tables → zstd Parquet,
#    2 threads) and a plain Python json + pyarrow ETL (the same 5 tables), the last two reading
#    the pages decompressed. CPU = user + system time (getrusage); peak RSS = max resident set.
# 3. Peak RSS of `rebuild` for 1 vs 30 days (1,000 conversations a day), for 1,000 vs 50,000
#    conversations in a day, and for 2 days of 50,000 (two large days rebuilt at once), into a
#    local folder and into S3 (moto, an S3-compatible server on 127.0.0.1, from PyPI).
#    `rebuild` of every other partitioned dataset on the same days (aggregates grouped by
#    queue, media type, user and direction), per MB of its pages, beside conversations; and
#    DuckDB making the aggregates' rows from the same pages (scripts/bench/duckdb_aggregates.py),
#    since an aggregate page makes 2.8 times a conversation page's values per byte (counted in
#    benches/profile.md, "Twentieth round").
#    Recordings take one request per recorded conversation: their pages are extracted from a
#    simulator that advertises a request budget no run reaches (at the platform's 300 a
#    minute, which the simulator advertises by default, a day of 5,000 conversations takes
#    nine minutes to extract).
# 4. API requests per 1,000 conversations on the job and the query path, and the wall time of
#    a 7-day backfill against a simulator enforcing 300 requests a minute; jobs there finish
#    BENCH_JOB_MS (default 5,000) after submission, polled as the loader does by default.
#
# BENCH_LOADER names the loader binary to time (default target/release/genesys-loader; the
# profile-guided build of scripts/build-release.sh is target/pgo/release/genesys-loader).
#
# Each tool is timed BENCH_RUNS times (default 3), the tools taking turns, and reported by its
# median run: on a shared VM one run can be 20% off its neighbours.
#
# Prints the tables; compares the loader's figures with benches/results.json (a warning when a
# run is more than 15% slower, and whether its ratios to DuckDB and Python moved too, which
# tells a slower loader from a slower machine) and rewrites that file with --record. Scratch
# data lives under target/bench and is removed at the end (BENCH_KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
PER_DAY="${BENCH_PER_DAY:-5000}"
DAYS="${BENCH_DAYS:-4}"
JOB_MS="${BENCH_JOB_MS:-5000}"
RUNS="${BENCH_RUNS:-3}"
RECORD="${1:-}"
B=target/bench
VENV=target/bench-venv
PY="$VENV/bin/python"
M=scripts/bench/measure.py
LOG="$B/runs.jsonl"

echo "building release binaries..." >&2
cargo build --release --locked --quiet -p genesys-loader -p genesys-sim --bins
# The loader timed: the plain release build, or BENCH_LOADER (the binary that
# scripts/build-release.sh builds with profile-guided optimization, for one).
LOADER="${BENCH_LOADER:-target/release/genesys-loader}"
[ -x "$LOADER" ] || { echo "BENCH_LOADER $LOADER is not an executable" >&2; exit 1; }
echo "timing $LOADER" >&2
# Pinned, so the comparison is with the same tools from run to run.
PINS=(duckdb==2.0.1 pyarrow==26.0.1 "moto[s3,server]==5.2.5")
if ! "$PY" -c 'import duckdb, pyarrow, moto' 2>/dev/null || [ "$(cat "$VENV/pins" 2>/dev/null)" != "${PINS[*]}" ]; then
  echo "installing ${PINS[*]} into $VENV..." >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" >"$VENV/pins"
fi
rm -rf "$B"
mkdir -p "$B"

. scripts/lib/sim.sh
MOTO_PID=""
stop_moto() { [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null; wait "$MOTO_PID" 2>/dev/null || true; MOTO_PID=""; }
trap 'stop_sim; stop_moto; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$B"' EXIT
# An S3-compatible server on a free loopback port, with a bucket `bench`; sets S3_URL.
start_moto() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$PY" -m moto.server -H 127.0.0.1 -p "$port" >"$B/moto.log" 2>&1 &
  MOTO_PID=$!
  S3_URL="http://127.0.0.1:$port"
  # The AWS variables that point the loader at it.
  S3ENV=(AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
    "AWS_ENDPOINT_URL=$S3_URL" AWS_ALLOW_HTTP=true)
  for _ in $(seq 1 100); do
    kill -0 "$MOTO_PID" 2>/dev/null || break
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/bench", method="PUT"))' \
      "$S3_URL" 2>/dev/null && return
    sleep 0.2
  done
  echo "the S3 server did not start:" >&2; cat "$B/moto.log" >&2; exit 1
}
start_sim() { launch_sim "$B/sim.log" --client-id bench --client-secret bench --per-day "$@"; } # per-day [flags...]
extract_datasets() { # datasets out from to [flags...]; prints the run summary
  local datasets=$1 out=$2 from=$3 to=$4; shift 4
  GENESYS_CLIENT_ID=bench GENESYS_CLIENT_SECRET=bench "$LOADER" extract \
    --api-url "$URL" --login-url "$URL" --dataset "$datasets" --from "$from" --to "$to" \
    --out "$out" "$@" 2>>"$B/extract.log"
}
extract() { extract_datasets conversations "$@"; }
# Requests per 1,000 conversations of a run, from its manifest.
per_1000() { # out summary
  python3 - "$1" "$2" <<'PY'
import json, pathlib, sys
s = json.loads(sys.argv[2])
m = json.loads(pathlib.Path(sys.argv[1], "_manifests", s["run_id"] + ".json").read_text())
n, r = s["conversations"], m["stats"]["api"]["requests"]
print(f"{r} requests for {n} conversations: {1000 * r / max(n, 1):.2f} per 1,000")
PY
}
# Bytes of one dataset's page JSON in a raw zone (of one extraction).
dataset_bytes() { # zone dataset
  local total=0 f
  for f in "$1"/_raw/"$2"/*/*.json.zst; do
    [ -e "$f" ] || continue
    total=$((total + $(zstd -dc "$f" | wc -c)))
  done
  echo "$total"
}
# Bytes of page JSON in a raw zone (one day, or all), decompressed into $2 when given.
page_bytes() { # zone day-glob [dest]
  local total=0 f
  for f in "$1"/_raw/conversations/conversation_date=$2/*.json.zst; do
    if [ -n "${3:-}" ]; then
      # Page file names repeat across days: the day goes into the name.
      local dest
      dest="$3/$(basename "$(dirname "$f")" | tr = -)-$(basename "$f" .zst)"
      zstd -dqf "$f" -o "$dest"
      total=$((total + $(stat -c %s "$dest")))
    else
      total=$((total + $(zstd -dc "$f" | wc -c)))
    fi
  done
  echo "$total"
}

# The first day that is whole and well before the jobs' data availability (36 h by default).
day() { date -u -d "$1 days ago" +%F; }

echo "raw zone: $DAYS days × $PER_DAY conversations (job path)..." >&2
# Jobs finish 5 s after submission, however often they are polled (as the platform's do, by
# time); the loader polls as it does by default, so the requests counted are a real run's.
start_sim "$PER_DAY" --job-processing-ms "$JOB_MS"
FROM=$(day $((DAYS + 3))); TO=$(day 3)
SUMMARY=$(extract "$B/zone" "$FROM" "$TO" --keep-raw --max-requests-per-minute 100000)
JOB_REQ=$(per_1000 "$B/zone" "$SUMMARY")
echo "query path: 1 day × $PER_DAY conversations..." >&2
QSUM=$(extract "$B/query" "$(day 1)" "$(day 0)" --max-requests-per-minute 100000)
QUERY_REQ=$(per_1000 "$B/query" "$QSUM")
echo "the other partitioned datasets: the same $DAYS days..." >&2
stop_sim
# Recordings take a request per recorded conversation: this simulator advertises (and
# enforces) a request budget no run reaches, where the default advertises the platform's 300.
start_sim "$PER_DAY" --job-processing-ms "$JOB_MS" --rate-limit-per-minute 1000000
OTHERS=(conversation-aggregates evaluations wfm-schedules wfm-adherence recordings)
extract_datasets "$(IFS=,; echo "${OTHERS[*]}")" "$B/others" "$FROM" "$TO" --keep-raw \
  --group-by queueId,mediaType,userId,direction --max-requests-per-minute 100000 >/dev/null
stop_sim
rm -rf "$B/query"
mkdir -p "$B/pages"
BYTES=$(page_bytes "$B/zone" '*' "$B/pages")

echo "timing the tools on $((BYTES / 1000000)) MB of pages, $RUNS alternating runs each..." >&2
for _ in $(seq 1 "$RUNS"); do
  # Each rebuild commits a run of its own beside the last; the others write afresh.
  rm -rf "$B/duckdb" "$B/python"
  python3 $M run "$LOG" "genesys-loader rebuild (15 tables, zstd)" "$BYTES" -- \
    "$LOADER" rebuild --dataset conversations --from "$FROM" --to "$TO" --out "$B/zone"
  python3 $M run "$LOG" "DuckDB read_json → 5 tables → zstd Parquet, 2 threads" "$BYTES" -- \
    "$PY" scripts/bench/duckdb_etl.py "$B/pages" "$B/duckdb"
  python3 $M run "$LOG" "Python json + pyarrow, 5 tables, zstd" "$BYTES" -- \
    "$PY" scripts/bench/python_etl.py "$B/pages" "$B/python"
done
rm -rf "$B/pages" "$B/duckdb" "$B/python" "$B/zone"
declare -A DS_BYTES
for ds in "${OTHERS[@]}"; do DS_BYTES[$ds]=$(dataset_bytes "$B/others" "$ds"); done
# The aggregates' pages, decompressed for DuckDB (names repeat across days: the day goes in).
mkdir -p "$B/aggpages"
for f in "$B"/others/_raw/conversation-aggregates/*/*.json.zst; do
  [ -e "$f" ] || continue
  zstd -dqf "$f" -o "$B/aggpages/$(basename "$(dirname "$f")" | tr = -)-$(basename "$f" .zst)"
done
for _ in $(seq 1 "$RUNS"); do
  for ds in "${OTHERS[@]}"; do
    python3 $M run "$LOG" "dataset:$ds" "${DS_BYTES[$ds]}" -- \
      "$LOADER" rebuild --dataset "$ds" --from "$FROM" --to "$TO" --out "$B/others"
  done
  # DuckDB refuses an empty glob: no pages (a range without aggregates), no comparison.
  if [ "${DS_BYTES[conversation-aggregates]}" -gt 0 ]; then
    rm -rf "$B/duckagg"
    python3 $M run "$LOG" "duckdb:conversation-aggregates" "${DS_BYTES[conversation-aggregates]}" -- \
      "$PY" scripts/bench/duckdb_aggregates.py "$B/aggpages" "$B/duckagg"
  fi
done
rm -rf "$B/others" "$B/aggpages" "$B/duckagg"

echo "memory: 30 days × 1,000 conversations, then 1 and 2 days × 50,000, and 2 into S3..." >&2
start_sim 1000
FROM30=$(day 33); TO30=$(day 3)
extract "$B/mem1k" "$FROM30" "$TO30" --keep-raw --job-poll-ms 200 --max-requests-per-minute 100000 >/dev/null
stop_sim
python3 $M run "$LOG" "rss:1 day × 1,000 conversations" "$(page_bytes "$B/mem1k" "$FROM30")" -- \
  "$LOADER" rebuild --dataset conversations --date "$FROM30" --out "$B/mem1k"
python3 $M run "$LOG" "rss:30 days × 1,000 conversations" "$(page_bytes "$B/mem1k" '*')" -- \
  "$LOADER" rebuild --dataset conversations --from "$FROM30" --to "$TO30" --out "$B/mem1k"
rm -rf "$B/mem1k"
start_sim 50000
D50=$(day 5)
extract "$B/mem50k" "$D50" "$(day 3)" --keep-raw --job-poll-ms 200 --max-requests-per-minute 100000 >/dev/null
# The same two days into S3, whose raw zone the S3 rebuild below reads.
start_moto
(export "${S3ENV[@]}"; extract "s3://bench/mem50k" "$D50" "$(day 3)" --keep-raw --job-poll-ms 200 --max-requests-per-minute 100000 >/dev/null)
stop_sim
python3 $M run "$LOG" "rss:1 day × 50,000 conversations" "$(page_bytes "$B/mem50k" "$D50")" -- \
  "$LOADER" rebuild --dataset conversations --date "$D50" --out "$B/mem50k"
# Two such days: the default --concurrency 2 rebuilds them at once.
BYTES50=$(page_bytes "$B/mem50k" '*')
python3 $M run "$LOG" "rss:2 days × 50,000 conversations" "$BYTES50" -- \
  "$LOADER" rebuild --dataset conversations --from "$D50" --to "$(day 3)" --out "$B/mem50k"
# On S3 parts must be full (5 MiB), so upload buffers cannot be sent early: they wait on disk.
python3 $M run "$LOG" "rss:2 days × 50,000 conversations, into S3" "$BYTES50" -- \
  env "${S3ENV[@]}" "$LOADER" rebuild --dataset conversations --from "$D50" --to "$(day 3)" --out "s3://bench/mem50k"
stop_moto
rm -rf "$B/mem50k"

echo "7-day backfill against 300 requests a minute..." >&2
start_sim "$PER_DAY" --rate-limit-per-minute 300 --job-processing-ms "$JOB_MS"
start=$(date +%s.%N)
BSUM=$(extract "$B/backfill" "$(day 10)" "$(day 3)")
end=$(date +%s.%N)
BACKFILL_REQ=$(per_1000 "$B/backfill" "$BSUM")
stop_sim
rm -rf "$B/backfill"

python3 $M table "$LOG" benches/results.json $RECORD --loader "$LOADER"
echo
echo "requests per 1,000 conversations ($PER_DAY a day):"
echo "  job path (extract of $DAYS days): $JOB_REQ"
echo "  query path (1 recent day):        $QUERY_REQ"
printf '7-day backfill, %s conversations a day, simulator enforcing 300 requests/minute, jobs taking %s ms, default polling: %.0f s wall; %s\n' \
  "$PER_DAY" "$JOB_MS" "$(echo "$end - $start" | bc)" "$BACKFILL_REQ"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
