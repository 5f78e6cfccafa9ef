# Sourced by the measuring scripts (load.sh, csv_rates.sh, bench.sh): starts a private release
# server on a free loopback port with a fresh temporary data dir, and stops it and removes its
# files on exit.
#   start_server [DATA_DIR]   sets bin, server (its base URL), server_pid and work (a temp dir);
#                             DATA_DIR defaults to $work/data
#   stop_server               stops it (bench.sh starts several in turn)
#   free_port                 prints a free loopback port
#   wait_healthy PID LOG      waits for /healthz (for a server started another way)
# Other processes the caller starts go in other_pids; they are stopped on exit too.
# The caller defines note() and has run `cargo build --release`.

command -v curl >/dev/null 2>&1 || { note "curl is needed to wait for /healthz"; exit 1; }
# BIN runs another build (side by side with this one).
bin=${BIN:-target/release/hookflow}
lib_dir=$(dirname "${BASH_SOURCE[0]}")

# wrk needs a known port, so pick a free one instead of asking the server for :0.
free_port() {
  python3 "$lib_dir/net.py" 2>/dev/null || echo "$1"
}
port=$(free_port 18787)
server="http://127.0.0.1:${port}"

work=$(mktemp -d)
server_pid=""
other_pids=""
stop_pid() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
stop_server() {
  stop_pid "$server_pid"
  server_pid=""
}
# KEEP_LOGS=DIR keeps the servers' logs and wrk's outputs there (the data dirs still go).
cleanup() {
  stop_server
  for pid in $other_pids; do stop_pid "$pid"; done
  if [ -n "${KEEP_LOGS:-}" ]; then
    mkdir -p "$KEEP_LOGS" && cp "$work"/*.log "$work"/*.txt "$KEEP_LOGS"/ 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
  # One log a data dir, so that a later server does not overwrite an earlier one's.
  server_log="$work/server-$(basename "${1:-$work/data}").log"
  # No admin token for this private, loopback-only server; no compaction (a restart in place
  # would pause the load being measured: its cost is measured on its own, see README).
  env -u HOOKFLOW_ADMIN_TOKEN "$bin" serve --compact-above 0 \
    --workflows ./workflows --data "${1:-$work/data}" --listen "127.0.0.1:${port}" >>"$server_log" 2>&1 &
  server_pid=$!
  wait_healthy "$server_pid" "$server_log"
}

# wait_healthy PID LOG: returns once $server answers /healthz; exits, printing LOG, if PID ends
# first or SERVER_START_TIMEOUT (10 s) passes. Polled every 50 ms so that bench.sh can time a
# start-up with it.
wait_healthy() {
  local limit=${SERVER_START_TIMEOUT:-10}
  for _ in $(seq 1 $((limit * 20))); do
    curl -fsS -o /dev/null "${server}/healthz" 2>/dev/null && return 0
    if ! kill -0 "$1" 2>/dev/null; then
      note "the server exited:"
      cat "$2" >&2
      exit 1
    fi
    sleep 0.05
  done
  note "the server did not answer /healthz within ${limit} s:"
  cat "$2" >&2
  exit 1
}
