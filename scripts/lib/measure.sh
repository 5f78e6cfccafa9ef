# Sourced by the measuring scripts that read a server's figures from /proc and wait for its
# runs (bench.sh, side_by_side.sh), after scripts/lib/server.sh (server) and with note() defined.
#   hwm_mib PID                peak RSS (VmHWM) in MiB
#   cpu_s PID                  CPU seconds (user + system) PID has used: steadier than a rate on
#                              a VM whose speed moves
#   cpu_since PID CPU0         the CPU seconds PID used since cpu_s printed CPU0
#   per_us SECONDS N           microseconds each of N
#   wait_drained T0            polls until no run is queued or running (sets runs_done, seconds
#                              since T0) and no email is queued or sending (mail_done); exits
#                              after DRAIN_TIMEOUT seconds (1800)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
cpu_since() { awk -v a="$2" -v b="$(cpu_s "$1")" 'BEGIN { printf "%.2f", b - a }'; }
per_us() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.0f", c * 1e6 / n }'; }
api() { curl -fsS "${server}$1"; }

# empty PATH: the first page of a list is empty, e.g. `empty /api/runs?status=queued`.
empty() { api "$1&limit=1" | grep -q '"items":\[\]'; }

wait_drained() {
  local t0=$1 deadline
  deadline=$(awk -v t="$(now)" -v d="${DRAIN_TIMEOUT:-1800}" 'BEGIN { printf "%d", t + d }')
  runs_done="" mail_done=""
  while :; do
    if [ -z "$runs_done" ] && empty "/api/runs?status=queued" && empty "/api/runs?status=running"; then
      runs_done=$(since "$t0")
    fi
    if [ -n "$runs_done" ] && empty "/api/outbox?state=queued" && empty "/api/outbox?state=sending"; then
      mail_done=$(since "$t0")
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      note "still not drained after ${DRAIN_TIMEOUT:-1800} s"
      exit 1
    fi
    sleep 0.2
  done
}
