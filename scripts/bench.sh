#!/usr/bin/env bash
# The figures of issue "Performance at the limit", on demand (not part of the test run):
#   0. the disk's fdatasync latency (scripts/lib/fsync_probe.py), before and after section 1.
#   1. wrk against a bare warp server (examples/bare_warp.rs: the ceiling of the HTTP stack),
#      adnanh/webhook (Debian's `webhook`, a matching rule and no command: stores nothing),
#      the same stack appending each body to a file with one fdatasync a group (examples/
#      log_floor.rs: durable ingest without sled),
#      hookflow's draft workflow (telehealth-visits: stored, flushed, no run) and
#      optimantra-booking (same body every time); req/s, p50, p99, peak RSS, ratio to bare,
#      and each server's CPU a request (steadier than rates on a VM whose speed moves).
#   2. sustained bookings: a new patient per request for DURATION, then the time until every
#      run has finished and every email is written; bookings/s = accepted / that time; the
#      server's CPU a booking, and each thread's time on a CPU and waiting for one (schedstat)
#      while the load lasted and after it.
#   3. disk per booking: the data dir after BOOKINGS bookings (posting more when 2 fell short),
#      and again after `hookflow compact` (what `serve` does by itself once the file doubles),
#      with what each tree holds a booking (keys and values as stored).
#   4. CONTACTS contacts imported as CSV, then lookups, first pages, start-up, RSS (of the
#      import and lookups, and of the restart after them) and size.
#
#   ./scripts/bench.sh                                   (about 10 minutes plus the import)
#   DURATION=3s BOOKINGS=5000 CONTACTS=20000 ./scripts/bench.sh        (a quick run)
# Knobs: DURATION (10s), THREADS (2), CONNECTIONS (32), BOOKINGS (100000), CONTACTS (1000000),
# LOOKUP_DURATION (5s), DRAIN_TIMEOUT (1800 s), BIN (another hookflow build, side by side); SKIP_COMPARE=1, SKIP_SUSTAINED=1, SKIP_DISK=1,
# SKIP_MILLION=1 leave a section out; KEEP_LOGS=DIR keeps the servers' logs and wrk's outputs. Installs wrk and webhook with apt when missing. Everything
# listens on 127.0.0.1 only; it stops only the processes it started and removes its files.
set -euo pipefail

cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
BOOKINGS=${BOOKINGS:-100000}
CONTACTS=${CONTACTS:-1000000}
LOOKUP_DURATION=${LOOKUP_DURATION:-5s}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-1800}
SKIP_COMPARE=${SKIP_COMPARE:-0}
SKIP_SUSTAINED=${SKIP_SUSTAINED:-0}
SKIP_DISK=${SKIP_DISK:-0}
SKIP_MILLION=${SKIP_MILLION:-0}

note() { printf 'bench.sh: %s\n' "$*" >&2; }
skipped() { [ "$1" = 1 ]; }

. scripts/lib/need.sh
need wrk wrk
skipped "$SKIP_COMPARE" || need webhook webhook
need python3 python3 # free ports, the contacts CSV

# One build: examples bring the dev-dependencies' features, so building the binary on its own
# as well would compile the library twice.
cargo build --release --bin hookflow --example bare_warp --example log_floor
. scripts/lib/server.sh
. scripts/lib/wrk.sh
. scripts/lib/measure.sh
bare_bin=target/release/examples/bare_warp
log_bin=target/release/examples/log_floor

