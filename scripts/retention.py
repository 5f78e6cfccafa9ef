#!/usr/bin/env python3
"""Disk use under retention: simulated days of a clinic's traffic with the manual clock.

Starts a private `hookflow serve --clock manual --retain 30d --compact-above 256MiB` (RETAIN and
COMPACT_ABOVE change them; the debug binary unless BIN is
set) on a free loopback port with a fresh data dir and the shipped workflows, then each
simulated day posts PER_DAY OptiMantra bookings (each sends an email to the outbox) and
PER_DAY/4 cancellations (each enrols the patient in the warming sequence), from a pool of
PATIENTS recurring patients, and advances the clock one day. Every 10 days it prints the data
dir's size, the sled files' size and the number of `.eml` files.
    DAYS=60 PER_DAY=200 ./scripts/retention.py
It kills only the server it started and removes its data dir.
"""
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from net import free_port  # noqa: E402

DAYS = int(os.environ.get("DAYS", "60"))
PER_DAY = int(os.environ.get("PER_DAY", "200"))
PATIENTS = int(os.environ.get("PATIENTS", "2000"))
RETAIN = os.environ.get("RETAIN", "30d")
COMPACT_ABOVE = os.environ.get("COMPACT_ABOVE", "256MiB")
# Seconds of wall time left idle after each simulated day (to check whether sled's own cleaner
# catches up when given time: with IDLE=1 it did not).
IDLE = float(os.environ.get("IDLE", "0"))
BIN = os.environ.get("BIN", "target/debug/hookflow")


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read() or b"null")


def size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def live_bytes(bin_path, base, work):
    """Bytes of live records per tree, read from a backup taken through the server."""
    return {name: n for name, (n, _) in live_records(bin_path, base, work).items()}


def live_records(bin_path, base, work):
    """(bytes, records) of live records per tree, read from a backup taken through the server."""
    path = os.path.join(work, "backup.gz")
    subprocess.run([bin_path, "backup", path, "--server", base], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    raw = gzip.open(path).read()
    os.remove(path)
    at = raw.index(b"\n") + 1 + 1 + 8  # header line, then `I` and the next id
    trees, name = {}, None

    def field(at):
        n = struct.unpack(">I", raw[at:at + 4])[0]
        return raw[at + 4:at + 4 + n], at + 4 + n

    while at < len(raw):
        tag = raw[at:at + 1]
        at += 1
        if tag == b"T":
            name, at = field(at)
            name = name.decode()
            trees[name] = (0, 0)
        elif tag == b"R":
            k, at = field(at)
            v, at = field(at)
            n, count = trees[name]
            trees[name] = (n + len(k) + len(v), count + 1)
        else:
            break
    return trees


def start_server(binary, data, port, log_path, flags, poll=0.1):
    """A private `hookflow serve` (shipped workflows, no admin token) on 127.0.0.1:port, once
    /healthz answers (asked every `poll` seconds, for up to 20 s)."""
    env = {k: v for k, v in os.environ.items() if k != "HOOKFLOW_ADMIN_TOKEN"}
    server = subprocess.Popen(
        [binary, "serve", "--workflows", "./workflows", "--data", data,
         "--listen", f"127.0.0.1:{port}", *flags],
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env=env)
    for _ in range(int(20 / poll)):
        try:
            call(f"http://127.0.0.1:{port}/healthz")
            break
        except OSError:
            time.sleep(poll)
    return server


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    work = tempfile.mkdtemp(prefix="hookflow-retention-")
    data = os.path.join(work, "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(BIN, data, port, os.path.join(work, "server.log"),
                          ["--clock", "manual", "--retain", RETAIN,
                           "--compact-above", COMPACT_ABOVE])
    try:
        urls = {w["id"]: w["url"] for w in call(f"{base}/api/workflows")["items"]
                if w.get("kind") == "workflow"}
        booking, cancel = urls["optimantra-booking"], urls["optimantra-cancellation"]
        sample = json.load(open("samples/optimantra/booking.json"))
        print(f"retention.py: {DAYS} days, {PER_DAY} bookings + {PER_DAY // 4} "
              f"cancellations a day, {PATIENTS} patients, --retain {RETAIN} "
              f"--compact-above {COMPACT_ABOVE}", flush=True)
        print("day  data_dir_MiB  sled_MiB  eml_files  live_MiB  biggest live trees (MiB)",
              flush=True)
        n = 0
        started = time.time()
        peak_after_30 = 0
        for day in range(1, DAYS + 1):
            for i in range(PER_DAY + PER_DAY // 4):
                p = n % PATIENTS
                n += 1
                body = dict(sample, email=f"patient{p}@example.com",
                            phone=f"+1416555{p:04d}", firstName=f"P{p}")
                call(cancel if i >= PER_DAY else booking, body)
            call(f"{base}/api/clock/advance", {"by": "1d"})
            time.sleep(IDLE)
            if day > 30:
                peak_after_30 = max(peak_after_30, size(data))
            if day % 10 == 0:
                time.sleep(2)  # let the mailer and the sweep catch up
                outbox = os.path.join(data, "outbox")
                emls = len(os.listdir(outbox)) if os.path.isdir(outbox) else 0
                live = live_bytes(BIN, base, work)
                top = " ".join(f"{k}={v / 2**20:.1f}" for k, v in
                               sorted(live.items(), key=lambda kv: -kv[1])[:5])
                print(f"{day:3d}  {size(data) / 2**20:12.1f}  "
                      f"{size(os.path.join(data, 'sled')) / 2**20:8.1f}  {emls:9d}  "
                      f"{sum(live.values()) / 2**20:8.1f}  {top}", flush=True)
        print(f"retention.py: {n} requests in {time.time() - started:.0f} s", flush=True)
        lines = open(os.path.join(work, "server.log")).readlines()
        sweeps = [l for l in lines if "retention sweep" in l]
        print(f"retention.py: {len(sweeps)} sweeps deleted something; last: "
              f"{sweeps[-1].strip() if sweeps else '-'}", flush=True)
        compactions = [re.sub(r"\x1b\[[0-9;]*m", "", l).strip() for l in lines
                       if "compacted the store" in l]
        print(f"retention.py: {len(compactions)} compactions (the server restarted in place)",
              flush=True)
        for line in compactions:
            print(f"  {line[line.index('compacted'):]}", flush=True)
        if DAYS > 30:
            print(f"retention.py: largest data dir after day 30: {peak_after_30 / 2**20:.1f} MiB",
                  flush=True)
        # sled 0.34 reuses freed space only in part (spacejam/sled#1333): a backup restored into
        # a new data dir holds only the live records, which shows what a compaction would give.
        backup = os.path.join(work, "backup.gz")
        subprocess.run([BIN, "backup", backup, "--server", base], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fresh = os.path.join(work, "restored")
        subprocess.run([BIN, "restore", backup, "--data", fresh], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"retention.py: backup {os.path.getsize(backup) / 2**20:.1f} MiB; restored "
              f"into a new data dir: sled {size(os.path.join(fresh, 'sled')) / 2**20:.1f} "
              f"MiB (the running one: {size(os.path.join(data, 'sled')) / 2**20:.1f} MiB)",
              flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
