# Sourced by the measuring scripts that read wrk's report (bench.sh, ingest_pressure.sh).

# to_ms VALUE: one of wrk's latencies (`812.00us`, `3.41ms`, `1.02s`, `1.5m`) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) print "?"; else printf "%.2f", n * f
  }'
}

# wrk_percentile REPORT PCT: the latency at PCT (`50%`, `99%`) of a `wrk --latency` report, in ms.
wrk_percentile() {
  to_ms "$(awk -v k="$2" '$1 == k { print $2 }' <<<"$1")"
}
