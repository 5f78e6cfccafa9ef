#!/usr/bin/env bash
# Two (or more) hookflow builds under the same short load, in turn (A B A B …), each on a fresh
# server and data dir, so that every build meets the same hour of a VM whose speed drifts: the
# server's CPU a request (user + system, from /proc) is the figure to compare, req/s and p99
# move with the hour. Not part of the test run.
#   ./scripts/side_by_side.sh /path/to/old/hookflow target/release/hookflow
#   LOAD=sustained ROUNDS=6 ./scripts/side_by_side.sh OLD NEW
# LOAD: draft (default: the booking sample posted to telehealth-visits, stored and flushed, no
# run), booking (the same body to optimantra-booking; its runs go on after the load) or
# sustained (a new patient per request to optimantra-booking, then until every run has
# finished and every email is written: CPU a booking, and when the runs were done, counted from
# the load's start, with the bookings a second that makes). ROUNDS (4), DURATION (10s), CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD=${LOAD:-draft}
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
note() { printf 'side_by_side.sh: %s\n' "$*" >&2; }
[ $# -ge 1 ] || { note "usage: side_by_side.sh BIN [BIN…]"; exit 2; }
. scripts/lib/need.sh
need wrk wrk
case $LOAD in
  draft) workflow=telehealth-visits script=scripts/post.lua ;;
  booking) workflow=optimantra-booking script=scripts/post.lua ;;
  sustained) workflow=optimantra-booking script=scripts/bench/new_patient.lua ;;
  *) note "LOAD is draft, booking or sustained, not '$LOAD'"; exit 2 ;;
esac

printf '%-5s %-44s %8s %9s %13s %9s\n' round build "req/s" "p99" "CPU a request" "peak RSS"
for round in $(seq 1 "$ROUNDS"); do
  for build in "$@"; do
    (
      BIN=$build
      source scripts/lib/server.sh
      source scripts/lib/measure.sh
      start_server
      url=$(env -u HOOKFLOW_ADMIN_TOKEN "$bin" urls --server "$server" |
        awk -F '\t' -v w="$workflow" '$1 == w { print $2 }')
      c0=$(cpu_s "$server_pid")
      t0=$(now)
      BENCH_THREADS=2 BENCH_BASE=0 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency \
        -s "$script" "$url" >"$work/wrk.txt"
      runs_done=""
      if [ "$LOAD" = sustained ]; then
        wait_drained "$t0"
      fi
      cpu=$(cpu_since "$server_pid" "$c0")
      n=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
      awk -v round="$round" -v build="$build" -v us="$(per_us "$cpu" "$n")" \
        -v rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/wrk.txt")" \
        -v p99="$(awk '$1 == "99%" { print $2 }' "$work/wrk.txt")" \
        -v hwm="$(hwm_mib "$server_pid")" -v n="$n" -v done_s="$runs_done" \
        'BEGIN { printf "%-5d %-44s %8d %9s %10d us %5s MiB", round, build, rps, p99, us, hwm
                 if (done_s != "") printf "  runs done %5.2f s, %5.0f bookings/s", done_s, n / done_s
                 printf "\n" }'
    )
  done
done