# thread_name /proc/PID/task/TID: its name without the numbers that tell a pool's threads apart.
thread_name() { tr -d '0-9' <"$1/comm" | sed 's/-*$//'; }
# cpu_by_thread PID: the CPU seconds PID's live threads have used, summed by thread name (digits
# dropped: sled-io-0…6 are one line), largest first. tokio's blocking pool shares the runtime's
# thread name (the run worker names its own, hookflow-runs); threads that have exited are not
# listed, so the lines can add up to less than the process's CPU.
cpu_by_thread() {
  local hz t
  hz=$(getconf CLK_TCK)
  for t in /proc/"$1"/task/*; do
    printf '%s\t%s\n' "$(thread_name "$t")" "$(awk '{ print $14 + $15 }' "$t/stat")"
  done | awk -F '\t' -v hz="$hz" '{ s[$1] += $2 } END { for (n in s) if (s[n] > 0) printf "%.2f %s\n", s[n] / hz, n }' |
    sort -rn | awk '{ t = $1; $1 = ""; printf "%s%s %s s", (NR > 1 ? ", " : ""), substr($0, 2), t } END { print "" }'
}
# sched_snapshot PID: one line a live thread: its id, its name (digits dropped), and from
# schedstat its nanoseconds on a CPU and runnable but waiting for one.
sched_snapshot() {
  local t stat
  for t in /proc/"$1"/task/*; do
    # A thread can end between the listing and the read: it is left out.
    stat=$(cut -d' ' -f1,2 "$t/schedstat" 2>/dev/null) || continue
    printf '%s %s %s\n' "${t##*/}" "$(thread_name "$t" 2>/dev/null | tr ' ' _)" "$stat"
  done
}
# sched_between BEFORE AFTER: by thread name, seconds on a CPU and waiting for one between two
# snapshots (a thread born in between counts from zero); the busiest first, under 0.05 s left out.
sched_between() {
  awk 'NR == FNR { run[$1] = $3; wait[$1] = $4; next }
       { r[$2] += $3 - run[$1]; w[$2] += $4 - wait[$1] }
       END { for (n in r) if (r[n] + w[n] > 5e7) printf "%.2f %s %.2f\n", r[n] / 1e9, n, w[n] / 1e9 }' "$1" "$2" |
    sort -rn | awk '{ printf "%s%s %s / %s s", (NR > 1 ? ", " : ""), $2, $1, $3 } END { print "" }'
}
cli() { env -u HOOKFLOW_ADMIN_TOKEN "$bin" "$@" --server "$server"; }

