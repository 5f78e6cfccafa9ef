"""The audit after each restart: what the client saw acknowledged against what hookflow kept.

Reads the admin API (requests, runs, outbox, sequences, timers, contacts) and the `.eml` files
of the outbox dir. Cumulative: every round checks everything acknowledged since the start.
"""

import collections
import http.client
import json
import os
import time
import urllib.parse


class Api:
    """Tiny JSON client for the admin API of the server on `port`."""

    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                raise RuntimeError(f"{method} {path}: HTTP {r.status}: {data[:300]!r}")
            return json.loads(data)
        finally:
            conn.close()

    def get(self, path):
        return self.call("GET", path)

    def all(self, path):
        """Every item of a paged list."""
        sep = "&" if "?" in path else "?"
        items, cursor = [], None
        while True:
            page = self.get(f"{path}{sep}limit=1000" + (f"&cursor={cursor}" if cursor else ""))
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def empty(self, path):
        sep = "&" if "?" in path else "?"
        return not self.get(f"{path}{sep}limit=1")["items"]


class Ledger:
    """What the client knows: acknowledged requests and the items they accepted."""

    def __init__(self):
        self.acked = {}  # request_id -> (round, kind)
        self.accepted = {}  # marker -> (request_id, run_id, person, workflow, round)
        self.unknown = 0  # requests with no answer (in flight at a kill)
        self.unknown_markers = []  # their items' markers (a retry's are its original's)
        self.other = collections.Counter()  # non-2xx answers by status

    def from_log(self, path):
        """Rebuilds the ledger from the client's log on disk (the log is the proof)."""
        self.__init__()
        with open(path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec["ev"] == "error":
                    self.unknown += 1
                    if not rec["resend"]:
                        self.unknown_markers += [m for m in rec["markers"] if m]
                if rec["ev"] != "answer":
                    continue
                if not 200 <= rec["status"] < 300:
                    self.other[rec["status"]] += 1
                    continue
                a = rec["answer"]
                self.acked[a["request_id"]] = (rec["round"], rec["kind"])
                for item in a.get("items", []):
                    markers = rec["markers"]
                    marker = markers[item["index"]] if item["index"] < len(markers) else None
                    if item["status"] == "accepted" and marker:
                        self.accepted[marker] = (a["request_id"], item["run_id"],
                                                 rec["workflow"], rec["round"])


def eml_headers(path):
    """Message-ID, To and Subject of an .eml file (folded lines joined)."""
    heads, last = {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                break
            if line[0] in " \t" and last:
                heads[last] += " " + line.strip()
                continue
            name, _, value = line.partition(":")
            last = name.strip().lower()
            heads[last] = value.strip()
    return heads.get("message-id"), heads.get("to"), heads.get("subject")


class Auditor:
    """Runs the checks; keeps parsed .eml headers between rounds (files never change)."""

    def __init__(self, api, eml_dir, people):
        self.api = api
        self.eml_dir = eml_dir
        self.redelivered = 0
        self.people = people  # marker -> Person
        self.eml_cache = {}
        self.checked_contacts = set()
        self.timing = collections.Counter()  # seconds spent per part, over all rounds

    def audit(self, ledger, rng):
        f = collections.Counter()
        detail = []
        t0 = time.monotonic()

        request_ids = {r["id"] for r in self.api.all("/api/requests")}
        lost = [rid for rid in ledger.acked if rid not in request_ids]
        f["lost"] = len(lost)
        detail += [f"lost: acknowledged request {rid} (round {ledger.acked[rid][0]}, "
                   f"{ledger.acked[rid][1]}) is not in the request log" for rid in lost[:5]]

        runs = self.api.all("/api/runs")
        by_id = {r["id"]: r for r in runs}
        by_marker = collections.defaultdict(list)
        by_item = collections.Counter()
        for r in runs:
            marker = (r.get("item") or {}).get("crash_id")
            if marker:
                by_marker[marker].append(r)
            by_item[(r["request_id"], r["index"])] += 1
        self.markers_run = set(by_marker)
        for marker, rs in by_marker.items():
            if len(rs) > 1:
                f["dup_runs"] += len(rs) - 1
                detail.append(f"dup run: item {marker} has {len(rs)} runs: "
                              + ", ".join(f"{r['id']} (request {r['request_id']})" for r in rs))
        f["dup_runs"] += sum(n - 1 for n in by_item.values() if n > 1)
        for marker, (rid, run_id, wf, rnd) in ledger.accepted.items():
            if run_id not in by_id:
                f["missing_runs"] += 1
                detail.append(f"missing run: item {marker} (round {rnd}) was accepted as run "
                              f"{run_id} of request {rid}, which does not exist")
        failed = [r for r in runs if r["status"] == "failed"]
        f["failed_runs"] = len(failed)
        detail += [f"failed run {r['id']} ({r['workflow']}): {r.get('error')}" for r in failed[:5]]

        t = time.monotonic()
        self.timing["requests+runs"] += t - t0
        self.audit_emails(runs, f, detail)
        self.timing["emails"] += time.monotonic() - t
        t = time.monotonic()
        self.audit_timers(f, detail)
        self.timing["timers"] += time.monotonic() - t
        t = time.monotonic()
        self.audit_contacts(ledger, by_id, rng, f, detail)
        self.timing["contacts"] += time.monotonic() - t
        return f, detail

    def audit_emails(self, runs, f, detail):
        rows = self.api.all("/api/outbox")
        row_ids = {r["id"] for r in rows}
        groups = collections.Counter()
        for r in rows:
            key = ("run", r["run_id"]) if r["run_id"] else ("seq", r["contact_id"])
            groups[key + (r["subject"],)] += 1
        for key, n in groups.items():
            if n > 1:
                f["dup_emails"] += n - 1
                detail.append(f"dup email: {n} outbox rows for {key}")
        per_run = collections.Counter(r["run_id"] for r in rows if r["run_id"])
        for run in runs:
            if run["workflow"] == "optimantra-booking" and run["status"] == "succeeded":
                if per_run[run["id"]] == 0:
                    f["missing_emails"] += 1
                    detail.append(f"missing email: booking run {run['id']} succeeded "
                                  "without an outbox row")
        # The emails as written (outbox mode: data/outbox/ID.eml) or as received (SMTP mode:
        # the sink's N.eml): one Message-ID per (recipient, subject), each one an outbox row's.
        names = sorted(n for n in os.listdir(self.eml_dir) if n.endswith(".eml")
                       and not n.startswith(".")) if os.path.isdir(self.eml_dir) else []
        by_msg = collections.Counter()
        by_to = collections.defaultdict(set)
        for name in names:
            if name not in self.eml_cache:
                self.eml_cache[name] = eml_headers(os.path.join(self.eml_dir, name))
            msg_id, to, subject = self.eml_cache[name]
            by_msg[msg_id] += 1
            by_to[(to, subject)].add(msg_id)
        row_msgs = {f"<{r['id']}@hookflow>" for r in rows}
        for msg_id in by_msg:
            if msg_id not in row_msgs:
                f["dup_emails"] += 1
                detail.append(f"email {msg_id} went out but the outbox has no such row")
        for key, ids in by_to.items():
            if len(ids) > 1:
                f["dup_emails"] += len(ids) - 1
                detail.append(f"dup email: {len(ids)} Message-IDs for {key}")
        # The same Message-ID again: a delivery that was not confirmed before a kill (DESIGN
        # allows it; the receiver can drop it by its Message-ID).
        self.redelivered = sum(n - 1 for n in by_msg.values())
        for r in rows:
            if r["state"] == "sent" and r["message_id"] not in by_msg:
                f["missing_emails"] += 1
                detail.append(f"missing email: row {r['id']} is sent but never arrived")
            if r["state"] in ("failed", "queued", "sending"):
                f["missing_emails"] += 1
                detail.append(f"email {r['id']} is {r['state']}: {r.get('last_error')}")
        # Sequence emails: as many as the enrolment has passed send_email steps.
        seq = self.api.get("/api/sequences/warming")
        email_steps = [i for i, k in enumerate(seq["steps"]) if k == "send_email"]
        seq_rows = collections.Counter(r["contact_id"] for r in rows if not r["run_id"])
        for e in seq["enrolments"]:
            passed = email_steps if e["state"] == "completed" else [
                i for i in email_steps if i < e["step"]]
            if seq_rows[e["contact_id"]] < len(passed):
                f["missing_emails"] += len(passed) - seq_rows[e["contact_id"]]
                detail.append(f"missing email: enrolment of {e['contact_id']} at step "
                              f"{e['step']} ({e['state']}) has {seq_rows[e['contact_id']]} "
                              f"of {len(passed)} emails")
        self.enrolments = seq["enrolments"]

    def audit_timers(self, f, detail):
        timers = self.api.all("/api/timers")
        owners = {(t.get("contact_id"), t.get("sequence")) for t in timers
                  if t["kind"] == "sequence_step"}
        run_timers = {t.get("run_id") for t in timers if t["kind"] == "run_wait"}
        for e in self.enrolments:
            if e["state"] == "active" and (e["contact_id"], "warming") not in owners:
                f["timers_lost"] += 1
                detail.append(f"timer lost: active enrolment of {e['contact_id']} at step "
                              f"{e['step']} has no timer")
        for r in self.api.all("/api/runs?status=waiting"):
            if r["id"] not in run_timers:
                f["timers_lost"] += 1
                detail.append(f"timer lost: run {r['id']} waits without a timer")

    def audit_contacts(self, ledger, by_id, rng, f, detail):
        """A sample of new contacts (and a few older ones) is found by `?q=` email and phone;
        `hookflow audit` checks every index entry (each `?q=` scans all contacts)."""
        fresh = [m for m in ledger.accepted if m not in self.checked_contacts]
        old = list(self.checked_contacts)
        sample = rng.sample(fresh, min(len(fresh), 20)) + rng.sample(old, min(len(old), 5))
        self.checked_contacts.update(fresh)
        for marker in sample:
            _, run_id, _, _ = ledger.accepted[marker]
            run = by_id.get(run_id)
            if not run or run["status"] != "succeeded":
                continue
            p = self.people[marker]
            q = urllib.parse.quote(p.email)
            found = self.api.get(f"/api/contacts?q={q}")["items"]
            mine = [c for c in found if c["email"] == p.email]
            if len(mine) != 1 or mine[0]["id"] != run["contact_id"]:
                f["index"] += 1
                detail.append(f"contact of {marker}: ?q={p.email} gives "
                              f"{[c['id'] for c in mine]}, its run says {run['contact_id']}")
            if run["workflow"] == "embodia-consults":
                continue  # Embodia sends no phone
            found = self.api.get(f"/api/contacts?q={urllib.parse.quote(p.e164)}")["items"]
            if run["contact_id"] not in [c["id"] for c in found]:
                f["index"] += 1
                detail.append(f"contact of {marker}: ?q={p.e164} does not find "
                              f"{run['contact_id']}")
