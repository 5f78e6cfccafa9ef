#!/usr/bin/env python3
"""The first requests after a start: how long the slowest of them waits.

Builds a store of CONTACTS contacts (scripts/bench/contacts.py, imported through the CLI into a
private server), then starts a server on a fresh copy of it STARTS times and, from the moment
/healthz answers, times each GET of KIND lookups (`phones`, `emails` or `ids`: paths sampled by
contacts.py) on one keep-alive connection for SECONDS. Prints, per start, the time to /healthz
and the requests' p50, p99 and slowest, with the slowest's place in the sequence. Each request is
timed on its own, so one slow request stays one request (wrk's latency figures would add the
requests a steady sender could not send meanwhile).

    ./scripts/first_requests.py
    BIN=./other-hookflow KIND=ids CONTACTS=200000 STARTS=3 ./scripts/first_requests.py

Run on purpose, not by the tests. It stops only the servers it started and removes its files.
"""
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from net import free_port  # noqa: E402
from retention import start_server  # noqa: E402

BIN = os.environ.get("BIN", "target/release/hookflow")
CONTACTS = int(os.environ.get("CONTACTS", "100000"))
KIND = os.environ.get("KIND", "phones")
SECONDS = float(os.environ.get("SECONDS", "1.5"))
STARTS = int(os.environ.get("STARTS", "5"))


def stop(server):
    server.send_signal(signal.SIGINT)
    server.wait(timeout=60)


def time_requests(port, paths):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, end = [], time.perf_counter() + SECONDS
    while time.perf_counter() < end:
        began = time.perf_counter()
        conn.request("GET", paths[len(times) % len(paths)])
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"{paths[len(times) % len(paths)]}: {response.status}")
        times.append((time.perf_counter() - began) * 1000)
    return times


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    work = tempfile.mkdtemp(prefix="hookflow-first-")
    try:
        subprocess.run([sys.executable, "scripts/bench/contacts.py", str(CONTACTS), work],
                       check=True, stdout=subprocess.DEVNULL)
        store, port = os.path.join(work, "store"), free_port()
        server = start_server(BIN, store, port, os.path.join(work, "import.log"),
                              ["--compact-above", "0"])
        try:
            for name in sorted(os.listdir(work)):
                if name.startswith("contacts-") and name.endswith(".csv"):
                    subprocess.run([BIN, "contacts", "import", os.path.join(work, name),
                                    "--server", f"http://127.0.0.1:{port}"],
                                   check=True, stdout=subprocess.DEVNULL)
        finally:
            stop(server)
        paths = [p.strip() for p in open(os.path.join(work, f"{KIND}.paths")) if p.strip()]
        print(f"{BIN}: {CONTACTS} contacts; {KIND} lookups for {SECONDS} s after each start")
        for start in range(1, STARTS + 1):
            copy = os.path.join(work, "copy")
            shutil.copytree(store, copy)
            began = time.perf_counter()
            server = start_server(BIN, copy, port, os.path.join(work, "serve.log"),
                                  ["--compact-above", "0"], poll=0.02)
            up = time.perf_counter() - began
            if server.poll() is not None:
                sys.exit(f"the server exited; see {os.path.join(work, 'serve.log')}")
            try:
                times = time_requests(port, paths)
            finally:
                stop(server)
            shutil.rmtree(copy)
            ordered = sorted(times)
            slowest = max(range(len(times)), key=times.__getitem__)
            print(f"start {start}: /healthz after {up:.2f} s; {len(times)} requests, "
                  f"p50 {ordered[len(times) // 2]:.2f} ms, p99 {ordered[len(times) * 99 // 100]:.2f} ms, "
                  f"slowest {times[slowest]:.1f} ms (request {slowest + 1})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
