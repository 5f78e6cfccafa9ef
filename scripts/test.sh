#!/usr/bin/env bash
# The README's test command: installs what the tests need when it is missing, then runs them.
#   ./scripts/test.sh [extra arguments for cargo nextest run / cargo test]
# With CI set, nextest uses the `ci` profile of .config/nextest.toml.
set -euo pipefail

cd "$(dirname "$0")/.."

note() { printf 'test.sh: %s\n' "$*" >&2; }

# The SMTP tests talk to a small Python SMTP server.
if command -v python3 >/dev/null 2>&1; then
  if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    note "installing aiosmtpd"
    python3 -m pip install --quiet aiosmtpd \
      || python3 -m pip install --quiet --break-system-packages aiosmtpd \
      || note "could not install aiosmtpd; the SMTP tests will say so"
  fi
else
  note "no python3: the SMTP tests will say so"
fi

if cargo nextest --version >/dev/null 2>&1; then
  profile=()
  if [ -n "${CI:-}" ]; then
    profile=(--profile ci)
  fi
  exec cargo nextest run --workspace --all-targets ${profile[@]+"${profile[@]}"} "$@"
else
  note "cargo-nextest not found (cargo install cargo-nextest --locked); using cargo test"
  exec cargo test --workspace --all-targets "$@"
fi
