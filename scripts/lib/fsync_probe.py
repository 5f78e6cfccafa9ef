#!/usr/bin/env python3
"""The disk's own durability latency, the floor under every acknowledgement's p99.

Writes COUNT blocks of 8 KiB to a new file in DIR, each followed by fdatasync (what hookflow's
committer does once a group), and prints the p50, p99 and worst of the fdatasync times in ms.
A p99 of hookflow's ingest near this one is the disk's; one far above it is not (after heavy
writes on this VM the draft p99 reached 47-161 ms while this stayed near 1 ms: the per-request
log line, written from the request threads, was what waited; see README, Performance).
    python3 scripts/lib/fsync_probe.py DIR [COUNT]
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: fsync_probe.py DIR [COUNT]")
    directory = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    path = os.path.join(directory, "fsync_probe.bin")
    block = os.urandom(8192)
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(count):
            os.write(fd, block)
            start = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"p50 {times[len(times) // 2]:.2f} ms, p99 {p99:.2f} ms, worst {times[-1]:.2f} ms")


if __name__ == "__main__":
    main()
