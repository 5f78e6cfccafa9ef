"""Crash harness: mixed load, kill -9 at a chosen moment, restart, drain, audit; ROUNDS times.

Run through scripts/crash.sh (which builds the release binary first). See load.py for the
load and audit.py for the checks. Exit status 1 when any must-be-zero figure is not 0.
"""

import collections
import http.client
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from audit import Api, Auditor, Ledger  # noqa: E402
from load import SECRETS_ENV, SIGNED_WORKFLOWS, ClientLog, Generator, Worker  # noqa: E402
from net import free_port  # noqa: E402

# The figures that must be 0 after every round.
MUST_BE_ZERO = ["lost", "dup_runs", "missing_runs", "failed_runs", "dup_emails",
                "missing_emails", "index", "timers_lost"]
KILL_POINTS = ["load", "run", "email", "timer", "reload", "flush", "recovery", "compact"]
# CRASH_POINTS=email,run keeps only those kill points (to press on one path).
if os.environ.get("CRASH_POINTS"):
    _asked = os.environ["CRASH_POINTS"].split(",")
    _unknown = [p for p in _asked if p not in KILL_POINTS]
    if _unknown:
        sys.exit(f"crash.sh: unknown kill point(s) {', '.join(_unknown)}; "
                 f"known: {', '.join(KILL_POINTS)}")
    KILL_POINTS = _asked
WORKERS = int(os.environ.get("CRASH_WORKERS", "6"))
# `outbox` (default: .eml files under the data dir) or `smtp` (a local aiosmtpd sink).
MAIL = os.environ.get("CRASH_MAIL", "outbox")


class Server:
    """The hookflow serve process on a fixed port and data dir."""

    def __init__(self, binary, workflows, data, port, log_path, mail):
        self.cmd = [binary, "serve", "--workflows", workflows, "--data", data,
                    "--listen", f"127.0.0.1:{port}", "--clock", "manual", "--mail", mail,
                    # The clock races ahead days at a time; the audit needs every request kept.
                    "--retain", "0",
                    # Compactions (a restart in place) happen now and then under load.
                    "--compact-above", "1MiB"]
        self.port, self.log_path, self.proc = port, log_path, None
        self.env = {k: v for k, v in os.environ.items() if k != "HOOKFLOW_ADMIN_TOKEN"}
        self.env.update(SECRETS_ENV)

    def start(self):
        log = open(self.log_path, "a")
        log.write(f"--- start {time.strftime('%H:%M:%S')}\n")
        log.flush()
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log, env=self.env)
        started = time.monotonic()
        deadline = started + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}; see {self.log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"serve did not answer /healthz within 120 s; see {self.log_path}")

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill9()


