#!/usr/bin/env bash
# The README's test command: installs what the tests need when it is missing, then runs them.
#   ./scripts/test.sh [extra arguments for cargo nextest run / cargo test]
# With CI set, nextest uses the `ci` profile of .config/nextest.toml.
set -euo pipefail

cd "$(dirname "$0")/.."

note() { printf 'test.sh: %s\n' "$*" >&2; }

# Root runs apt directly; others go through sudo when there is one.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 1
  fi
}

have_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
have_chromium || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    note "installing ${missing[*]}"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      || ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; then
      note "could not install ${missing[*]}; tests that need them will say so"
    fi
  else
    note "no apt-get: install ${missing[*]} yourself; tests that need them will say so"
  fi
fi

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
