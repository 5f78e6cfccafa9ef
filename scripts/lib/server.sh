# Sourced by the measuring scripts (load.sh, csv_rates.sh): starts a private release server on a
# free loopback port with a fresh temporary data dir, and stops it and removes its files on exit.
#   start_server    sets bin, server (its base URL), server_pid and work (a temp dir)
# The caller defines note() and has run `cargo build --release`.

command -v curl >/dev/null 2>&1 || { note "curl is needed to wait for /healthz"; exit 1; }
bin=target/release/hookflow

# wrk needs a known port, so pick a free one instead of asking the server for :0.
port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null || echo 18787)
server="http://127.0.0.1:${port}"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
  # No admin token for this private, loopback-only server.
  env -u HOOKFLOW_ADMIN_TOKEN "$bin" serve \
    --workflows ./workflows --data "$work/data" --listen "127.0.0.1:${port}" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "${server}/healthz" 2>/dev/null && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      note "the server exited:"
      cat "$work/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  note "the server did not answer /healthz within 10 s:"
  cat "$work/server.log" >&2
  exit 1
}