class Events(threading.Thread):
    """Follows /api/events; the kill points wait on what it sees."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.q, self.ready = port, queue.Queue(), threading.Event()

    def run(self):
        # A restart in place to compact ends the stream: follow the new process for a while
        # (after a kill -9 the next round has its own follower).
        gave_up = time.monotonic() + 15
        while time.monotonic() < gave_up:
            if self.follow():
                gave_up = time.monotonic() + 15
            time.sleep(0.05)
        self.ready.set()

    def follow(self):
        """Reads one stream until it ends; True when it was connected."""
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
            c.request("GET", "/api/events")
            r = c.getresponse()
            self.ready.set()
            kind = None
            while True:
                line = r.fp.readline()
                if not line:
                    return True
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind:
                    try:
                        self.q.put((kind, json.loads(line[5:])))
                    except ValueError:
                        pass
        except (OSError, http.client.HTTPException):
            return False

    def wait_for(self, pred, count, timeout):
        """Waits for the `count`-th event matching `pred`; False on timeout."""
        deadline = time.monotonic() + timeout
        while count > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                kind, data = self.q.get(timeout=left)
            except queue.Empty:
                return False
            if pred(kind, data):
                count -= 1
        return True


class Sink:
    """Collects answers from the workers for the round and remembers retry candidates."""

    def __init__(self, gen):
        self.gen, self.lock = gen, threading.Lock()
        self.acked = self.unknowns = 0
        self.acks = threading.Semaphore(0)

    def answered(self, send, status, answer, epoch):
        if 200 <= status < 300:
            with self.lock:
                self.acked += 1
            self.acks.release()
            if send.resend_of is None and epoch == self.gen.epoch:
                self.gen.remember(send, epoch)

    def unknown(self, send):
        with self.lock:
            self.unknowns += 1


class Harness:
    def __init__(self, rounds, binary, seed):
        self.rounds, self.binary, self.seed = rounds, binary, seed
        self.rng = random.Random(seed)
        self.work = tempfile.mkdtemp(prefix="hookflow-crash-")
        self.wf = os.path.join(self.work, "workflows")
        self.data = os.path.join(self.work, "data")
        shutil.copytree("workflows", self.wf)
        for name, text in SIGNED_WORKFLOWS.items():
            with open(os.path.join(self.wf, name), "w") as f:
                f.write(text)
        self.port = free_port()
        self.sink = None
        if MAIL == "smtp":
            # The tests' aiosmtpd sink, never killed: it keeps every message it accepted.
            mail, eml_dir = self.start_sink()
        else:
            mail, eml_dir = "outbox", os.path.join(self.data, "outbox")
        self.server = Server(binary, self.wf, self.data, self.port,
                             os.path.join(self.work, "server.log"), mail)
        self.api = Api(self.port)
        self.gen = Generator(random.Random(seed + 1))
        self.log_path = os.path.join(self.work, "client.jsonl")
        self.log = ClientLog(self.log_path)
        self.auditor = Auditor(self.api, eml_dir, self.gen.people)
        self.rows = []
        self.reloads = 0
        self.clock_acked = ""  # the latest `now` an answered clock advance gave

    def start_sink(self):
        port, received = free_port(), os.path.join(self.work, "smtp")
        os.makedirs(received)
        self.sink = subprocess.Popen(
            [sys.executable, "tests/smtp/sink.py", "--port", str(port), "--dir", received],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.work, "sink.log"), "w"),
            text=True)
        if self.sink.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start (pip install aiosmtpd)")
        return f"smtp://127.0.0.1:{port}", received

    # --- one round -------------------------------------------------------------------
    def advance(self, by):
        """A clock advance; retries of earlier requests wait until it is over."""
        with self.gen.adv_lock:
            self.gen.epoch += 1
            try:
                answer = self.api.call("POST", "/api/clock/advance", json.dumps({"by": by}),
                                       timeout=120)
                self.clock_acked = max(self.clock_acked, answer["now"])
            except (OSError, http.client.HTTPException, RuntimeError):
                pass  # killed meanwhile
            finally:
                # Requests sent during the advance may have been received before the clock
                # moved: they belong to no epoch.
                self.gen.epoch += 1

    def touch_workflow(self):
        """An edit a marketer might make: a new version of the booking workflow."""
        self.reloads += 1
        with open(os.path.join(self.wf, "optimantra-booking.yaml"), "a") as f:
            f.write(f"# crash harness reload {self.reloads}\n")

    def clock_thread(self, stop):
        """Moves the manual clock a day or more now and then, so sequence timers fire under
        load."""
        rng = random.Random(self.rng.random())
        while not stop.wait(rng.uniform(0.4, 1.5)):
            self.advance(rng.choice(["1d", "2d", "3d", "4d"]))

    def kill_at(self, point, events, sink, t0):
        """Waits for the moment of `point`, then kill -9; returns its description."""
        rng = self.rng
        warm = rng.uniform(0.3, 1.5)
        time.sleep(warm)
        if point == "load" or point == "recovery":
            time.sleep(rng.uniform(0, 2.0))
            what = point == "load" and "under load" or "under load, then again in recovery"
        elif point == "flush":
            # Right after an answer: the next group commit is being written.
            k = rng.randint(1, 20)
            got = all(sink.acks.acquire(timeout=10) for _ in range(k))
            time.sleep(rng.uniform(0, 0.003))
            what = f"{k} acks later (mid-flush)" + ("" if got else " (timeout)")
        elif point == "run":
            k = rng.randint(1, 25)
            got = events.wait_for(lambda kind, d: kind == "run", k, 10)
            what = f"run event #{k}" + ("" if got else " (timeout)")
        elif point == "email":
            # Outbox mode writes an .eml with no `sending` mark first (a second write is the
            # same file), so only SMTP delivery has that state to stop in.
            state = rng.choice(["queued", "sending", "sent"] if MAIL == "smtp" else ["queued", "sent"])
            k = rng.randint(1, 10)
            got = events.wait_for(lambda kind, d: kind == "email" and d.get("state") == state,
                                  k, 10)
            what = f"email #{k} {state}" + ("" if got else " (timeout)")
        elif point == "timer":
            by = rng.choice(["3d", "4d", "7d"])
            threading.Thread(target=self.advance, args=(by,), daemon=True).start()
            k = rng.randint(1, 8)
            got = events.wait_for(lambda kind, d: kind == "timer", k, 15)
            what = f"timer event #{k} of +{by}" + ("" if got else " (timeout)")
        elif point == "compact":
            # Somewhere in a restart to compact: the drain, the exec, the copy or the swap.
            seen = self.compactions_asked()
            deadline = time.monotonic() + 20
            while self.compactions_asked() == seen and time.monotonic() < deadline:
                time.sleep(0.01)
            got = self.compactions_asked() > seen
            delay = rng.uniform(0, 0.4)
            time.sleep(delay)
            what = (f"compaction, {delay * 1000:.0f} ms after it was asked" if got
                    else "compaction (timeout)")
        elif point == "reload":
            self.touch_workflow()
            delay = rng.uniform(0.2, 0.45)  # the watcher waits 250 ms for more changes
            got = events.wait_for(lambda kind, d: kind == "workflow", 1, delay)
            what = "reload, " + ("at its workflow event" if got else f"{delay * 1000:.0f} ms in")
        at_ms = (time.monotonic() - t0) * 1000
        self.server.kill9()
        return what, at_ms

    def compactions_asked(self):
        with open(self.server.log_path, errors="replace") as f:
            return f.read().count("restarting to compact it")

    def snapshot_audit(self):
        """`hookflow audit` on a copy of the data dir as the kill left it (a compaction's
        folders included: the audit's open finishes or discards it)."""
        snap = os.path.join(self.work, "snapshot")
        shutil.rmtree(snap, ignore_errors=True)
        os.makedirs(snap)
        for name in os.listdir(self.data):
            if name.startswith("sled"):
                shutil.copytree(os.path.join(self.data, name), os.path.join(snap, name))
        out = subprocess.run([self.binary, "audit", "--data", snap, "--json"],
                             capture_output=True, text=True)
        shutil.rmtree(snap, ignore_errors=True)
        if out.returncode not in (0, 1):
            raise RuntimeError(f"hookflow audit failed: {out.stderr.strip()}")
        return json.loads(out.stdout)

    def drain(self):
        """Waits until nothing is queued, running, unsent or due; seconds taken."""
        t = time.monotonic()
        while time.monotonic() - t < 300:
            now = self.api.get("/api/clock")["now"]
            timers = self.api.get("/api/timers?limit=1")["items"]
            if (self.api.empty("/api/runs?status=queued")
                    and self.api.empty("/api/runs?status=running")
                    and self.api.empty("/api/outbox?state=queued")
                    and self.api.empty("/api/outbox?state=sending")
                    and not (timers and timers[0]["due_at"] <= now)):
                return time.monotonic() - t
            time.sleep(0.2)
        raise RuntimeError("the server did not drain within 300 s")

    def round(self, no, point):
        paths = {w["id"]: "/hooks/" + w["url"].rsplit("/hooks/", 1)[1]
                 for w in self.api.get("/api/workflows")["items"] if w.get("url")}
        events = Events(self.port)
        events.start()
        events.ready.wait(5)
        stop = threading.Event()
        sink = Sink(self.gen)
        workers = [Worker(self.port, paths, self.gen, self.log, stop, no, sink)
                   for _ in range(WORKERS)]
        clock = threading.Thread(target=self.clock_thread, args=(stop,), daemon=True)
        t0 = time.monotonic()
        for w in workers:
            w.start()
        clock.start()
        what, at_ms = self.kill_at(point, events, sink, t0)
        stop.set()
        for w in workers:
            w.join(60)
        clock.join(60)
        snap = self.snapshot_audit()
        self.server.start()
        if point == "recovery":
            # Again while it resumes what the first kill interrupted.
            time.sleep(self.rng.uniform(0.0, 0.3))
            self.server.kill9()
            self.server.start()
        drained = self.drain()
        ledger = Ledger()
        ledger.from_log(self.log_path)
        t_audit = time.monotonic()
        figures, detail = self.auditor.audit(ledger, self.rng)
        now = self.api.get("/api/clock")["now"]
        if now < self.clock_acked:
            figures["lost"] += 1
            detail.append(f"lost: the clock is at {now}, but an advance answered {self.clock_acked}")
        audit_s = time.monotonic() - t_audit
        m = snap["mismatches"]
        timer_keys = ["enrolment_without_timer", "waiting_run_without_timer", "timer_index",
                      "timer_orphaned"]
        figures["timers_lost"] += sum(m[k] for k in timer_keys)
        figures["index"] += sum(v for k, v in m.items() if k not in timer_keys)
        detail += [f"store audit after the kill: {e}" for e in snap["examples"]]
        row = {"round": no, "point": point, "what": what, "at_ms": at_ms, "acked": sink.acked,
               "in_flight": sink.unknowns, "drain_s": drained,
               "audit_s": audit_s, **{k: figures[k] for k in MUST_BE_ZERO}}
        self.rows.append(row)
        print(fmt_row(row), flush=True)
        for d in detail[:20]:
            print(f"    ! {d}", flush=True)
        return ledger

    def run(self):
        started = time.monotonic()
        print(f"crash.sh: {self.rounds} rounds, seed {self.seed}, {WORKERS} senders, "
              f"mail {MAIL}, work dir {self.work}", flush=True)
        print(HEADER, flush=True)
        self.server.start()
        points = []
        ledger = None
        try:
            for no in range(1, self.rounds + 1):
                if not points:
                    points = KILL_POINTS[:]
                    self.rng.shuffle(points)
                ledger = self.round(no, points.pop())
        finally:
            self.server.stop()
            if self.sink:
                self.sink.terminate()
                self.sink.wait()
        final = subprocess.run([self.binary, "audit", "--data", self.data],
                               capture_output=True, text=True)
        elapsed = time.monotonic() - started
        self.summary(ledger, final, elapsed)
        bad = any(r[k] for r in self.rows for k in MUST_BE_ZERO) or final.returncode != 0
        if not bad and not os.environ.get("CRASH_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"kept {self.work} (client.jsonl, server.log, data/)")
        return 1 if bad else 0

    def summary(self, ledger, final, elapsed):
        print()
        print("summary")
        print(f"  rounds                 {len(self.rows)}  ({elapsed / 60:.1f} min)")
        by_point = collections.Counter(r["point"] for r in self.rows)
        print("  kill points            " + ", ".join(f"{k} {v}" for k, v in sorted(by_point.items())))
        print(f"  requests acknowledged  {len(ledger.acked)}  (items accepted {len(ledger.accepted)})")
        stored = sum(m in self.auditor.markers_run for m in ledger.unknown_markers)
        print(f"  no answer (in flight)  {ledger.unknown}  (their new items that ran anyway: "
              f"{stored} of {len(ledger.unknown_markers)})")
        with open(self.server.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        print(f"  runs resumed at start  {log.count('resuming run')}")
        print(f"  emails re-sent         {log.count('email delivery was unconfirmed')}  "
              "(delivery unconfirmed at the kill; same Message-ID)")
        if ledger.other:
            print("  other answers          " + ", ".join(f"{k}: {v}" for k, v in ledger.other.items()))
        print(f"  emails ({MAIL})".ljust(25) + f"{len(self.auditor.eml_cache)} .eml files; the "
              f"same Message-ID again: {self.auditor.redelivered}")
        for k in MUST_BE_ZERO:
            worst = max(r[k] for r in self.rows)
            total = sum(r[k] for r in self.rows)
            print(f"  {k:<22} {total}" + ("" if worst == 0 else "   <-- must be 0"))
        print("  audit seconds          " + ", ".join(
            f"{k} {v:.0f}" for k, v in self.auditor.timing.items()))
        print("  final store audit      " + final.stdout.strip().splitlines()[-1])


HEADER = (f"{'round':>5}  {'kill point':<44} {'at ms':>6} {'acked':>5} {'noans':>5} "
          f"{'lost':>4} {'dupRun':>6} {'noRun':>5} {'fail':>4} {'dupMail':>7} {'noMail':>6} "
          f"{'index':>5} {'timers':>6} {'drain s':>7} {'audit s':>7}")


def fmt_row(r):
    return (f"{r['round']:>5}  {(r['point'] + ': ' + r['what'])[:44]:<44} {r['at_ms']:>6.0f} "
            f"{r['acked']:>5} {r['in_flight']:>5} {r['lost']:>4} {r['dup_runs']:>6} "
            f"{r['missing_runs']:>5} {r['failed_runs']:>4} {r['dup_emails']:>7} "
            f"{r['missing_emails']:>6} {r['index']:>5} {r['timers_lost']:>6} {r['drain_s']:>7.1f} "
            f"{r['audit_s']:>7.1f}")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/hookflow"
    seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
    sys.exit(Harness(rounds, os.path.abspath(binary), seed).run())


if __name__ == "__main__":
    main()
