#!/usr/bin/env bash
# What the heap holds at its peak under the booking load, by part of the server: heaptrack on a
# build with the system allocator (heaptrack sees malloc only), BOOKINGS new patients booked
# through optimantra-booking (wrk -t2 -c32, each thread stopping after its half, so two runs do
# the same work however fast the machine is), then every run and email finished. Prints the
# heap's peak, the peak RSS under heaptrack, and the heap's peak split by part: what is left of
# the peak RSS besides it is the allocator's and the binary's (see README, "Memory"). Not part of
# the test run.
#   ./scripts/heap_profile.sh              # 40,000 bookings
#   BOOKINGS=100000 KEEP=/tmp/heap ./scripts/heap_profile.sh   # keeps heaptrack's file there
set -euo pipefail
cd "$(dirname "$0")/.."

BOOKINGS=${BOOKINGS:-40000}
note() { printf 'heap_profile.sh: %s\n' "$*" >&2; }
. scripts/lib/need.sh
need wrk wrk
need heaptrack heaptrack
command -v heaptrack_print >/dev/null || { note "heaptrack_print is missing (Debian: heaptrack)"; exit 1; }

# Its own target dir: the features differ from the release build's, and so would its cache.
target=target/heap-profile
note "building with the system allocator into $target (non-LTO, line tables for heaptrack)"
CARGO_TARGET_DIR=$target CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release --quiet --features system-alloc --bin hookflow

# server.sh gives the port, $server, a temp dir ($work) and wait_healthy; the server is started
# here under heaptrack, so this script stops it itself (below) instead of stop_server.
. scripts/lib/server.sh
bin=$target/release/hookflow
tracker=""
# The traced server itself (heaptrack's own script carries the same command line).
child() {
  local pid
  for pid in $(pgrep -f -- "--data $work/data"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = hookflow ] && echo "$pid" && return 0
  done
  return 1
}
stop_traced() {
  local pid
  pid=$(child || true)
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  [ -n "$tracker" ] && wait "$tracker" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$work"/heap.* "$KEEP"/ 2>/dev/null || true
  cleanup
}
trap stop_traced EXIT

env -u HOOKFLOW_ADMIN_TOKEN heaptrack -o "$work/heap" "$bin" serve --compact-above 0 \
  --workflows ./workflows --data "$work/data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
tracker=$!
SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-20} wait_healthy "$tracker" "$work/server.log"
. scripts/lib/measure.sh
url=$(env -u HOOKFLOW_ADMIN_TOKEN "$bin" urls --server "$server" |
  awk -F '\t' '$1 == "optimantra-booking" { print $2 }')

# wrk keeps running until -d even once its threads have stopped: it is stopped here once the
# server has answered every booking (its request counter, summed over statuses).
answered() {
  curl -fsS "$server/metrics" | awk '/^hookflow_requests_total\{/ && /optimantra-booking/ { n += $NF }
    END { printf "%d", n }'
}
t0=$(now)
BENCH_MAX=$((BOOKINGS / 2)) BENCH_THREADS=2 BENCH_BASE=0 \
  wrk -t2 -c32 -d600s -s scripts/bench/fixed_patients.lua "$url" >"$work/wrk.txt" &
load=$!
while [ "$(answered)" -lt "$BOOKINGS" ] && kill -0 "$load" 2>/dev/null; do sleep 0.2; done
load_s=$(since "$t0")
taken=$(answered)
kill -INT "$load" 2>/dev/null || true
wait "$load" || true
wait_drained "$t0"
pid=$(child)
rss=$(hwm_mib "$pid")
kill "$pid"
wait "$tracker" || true
tracker=""
data=$(ls "$work"/heap.*)

echo "heap_profile.sh: $taken bookings answered in ${load_s} s (under heaptrack), every run done at ${runs_done} s, every email at ${mail_done} s"
echo "peak RSS under heaptrack (its own overhead included): $rss MiB"
heaptrack_print -f "$data" --print-peaks 0 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
  2>/dev/null | grep -E '^(peak heap memory|calls to allocation)'
heaptrack_print -f "$data" --print-peaks 0 --print-allocators 0 --print-temporary 0 \
  --print-leaks 0 -F "$work/peak.stacks" --flamegraph-cost-type peak >/dev/null 2>&1
# sled's own source files name its frames (heaptrack prints a frame's file, not its crate).
find vendor/sled/src -name '*.rs' -printf '%f\n' | sort -u >"$work/sled.files"
find src -name '*.rs' -printf '%f\n' | sort -u >"$work/own.files"
python3 scripts/bench/heap_parts.py "$work/peak.stacks" "$work/sled.files" "$work/own.files"
