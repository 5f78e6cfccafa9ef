#!/usr/bin/env bash
# Runs sled's own tests (those of the published 0.34.7) against hookflow's patched copy in
# vendor/sled (see vendor/README.md). Not part of the test run: it builds sled's test
# dependencies and takes a few minutes.
#   ./scripts/sled_tests.sh                                  # tests/test_tree.rs
#   TESTS="test_tree test_crash_recovery" ./scripts/sled_tests.sh
# sled's tests need its `testing` feature (test-sized nodes, delays that shake out races).
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=${TESTS:-test_tree}
note() { printf 'sled_tests.sh: %s\n' "$*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The published crate holds the tests; cargo fetches it through a throwaway package.
mkdir -p "$work/fetch/src"
touch "$work/fetch/src/lib.rs"
cat >"$work/fetch/Cargo.toml" <<'EOF'
[package]
name = "fetch-sled"
version = "0.0.0"
edition = "2021"

[dependencies]
sled = "=0.34.7"
EOF
(cd "$work/fetch" && cargo fetch --quiet)
published=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/sled-0.34.7 | head -1)
[ -d "$published/tests" ] || { note "no tests in $published"; exit 1; }

cp -r "$published" "$work/sled"
rm -rf "$work/sled/src"
cp -r vendor/sled/src "$work/sled/src"
# This compiler refuses one line of the 2021 test code (a receiver not declared `mut`).
sed -i 's/let sub = db.watch_prefix(b"k1");/let mut sub = db.watch_prefix(b"k1");/' \
  "$work/sled/tests/test_tree.rs"
status=0
for t in $TESTS; do
  note "cargo test --release --features testing --test $t"
  log="$work/$t.log"
  if (cd "$work/sled" && cargo test --release --quiet --features testing --test "$t") >"$log" 2>&1; then
    result=passed
  else
    result=FAILED
    status=1
  fi
  grep -E '^test result|FAILED|amplification' "$log" || true
  # The crash test's children are killed on purpose; one that panics first is not a failure
  # of the test, but its message is worth seeing (it found the blob bug in vendor/README.md).
  panics=$(grep -c 'panicked at tests' "$log" || true)
  printf '%s: %s; child panics %s\n' "$t" "$result" "$panics"
  [ "$panics" = 0 ] || grep -A1 'panicked at tests' "$log" | grep -v -e '^--' -e 'panicked at' | sort | uniq -c
done
exit $status
