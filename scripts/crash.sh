#!/usr/bin/env bash
# Crash harness (not part of the test run): mixed load on the shipped workflows, kill -9 of the
# server at a chosen moment of each round, restart on the same data dir, drain, audit.
#   ./scripts/crash.sh [ROUNDS]        (default 50; CRASH_SEED=N repeats a round plan,
#                                       CRASH_MAIL=smtp sends to a local aiosmtpd sink,
#                                       CRASH_WORKERS=6 senders, CRASH_KEEP=1 keeps the work dir,
#                                       CRASH_POINTS=email,run only those kill points)
# Prints one line per round and a summary; exit 1 when anything acknowledged was lost, ran
# twice or not at all, emailed twice, or when an index or a timer disagrees with its records.
# It kills only the server it started, and removes its temp dir unless something was found.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v python3 >/dev/null 2>&1 || { echo "crash.sh: python3 is needed" >&2; exit 1; }
cargo build --release --quiet
exec python3 scripts/crash/main.py "${1:-50}" target/release/hookflow
