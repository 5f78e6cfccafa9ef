#!/usr/bin/env bash
# Load test: release build, a fresh server on 127.0.0.1, wrk posting the OptiMantra booking
# sample to its workflow URL, then requests/s, latency p50/p99 and the server's peak RSS.
#   DURATION=60s ./scripts/load.sh      (default 20s; THREADS=2 CONNECTIONS=32)
# It stops by itself, kills only the server it started, and removes its data dir.
set -euo pipefail

cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WORKFLOW=${WORKFLOW:-optimantra-booking}

note() { printf 'load.sh: %s\n' "$*" >&2; }

. scripts/lib/need.sh
need wrk wrk
cargo build --release
. scripts/lib/server.sh
start_server

url=$(env -u HOOKFLOW_ADMIN_TOKEN "$bin" urls --server "$server" \
  | awk -F '\t' -v id="$WORKFLOW" '$1 == id { print $2 }') || true
case "$url" in
  http://127.0.0.1:*) ;;
  *)
    note "no local URL for ${WORKFLOW} (got '${url}')"
    exit 1
    ;;
esac

note "wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION} against ${WORKFLOW} on 127.0.0.1:${port}"
out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency \
  -s scripts/post.lua "$url")
printf '%s\n\n' "$out"

# Peak RSS of the server process over its whole life, read before stopping it.
hwm_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/${server_pid}/status")

rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }')
p50=$(printf '%s\n' "$out" | awk '$1 == "50%" { print $2 }')
p99=$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')
non2xx=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses:/ { print $NF }')

printf 'requests/s:        %s\n' "${rps:-?}"
printf 'latency p50:       %s\n' "${p50:-?}"
printf 'latency p99:       %s\n' "${p99:-?}"
printf 'peak RSS (MiB):    %s\n' "$(awk -v k="${hwm_kib:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
printf 'non-2xx responses: %s\n' "${non2xx:-0}"
