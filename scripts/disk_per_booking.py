#!/usr/bin/env python3
"""Disk per booking: what hookflow stores for each OptiMantra booking of a new patient.

Starts a private release server (BIN, default target/release/hookflow) on a free loopback port
with a fresh data dir and the shipped workflows, posts N bookings of new patients (unique email,
phone, name and appointment id, as scripts/bench/new_patient.lua does) from THREADS keep-alive
connections, waits until every run has finished and the outbox is drained, then prints per
booking: the sled files, the `.eml` files, and the live bytes of each tree (keys + values, read
from a backup taken through the server, as scripts/retention.py does).
    N=20000 ./scripts/disk_per_booking.py
    BIN=./base-hookflow N=20000 ./scripts/disk_per_booking.py     (another build, side by side)
    COMPACT=target/release/hookflow ./scripts/disk_per_booking.py  (also after `hookflow compact`)
It stops only the server it started and removes its data dir (KEEP=1 keeps it and says where).
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from net import free_port  # noqa: E402
from retention import call, live_records, size, start_server  # noqa: E402

N = int(os.environ.get("N", "20000"))
THREADS = int(os.environ.get("THREADS", "8"))
BIN = os.environ.get("BIN", "target/release/hookflow")
DRAIN_TIMEOUT = float(os.environ.get("DRAIN_TIMEOUT", "1800"))
# A binary with `hookflow compact`: when set, the store is also measured after a compaction.
COMPACT = os.environ.get("COMPACT", "")

FIRST = ["Jane", "Omar", "Priya", "Lucas", "Mei", "Aiden", "Fatima", "Noah", "Chloe", "Mateo",
         "Sofia", "Ethan", "Amara", "Liam", "Yuki", "Zoe"]
LAST = ["Doe", "Nguyen", "Patel", "Garcia", "Okafor", "Smith", "Kowalski", "Haddad", "Rossi",
        "Kim", "Johnson", "Dubois", "Silva", "Cohen", "Moreau", "Tanaka", "Ali"]
AREAS = ["212", "646", "718", "917", "347", "415", "310", "312", "617", "202", "305", "404",
         "503", "206", "512", "702"]


def booking(idx):
    """The body new_patient.lua sends for patient `idx`."""
    fname, lname = FIRST[idx % len(FIRST)], LAST[(idx // len(FIRST)) % len(LAST)]
    phone = f"+1{AREAS[(idx // 8000000) % len(AREAS)]}{2000000 + idx % 8000000:07d}"
    return json.dumps({
        "firstName": fname, "lastName": lname,
        "email": f"{fname.lower()}.{lname.lower()}.{idx}@example.com", "phone": phone,
        "dateOfBirth": "1988-04-17", "appointmentId": f"OM-{idx}",
        "appointmentDate": "2026-12-03", "appointmentTime": "10:30 AM",
        "appointmentType": "Initial Naturopathic Consultation (60 min)",
        "practitioner": "Dr. Maya Chen, ND",
        "location": "Bayview Integrative Health, 2150 Lombard St, San Francisco, CA",
        "bookedOnline": True, "status": "Booked"}, separators=(",", ":")).encode()


def post_all(port, path, n, threads):
    """Posts bookings 0..n from `threads` keep-alive connections; returns the 2xx count."""
    ok = [0] * threads
    errors = []

    def worker(t):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for idx in range(t, n, threads):
            conn.request("POST", path, booking(idx), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status // 100 == 2:
                ok[t] += 1
            elif len(errors) < 5:
                errors.append(f"{resp.status} {body[:200]!r}")
        conn.close()

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for e in errors:
        print(f"disk_per_booking.py: a booking was answered {e}", file=sys.stderr)
    return sum(ok)


def blocks(path):
    """Bytes of the disk blocks the files under `path` take (a 2 KB file takes a 4 KiB block)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def io_written(pid):
    """Bytes the process has caused to be written to storage so far (Linux), or None."""
    try:
        for line in open(f"/proc/{pid}/io"):
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def empty(base, path):
    return call(f"{base}{path}&limit=1")["items"] == []


def wait_drained(base):
    deadline = time.time() + DRAIN_TIMEOUT
    lists = ["/api/runs?status=queued", "/api/runs?status=running",
             "/api/outbox?state=queued", "/api/outbox?state=sending"]
    while not all(empty(base, p) for p in lists):
        if time.time() > deadline:
            sys.exit(f"disk_per_booking.py: not drained after {DRAIN_TIMEOUT:.0f} s")
        time.sleep(0.5)


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    binary = os.path.abspath(BIN)
    work = tempfile.mkdtemp(prefix="hookflow-disk-")
    data = os.path.join(work, "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # No compaction while measuring (COMPACT=BIN measures after one).
    server = start_server(binary, data, port, os.path.join(work, "server.log"),
                          ["--compact-above", "0"])
    try:
        url = call(f"{base}/api/workflows/optimantra-booking")["url"]
        path = urllib.parse.urlsplit(url).path
        started = time.time()
        ok = post_all(port, path, N, THREADS)
        posted = time.time() - started
        wait_drained(base)
        drained = time.time() - started
        failed = not empty(base, "/api/runs?status=failed")
        sled = size(os.path.join(data, "sled"))
        eml = size(os.path.join(data, "outbox"))
        written = io_written(server.pid)
        eml_blocks = blocks(os.path.join(data, "outbox"))
        live = live_records(binary, base, work)
        print(f"disk_per_booking.py: {BIN}, {ok} of {N} bookings answered 2xx in {posted:.1f} s, "
              f"drained at {drained:.1f} s{', SOME RUNS FAILED' if failed else ''}")
        print(f"  sled files      {sled / ok:9.0f} B a booking  ({sled / 1e6:.1f} MB)")
        print(f"  .eml files      {eml / ok:9.0f} B a booking  ({eml / 1e6:.1f} MB; "
              f"{eml_blocks / ok:.0f} B a booking in disk blocks)")
        if written is not None:
            print(f"  written to disk {written / ok:9.0f} B a booking  (the server's write_bytes, "
                  f".eml files included)")
        total = sum(n for n, _ in live.values())
        records = sum(c for _, c in live.values())
        print(f"  live records    {total / ok:9.0f} B a booking  ({total / 1e6:.1f} MB, "
              f"{records / ok:.1f} records a booking; sled file / live = {sled / total:.2f}), "
              f"by tree (B, records a booking):")
        for name, (n, count) in sorted(live.items(), key=lambda kv: -kv[1][0]):
            if n:
                print(f"    {name:24s}{n / ok:9.0f}{count / ok:9.2f}")
        if COMPACT:
            server.terminate()
            server.wait(timeout=60)
            subprocess.run([os.path.abspath(COMPACT), "compact", "--data", data], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            after = size(os.path.join(data, "sled"))
            print(f"  after `{COMPACT} compact`: sled files {after / ok:.0f} B a booking  "
                  f"({after / 1e6:.1f} MB; sled file / live = {after / total:.2f})")
    finally:
        server.terminate()
        server.wait(timeout=60)
        if os.environ.get("KEEP") == "1":
            print(f"disk_per_booking.py: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
