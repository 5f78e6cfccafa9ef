#!/usr/bin/env bash
# Durable ingest while another program writes a lot to the same disk (a backup, a copy, a log
# shipper catching up): the draft workflow under wrk, with `dd` writing GB gigabytes beside it
# (WHEN=during) or just before it (WHEN=before: the load meets the writeback of those pages),
# for this build and, with BIN=another build, that one too, in turn (A B A B …), so both meet
# the same machine. Prints req/s, p50 and p99 of each run and each build's median p99.
#   ./scripts/ingest_pressure.sh                 # this build only
#   BIN=/path/to/old/hookflow ./scripts/ingest_pressure.sh
# Env: DURATION (10s), ROUNDS (3), GB (3), WHEN (during), CONNECTIONS (32). GB=0 measures the
# two builds on a quiet disk. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
GB=${GB:-3}
WHEN=${WHEN:-during}
CONNECTIONS=${CONNECTIONS:-32}
note() { printf 'ingest_pressure.sh: %s\n' "$*" >&2; }
command -v wrk >/dev/null 2>&1 || { note "wrk is needed (apt-get install wrk)"; exit 1; }
cargo build --release --quiet

builds=("target/release/hookflow")
[ -n "${BIN:-}" ] && builds+=("$BIN")
unset BIN
source scripts/lib/server.sh
source scripts/lib/wrk.sh

declare -A p99s
printf '%-8s %-50s %9s %8s %8s\n' round build "req/s" "p50 ms" "p99 ms"
for round in $(seq "$ROUNDS"); do
  for b in "${builds[@]}"; do
    bin=$b
    start_server "$work/data-$round"
    url=$(curl -fsS "$server/api/workflows" | python3 -c '
import json, sys
print(next(w["url"] for w in json.load(sys.stdin)["items"] if w["id"] == "telehealth-visits"))')
    dd if=/dev/zero of="$work/pressure" bs=1M count=$((GB * 1024)) status=none &
    dd_pid=$!
    other_pids="$other_pids $dd_pid"
    [ "$WHEN" = during ] || wait "$dd_pid"
    out=$(wrk --timeout 10s --latency -s scripts/post.lua -t2 -c"$CONNECTIONS" -d"$DURATION" "$url")
    kill "$dd_pid" 2>/dev/null || true
    wait "$dd_pid" 2>/dev/null || true
    stop_server
    rm -rf "$work/pressure" "$work/data-$round"
    sync
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    p99=$(wrk_percentile "$out" 99%)
    p99s[$b]="${p99s[$b]:-} $p99"
    printf '%-8s %-50s %9s %8s %8s\n' "$round" "$b" "$rps" "$(wrk_percentile "$out" 50%)" "$p99"
  done
done
echo
for b in "${builds[@]}"; do
  printf 'median p99 %-50s %s ms\n' "$b" \
    "$(tr ' ' '\n' <<<"${p99s[$b]}" | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
done
