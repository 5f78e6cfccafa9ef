#!/usr/bin/env bash
# Contacts CSV rates: release build, a fresh server on 127.0.0.1, N generated contacts
# (default 100,000: email, names, a unique phone, two tags, two custom fields) imported with
# `hookflow contacts import`, exported with `hookflow contacts export`, then rows/s of each and
# the server's peak RSS.
#   N=100000 ./scripts/csv_rates.sh
# It kills only the server it started and removes its temp files.
set -euo pipefail

cd "$(dirname "$0")/.."

N=${N:-100000}
note() { printf 'csv_rates.sh: %s\n' "$*" >&2; }
cargo build --release
. scripts/lib/server.sh

# Phones 212-200-0000 onwards are valid US numbers, one per contact.
awk -v n="$N" 'BEGIN {
  print "Email,First Name,Last Name,Phone,Tags,DND,Plan,Visits"
  for (i = 0; i < n; i++)
    printf "person%d@example.com,First%d,Last%d,+1212%07d,\"lead;batch%d\",%s,plan%d,%d\n",
      i, i, i, 2000000 + i, i % 10, (i % 7 == 0 ? "true" : "false"), i % 3, i
}' >"$work/in.csv"
note "generated $N contacts ($(du -h "$work/in.csv" | cut -f1))"

start_server

now() { date +%s.%N; }
cli() { env -u HOOKFLOW_ADMIN_TOKEN "$bin" "$@" --server "$server"; }

t0=$(now)
summary=$(cli contacts import "$work/in.csv" | head -1)
t1=$(now)
note "import: $summary"
[ "$summary" = "created $N, updated 0, skipped 0" ] || { note "unexpected import result"; exit 1; }
rss_import=$(awk '/^VmHWM:/ { print $2 }' "/proc/${server_pid}/status")

t2=$(now)
cli contacts export "$work/out.csv" 2>/dev/null
t3=$(now)
rows=$(($(wc -l <"$work/out.csv") - 1))
[ "$rows" -eq "$N" ] || { note "exported $rows rows, expected $N"; exit 1; }
rss_export=$(awk '/^VmHWM:/ { print $2 }' "/proc/${server_pid}/status")

rate() { awk -v n="$N" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f rows/s (%.2f s)", n / (b - a), b - a }'; }
printf 'contacts:                      %s\n' "$N"
printf 'import (CLI → server):         %s\n' "$(rate "$t0" "$t1")"
printf 'export (server → CLI → file):  %s\n' "$(rate "$t2" "$t3")"
printf 'server peak RSS after import:  %s MiB\n' "$(awk -v k="$rss_import" 'BEGIN { printf "%.1f", k / 1024 }')"
printf 'server peak RSS after export:  %s MiB\n' "$(awk -v k="$rss_export" 'BEGIN { printf "%.1f", k / 1024 }')"