wrk_n=0
# wrk_run URL SCRIPT [WRK ARGS…]: sets rps, p50, p99 (ms), answered (responses), non2xx and
# errors (socket errors); the whole output is kept in $work/wrk-N.txt. With until_accepted=N
# set, wrk is stopped (SIGINT: it still reports) once optimantra-booking has accepted N requests.
wrk_run() {
  local url=$1 script=$2
  shift 2
  wrk_n=$((wrk_n + 1))
  local out="$work/wrk-${wrk_n}.txt"
  wrk --timeout 10s --latency -s "$script" "$@" "$url" >"$out" &
  local wrk_pid=$!
  other_pids="$other_pids $wrk_pid"
  if [ -n "${until_accepted:-}" ]; then
    while kill -0 "$wrk_pid" 2>/dev/null; do
      if [ "$(accepted optimantra-booking)" -ge "$until_accepted" ]; then
        kill -INT "$wrk_pid"
        break
      fi
      sleep 0.2
    done
  fi
  wait "$wrk_pid"
  other_pids=${other_pids/ $wrk_pid/}
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  p50=$(wrk_percentile "$(cat "$out")" 50%)
  p99=$(wrk_percentile "$(cat "$out")" 99%)
  answered=$(awk '/requests in/ { print $1 }' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors:/ { s = 0; for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$out")
  errors=${errors:-0}
}

hook_url() {
  local url
  url=$(cli urls | awk -F '\t' -v id="$1" '$1 == id { print $2 }') || true
  case "$url" in
    http://127.0.0.1:*) printf '%s\n' "$url" ;;
    *)
      note "no local URL for $1 (got '${url}')"
      exit 1
      ;;
  esac
}

# start_other NAME URL COMMAND…: starts a peer server, waits until a POST to URL answers.
start_other() {
  local name=$1 url=$2
  shift 2
  "$@" >"$work/${name}.log" 2>&1 &
  other_pid=$!
  other_pids="$other_pids $other_pid"
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
      --data-binary @samples/optimantra/booking.json "$url" 2>/dev/null && return 0
    kill -0 "$other_pid" 2>/dev/null || break
    sleep 0.05
  done
  note "$name did not answer on $url:"
  cat "$work/${name}.log" >&2
  exit 1
}

# accepted WORKFLOW: requests the server accepted for it (its request counters).
accepted() {
  local n
  n=$(api "/api/workflows/$1" | grep -o '"accepted":[0-9]*' | head -1 | cut -d: -f2) || true
  printf '%s\n' "${n:-0}"
}

median5() { sort -n | awk '{ a[NR] = $1 } END { print a[3] }'; }
# first_page PATH: the median of 5 timings of one GET, in ms; exits on a non-200.
first_page() {
  local i code t times=""
  for i in 1 2 3 4 5; do
    read -r code t < <(curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "${server}$1")
    [ "$code" = 200 ] || {
      note "GET $1 answered $code"
      exit 1
    }
    times="$times$t"$'\n'
  done
  printf '%s' "$times" | median5 | awk '{ printf "%.1f", $1 * 1000 }'
}

size_mb() { du -sb "$1" | awk '{ printf "%.1f", $1 / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

printf 'bench.sh: %s, %s cores, load average %s; wrk -t%s -c%s -d%s\n' \
  "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$THREADS" "$CONNECTIONS" "$DURATION"
wrk_args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION")
export HOOKFLOW_LOAD_BODY=samples/optimantra/booking.json
# The disk's fdatasync latency where the data dirs are: the floor under every ingest p99 below.
disk_floor() { printf '%-40s %s\n' "fdatasync of 8 KiB, $1" "$(python3 scripts/lib/fsync_probe.py "$work")"; }
disk_floor "before the loads"

# ---- 1. the HTTP stack, a no-storage peer, and hookflow ---------------------------------------
if ! skipped "$SKIP_COMPARE"; then
  rows=()
  row() { rows+=("$(printf '%-40s %9s %8s %8s %8s %7s %9s %8s' "$@")"); }
  # cpu_us PID CPU0: the server's CPU a request during the wrk run that started at CPU0.
  cpu_us() { per_us "$(cpu_since "$1" "$2")" "$answered"; }

  p=$(free_port 18788)
  start_other bare_warp "http://127.0.0.1:$p/" "$bare_bin" "$p"
  cpu0=$(cpu_s "$other_pid")
  wrk_run "http://127.0.0.1:$p/" scripts/post.lua "${wrk_args[@]}"
  bare_rps=$rps
  row "bare warp (examples/bare_warp.rs)" "$rps" "$p50" "$p99" "$non2xx" "$(hwm_mib "$other_pid")" \
    1.000 "$(cpu_us "$other_pid" "$cpu0")"
  stop_pid "$other_pid"

  p=$(free_port 18789)
  # A rule on the booking's own `status` and no execute-command: webhook matches, answers the
  # response-message at once and stores nothing. (It then fails to look up the empty command
  # name, a PATH lookup logged only with -verbose; a real command such as /bin/true would fork
  # a process per request, which is not the no-storage peer we want.)
  cat >"$work/hooks.json" <<'EOF'
[{"id": "booking",
  "response-message": "{\"status\":\"accepted\"}",
  "response-headers": [{"name": "Content-Type", "value": "application/json"}],
  "trigger-rule": {"match": {"type": "value", "value": "Booked",
                             "parameter": {"source": "payload", "name": "status"}}}}]
EOF
  wh_url="http://127.0.0.1:$p/hooks/booking"
  start_other webhook "$wh_url" webhook -hooks "$work/hooks.json" -ip 127.0.0.1 -port "$p"
  curl -fsS -H 'Content-Type: application/json' --data-binary @samples/optimantra/booking.json \
    "$wh_url" | grep -q accepted || {
    note "webhook's rule did not match the booking sample"
    exit 1
  }
  cpu0=$(cpu_s "$other_pid")
  wrk_run "$wh_url" scripts/post.lua "${wrk_args[@]}"
  row "adnanh/webhook $(webhook -version | awk '{ print $NF }'), rule, no command" \
    "$rps" "$p50" "$p99" "$non2xx" "$(hwm_mib "$other_pid")" "$(ratio "$rps" "$bare_rps")" \
    "$(cpu_us "$other_pid" "$cpu0")"
  stop_pid "$other_pid"

  p=$(free_port 18790)
  start_other log_floor "http://127.0.0.1:$p/" "$log_bin" "$p" "$work/log_floor.bin"
  cpu0=$(cpu_s "$other_pid")
  wrk_run "http://127.0.0.1:$p/" scripts/post.lua "${wrk_args[@]}"
  row "append-only log, fdatasync a group" "$rps" "$p50" "$p99" "$non2xx" \
    "$(hwm_mib "$other_pid")" "$(ratio "$rps" "$bare_rps")" "$(cpu_us "$other_pid" "$cpu0")"
  stop_pid "$other_pid"
  rm -f "$work/log_floor.bin"

  for wf in telehealth-visits optimantra-booking; do
    start_server "$work/compare-$wf"
    url=$(hook_url "$wf")
    cpu0=$(cpu_s "$server_pid")
    wrk_run "$url" scripts/post.lua "${wrk_args[@]}"
    label="hookflow $wf"
    [ "$wf" = telehealth-visits ] && label="hookflow draft (telehealth-visits)"
    row "$label" "$rps" "$p50" "$p99" "$non2xx" "$(hwm_mib "$server_pid")" \
      "$(ratio "$rps" "$bare_rps")" "$(cpu_us "$server_pid" "$cpu0")"
    stop_server
  done

  echo
  echo "1. The same body (samples/optimantra/booking.json) posted by wrk ${wrk_args[*]}"
  printf '%-40s %9s %8s %8s %8s %7s %9s %8s\n' what "req/s" "p50 ms" "p99 ms" non-2xx "RSS MiB" "x bare" \
    "CPU us"
  echo "(CPU us: the server's CPU, user + system, a request answered during the run; the booking"
  echo " workflow's runs go on after it)"
  printf '%s\n' "${rows[@]}"
  disk_floor "after them"
fi

# ---- 2. sustained bookings, a new patient each --------------------------------------------------
export BENCH_THREADS=$THREADS
posted_runs=0 # wrk runs of new_patient.lua so far; each starts its patients 10 million further
book() {      # WRK ARGS…: new patients from a fresh index range
  BENCH_BASE=$((posted_runs * 10000000)) wrk_run "$(hook_url optimantra-booking)" \
    scripts/bench/new_patient.lua "$@"
  posted_runs=$((posted_runs + 1))
}
bookings_dir="$work/bookings"
if ! skipped "$SKIP_SUSTAINED"; then
  start_server "$bookings_dir"
  cpu0=$(cpu_s "$server_pid")
  sched_snapshot "$server_pid" >"$work/sched-0.txt"
  t0=$(now)
  book "${wrk_args[@]}"
  load_s=$(since "$t0")
  sched_snapshot "$server_pid" >"$work/sched-1.txt"
  wait_drained "$t0"
  sched_snapshot "$server_pid" >"$work/sched-2.txt"
  n=$(accepted optimantra-booking)
  cpu=$(cpu_since "$server_pid" "$cpu0")
  failed=none
  empty "/api/runs?status=failed" || failed="SOME (see /api/runs?status=failed)"
  echo
  echo "2. Sustained: optimantra-booking, a new patient per request, wrk ${wrk_args[*]}"
  printf '%-40s %s\n' \
    "acknowledged (2xx) / accepted" "$((answered - non2xx)) / $n (non-2xx $non2xx, socket errors $errors)" \
    "load" "${load_s} s at ${rps} req/s, p50 ${p50} ms, p99 ${p99} ms" \
    "every run finished at" "${runs_done} s after the load began" \
    "every email written at" "${mail_done} s" \
    "bookings/s (accepted / runs finished)" "$(awk -v n="$n" -v s="$runs_done" 'BEGIN { printf "%.0f", n / s }')" \
    "x bare" "$(ratio "$(awk -v n="$n" -v s="$runs_done" 'BEGIN { print n / s }')" "${bare_rps:-0}")" \
    "failed runs" "$failed" \
    "server CPU a booking" "$(per_us "$cpu" "$n") us ($cpu s of CPU)" \
    "server CPU by thread (start included)" "$(cpu_by_thread "$server_pid")" \
    "on a CPU / waiting for one, the load" "$(sched_between "$work/sched-0.txt" "$work/sched-1.txt")" \
    "the same, from its end to the last run" "$(sched_between "$work/sched-1.txt" "$work/sched-2.txt")" \
    "peak RSS" "$(hwm_mib "$server_pid") MiB"
fi

# ---- 3. disk per booking -----------------------------------------------------------------------
if ! skipped "$SKIP_DISK"; then
  [ -n "$server_pid" ] || start_server "$bookings_dir"
  n=$(accepted optimantra-booking)
  for _ in 1 2 3; do
    [ "$n" -lt "$BOOKINGS" ] || break
    note "posting $((BOOKINGS - n)) more bookings to reach $BOOKINGS"
    t0=$(now)
    until_accepted=$BOOKINGS book -t"$THREADS" -c"$CONNECTIONS" -d3600s
    wait_drained "$t0"
    n=$(accepted optimantra-booking)
  done
  echo
  echo "3. Disk: the data dir after $n bookings (request, run, contact, email each; all finished)"
  printf '%-40s %s\n' "data dir" "$(size_mb "$bookings_dir") MB" \
    "bytes per booking" "$(du -sb "$bookings_dir" | awk -v n="$n" '{ printf "%.0f", $1 / n }')"
  for part in "$bookings_dir"/*; do
    printf '%-40s %s\n' "  of which $(basename "$part")" "$(size_mb "$part") MB"
  done
  printf '%-40s %s\n' "peak RSS (this server's life)" "$(hwm_mib "$server_pid") MiB"
  printf '%-40s %s\n' "the store's dictionary" \
    "$(grep -o "learned the store's dictionary.*" "$server_log" | tail -1 | sed 's/\x1b\[[0-9;]*m//g' || true)"
  # What a served store comes back to: `serve` compacts by itself once sled's file has doubled
  # (`--compact-above`, off in these runs so that no load pauses for it).
  stop_server
  t0=$(now)
  env -u HOOKFLOW_ADMIN_TOKEN "$bin" compact --data "$bookings_dir" >"$work/compact.txt"
  printf '%-40s %s\n' "after \`hookflow compact\` (${n} bookings)" \
    "$(size_mb "$bookings_dir") MB, $(du -sb "$bookings_dir" | awk -v n="$n" '{ printf "%.0f", $1 / n }') B a booking, sled $(size_mb "$bookings_dir/sled") MB (compacted in $(since "$t0") s)"
  # What each tree holds (keys and values as stored), and those bytes a booking.
  awk -v n="$n" 'NR > 2 && $3 > 0 { printf "  %-38s %s records, %.0f B a booking\n", $1, $2, $3 / n }' "$work/compact.txt"
fi

# ---- 4. a million contacts ---------------------------------------------------------------------
if ! skipped "$SKIP_MILLION"; then
  mkdir -p "$work/contacts"
  python3 scripts/bench/contacts.py "$CONTACTS" "$work/contacts"
  # The bookings' store when there is one, so the runs list has runs to look through.
  million_dir="$work/million"
  [ -d "$bookings_dir" ] && million_dir=$bookings_dir
  before=$( [ -d "$million_dir" ] && size_mb "$million_dir" || echo 0)
  stop_server
  start_server "$million_dir"
  t0=$(now)
  imported=0
  for f in "$work"/contacts/contacts-*.csv; do
    summary=$(cli contacts import "$f" | head -1)
    rows_in=$(($(wc -l <"$f") - 1))
    [ "$summary" = "created $rows_in, updated 0, skipped 0" ] || {
      note "import of $f: unexpected result '$summary'"
      exit 1
    }
    imported=$((imported + rows_in))
  done
  import_s=$(since "$t0")

  lookups=()
  for kind in ids emails phones; do
    case $kind in
      ids) label="/api/contacts/{id}" ;;
      emails) label="/api/contacts?q=<whole email>" ;;
      phones) label="/api/contacts?q=<phone>" ;;
    esac
    BENCH_PATHS="$work/contacts/$kind.paths" wrk_run "$server" scripts/bench/paths.lua \
      -t1 -c1 -d"$LOOKUP_DURATION"
    [ "$non2xx" = 0 ] || {
      note "$non2xx lookups by $kind did not answer 2xx"
      exit 1
    }
    if [ "${answered:-0}" -ge 20 ]; then
      lookups+=("$(printf '%-38s p50 %s ms, p99 %s ms (%s req/s, wrk)' "$label" "$p50" "$p99" "$rps")")
    else
      # Slower than a few a second (a scan): wrk's percentiles would rest on nothing.
      ms=$(head -5 "$work/contacts/$kind.paths" | while read -r path; do
        curl -fsS -o /dev/null -w '%{time_total}\n' "${server}${path}"
      done | median5 | awk '{ printf "%.1f", $1 * 1000 }')
      lookups+=("$(printf '%-38s %s ms (curl, median of 5 contacts: too slow for wrk)' "$label" "$ms")")
    fi
  done
  # The box's own floor for one request at a time: bare warp under the same wrk -t1 -c1. On a
  # virtual machine each round trip wakes an idle vCPU, which can cost more than the lookup.
  p=$(free_port 18790)
  start_other bare_floor "http://127.0.0.1:$p/" "$bare_bin" "$p"
  wrk_run "http://127.0.0.1:$p/" scripts/post.lua -t1 -c1 -d"$LOOKUP_DURATION"
  lookups+=("$(printf '%-38s p50 %s ms, p99 %s ms (%s req/s, wrk)' "bare warp, the same way (the floor)" "$p50" "$p99" "$rps")")
  stop_pid "$other_pid"
  rare=$(cat "$work/contacts/rare.txt")
  tag_ms=$(first_page "/api/contacts?tag=vip")
  name_ms=$(first_page "/api/contacts?q=son")
  rare_ms=$(first_page "/api/contacts?q=$rare")
  failed_ms=$(first_page "/api/runs?status=failed")
  list_ms=$(first_page "/api/contacts")
  rss=$(hwm_mib "$server_pid")
  stop_server
  t0=$(now)
  SERVER_START_TIMEOUT=600 start_server "$million_dir"
  startup_s=$(since "$t0")
  # The restarted server's own peak: sled builds its table of every page at open.
  restart_rss=$(hwm_mib "$server_pid")

  echo
  echo "4. $imported contacts imported from $(ls "$work"/contacts/contacts-*.csv | wc -l) CSV file(s) of at most 250,000 rows (an import takes 64 MiB at most) into a store of ${before} MB"
  printf '%-40s %s\n' "import" "${import_s} s ($(awk -v n="$imported" -v s="$import_s" 'BEGIN { printf "%.0f", n / s }') rows/s)"
  echo "lookups, one at a time (wrk -t1 -c1 -d$LOOKUP_DURATION) through 1,000 sampled contacts:"
  printf '  %s\n' "${lookups[@]}"
  echo "first pages (one GET with curl, median of 5; the one-match q is '$rare'):"
  printf '  %-38s %s ms\n' \
    "/api/contacts?tag=vip (1 in 100)" "$tag_ms" \
    "/api/contacts?q=son (name substring)" "$name_ms" \
    "/api/contacts?q=<one email's local part>" "$rare_ms" \
    "/api/runs?status=failed" "$failed_ms" \
    "/api/contacts" "$list_ms"
  printf '%-40s %s\n' "peak RSS (import and lookups)" "$rss MiB" \
    "start-up until /healthz answers" "${startup_s} s" \
    "peak RSS of that start-up" "$restart_rss MiB" \
    "data dir" "$(size_mb "$million_dir") MB"
fi
