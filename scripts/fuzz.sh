#!/usr/bin/env bash
# Fuzzes hookflow's parsers with cargo-fuzz (libFuzzer, nightly), one target after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 600 seconds per target, every target
#
# Each target's corpus (fuzz/corpus/TARGET) is seeded from samples/ and workflows/ at the start
# of the run, plus fuzz/regressions/TARGET (inputs that once found a bug); corpora and crash files stay out of git. Prints, per target, the executions, the
# time and the findings (files under fuzz/artifacts/TARGET). Exit 1 when anything was found.
# Not part of the default test run. FUZZ_SANITIZER=address turns AddressSanitizer on (slower;
# hookflow itself has no unsafe code, so the default is none).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-600}
shift || true
all_targets=(body workflow_yaml template jsonpath signature)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
sanitizer=${FUZZ_SANITIZER:-none}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "error: cargo-fuzz needs the nightly toolchain: rustup toolchain install nightly" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo +nightly install cargo-fuzz --locked || cargo install cargo-fuzz
fi

# seed TARGET: fills fuzz/corpus/TARGET with inputs in the target's format (see its doc).
seed() {
  local target=$1 dir="$root/fuzz/corpus/$1" n=0 f ct
  mkdir -p "$dir"
  local paths=('$.email' '$.contact.email' '$[*]' '$..id' "\$['@type']" '$.items[0].name'
    '$.data[?@.amount > 10]' '$.appointment.id')
  local templates=('{{ trigger.email }}' 'Hi {{ contact.first_name | default("there") }}!'
    '{{ trigger.id }}:{{ trigger.type }}' "{{ trigger.data.amount * 2 }}"
    "{% for k in trigger %}{{ k }},{% endfor %}" "{{ email | lower }}")
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    case "$target" in
      body)
        case "$f" in
          *.form) ct='application/x-www-form-urlencoded' ;;
          *.query) ct='text/plain' ;;
          *.txt) ct='text/plain; charset=utf-8' ;;
          *.xml) ct='application/xml' ;;
          *) ct='application/json' ;;
        esac
        # CONTENT-TYPE, CONTENT-ENCODING (empty: none), body; and the same body gzipped.
        { printf '%s\n\n' "$ct"; cat "$f"; } >"$dir/seed-$n"
        { printf '%s\ngzip\n' "$ct"; gzip -c "$f"; } >"$dir/seed-$n-gzip"
        ;;
      template) { printf '%s\n' "${templates[n % ${#templates[@]}]}"; cat "$f"; } >"$dir/seed-$n" ;;
      jsonpath) { printf '%s\n' "${paths[n % ${#paths[@]}]}"; cat "$f"; } >"$dir/seed-$n" ;;
      signature) { printf '%b' "\\x0$((n % 8))"; printf 'sha256=00ff\n'; cat "$f"; } >"$dir/seed-$n" ;;
    esac
  done < <(find "$root/samples" -type f ! -name '*.md' -print0 | sort -z)
  # Inputs that once found a bug: each run checks them first.
  if [ -d "$root/fuzz/regressions/$target" ]; then
    cp "$root/fuzz/regressions/$target"/* "$dir/"
  fi
  if [ "$target" = workflow_yaml ]; then
    find "$root/workflows" -name '*.yaml' -print0 | while IFS= read -r -d '' f; do
      cp "$f" "$dir/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
  fi
}

summary=()
found_any=0
cd fuzz
for target in "${targets[@]}"; do
  seed "$target"
  mkdir -p "artifacts/$target"
  log="$root/fuzz/artifacts/$target.log"
  marker="$root/fuzz/artifacts/.start-$target"
  touch "$marker"
  before=$(find "artifacts/$target" -type f | wc -l)
  echo "== $target: ${seconds}s"
  start=$(date +%s)
  status=0
  cargo +nightly fuzz run --sanitizer "$sanitizer" --debug-assertions "$target" \
    "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  took=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  after=$(find "artifacts/$target" -type f | wc -l)
  findings=$((after - before))
  if [ "$status" -ne 0 ] && [ "$findings" -eq 0 ]; then
    echo "   cargo fuzz exited $status; last lines of $log:"
    tail -n 20 "$log" | sed 's/^/   /'
    findings=1
  fi
  [ "$findings" -gt 0 ] && found_any=1
  line=$(printf '%-14s executions %-10s time %5ss  findings %s' \
    "$target" "${execs:-?}" "$took" "$findings")
  echo "   $line"
  find "artifacts/$target" -type f -newer "$marker" | sed 's/^/   finding: fuzz\//'
  rm -f "$marker"
  summary+=("$line")
done

echo
echo "== summary (crash files under fuzz/artifacts/TARGET; logs in fuzz/artifacts/TARGET.log)"
printf '%s\n' "${summary[@]}"
exit "$found_any"
