# Sourced by scripts/bench.sh and scripts/build-release.sh (from the repository root).
#
# launch_sim LOG [genesys-sim flags...]: starts the release simulator on a free loopback port,
# its output in LOG; sets SIM_PID and URL, or exits naming why it did not start.
# stop_sim: stops it, if one runs (safe in an EXIT trap).
SIM_PID=""
stop_sim() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""; }
launch_sim() {
  local log=$1
  shift
  # A fresh file: the shell truncates a redirect in the child, which may run after the loop
  # below has read an earlier simulator's address from the old one.
  rm -f "$log"
  target/release/genesys-sim --port 0 "$@" >"$log" 2>&1 &
  SIM_PID=$!
  URL=""
  for _ in $(seq 1 200); do
    URL=$(sed -n 's/^genesys-sim listening on //p' "$log" 2>/dev/null); [ -n "$URL" ] && break; sleep 0.1
  done
  [ -n "$URL" ] || { echo "the simulator did not start:" >&2; cat "$log" >&2; exit 1; }
}
