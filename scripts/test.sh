#!/usr/bin/env bash
# The README's test command: installs what the tests need when it is missing, then runs them:
# the cargo suite, then the admin page's browser tests (tests/browser, node --test).
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

status=0
if cargo nextest --version >/dev/null 2>&1; then
  profile=()
  if [ -n "${CI:-}" ]; then
    profile=(--profile ci)
  fi
  cargo nextest run --workspace --all-targets ${profile[@]+"${profile[@]}"} "$@" || status=$?
else
  note "cargo-nextest not found (cargo install cargo-nextest --locked); using cargo test"
  cargo test --workspace --all-targets "$@" || status=$?
fi

# The admin page in real headless Chromium (Debian's package), driven by playwright-core.
browser_status=0
if [ ! -x /usr/bin/chromium ]; then
  note "installing chromium (Debian package) for the browser tests"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || note "could not install chromium"
fi
if [ ! -d tests/browser/node_modules ]; then
  note "installing the browser tests' node modules (npm ci)"
  (cd tests/browser && npm ci --no-audit --no-fund --silent) || note "npm ci failed in tests/browser"
fi
# A no-op when the cargo tests above already built it.
cargo build --quiet --bin hookflow || browser_status=$?
if [ "$browser_status" -eq 0 ]; then
  node --test tests/browser/ || browser_status=$?
fi
if [ "$browser_status" -ne 0 ]; then
  note "browser tests failed (status $browser_status); screenshots of failures: tests/browser/failures/"
fi

if [ "$status" -ne 0 ]; then
  exit "$status"
fi
exit "$browser_status"
