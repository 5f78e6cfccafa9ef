"""The mixed load of the crash harness: what to send, how to sign it, and the client's log.

Every item carries a unique `crash_id` (and a unique email and phone), so the audit can find
the run, the contact and the emails of each one. Only the harness's threads send; the server
is the only process killed.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import threading
import time
import urllib.parse

HMAC_SECRET = "crash-harness-hmac-secret"
WHSEC_KEY = b"crash-harness-standard-webhooks!"
WHSEC = "whsec_" + base64.b64encode(WHSEC_KEY).decode()

# Two signed workflows added to the harness's copy of workflows/ (the shipped ones sign
# nothing: their comments show the auth forms, but a ${SECRET} would stop them loading).
SIGNED_WORKFLOWS = {
    "crash-signed-hmac.yaml": """# Crash harness: GitHub-style HMAC over the raw body.
name: Crash harness, HMAC-signed
trigger:
  inbound_webhook:
    auth: {type: hmac, header: X-Hub-Signature-256, secret: "${CRASH_HMAC_SECRET}", prefix: "sha256="}
mapping:
  email: $.email
  phone: $.phone
steps:
  - find_contact: {email: "{{ email }}", phone: "{{ phone }}", first_name: "{{ trigger.firstName }}", create: true}
  - add_tag: Signed
  - update_contact: {custom: {signed_by: hmac}}
""",
    "crash-signed-webhooks.yaml": """# Crash harness: Standard Webhooks (deduplicated on webhook-id by default).
name: Crash harness, Standard Webhooks
trigger:
  inbound_webhook:
    auth: {type: standard_webhooks, secret: "${CRASH_WHSEC}"}
mapping:
  email: $.data.email
  phone: $.data.phone
steps:
  - find_contact: {email: "{{ email }}", phone: "{{ phone }}", create: true}
  - add_tag: Signed
  - update_contact: {custom: {signed_by: standard_webhooks}}
""",
}

SECRETS_ENV = {"CRASH_HMAC_SECRET": HMAC_SECRET, "CRASH_WHSEC": WHSEC}

AREAS = [415, 312, 206, 617, 303, 512]
EXCHANGES = [234, 345, 456, 567, 678, 789]

# Relative weights of each kind of request.
KINDS = [
    ("booking", 24),
    ("cancellation", 20),
    ("embodia", 14),
    ("kivicare_form", 10),
    ("hmac", 10),
    ("webhooks", 10),
    ("resend_embodia", 6),
    ("resend_webhooks", 6),
]


class Person:
    """A unique patient: marker, names, email and phone (as sent and in E.164)."""

    def __init__(self, n):
        self.marker = f"c{n}"
        self.first = f"Cara{n}"
        self.last = f"Tester{n}"
        self.email = f"crash-{n}@example.com"
        a, e, line = AREAS[n % 6], EXCHANGES[(n // 6) % 6], (n // 36) % 10000
        self.e164 = f"+1{a}{e}{line:04d}"
        self.phone = [f"({a}) {e}-{line:04d}", f"{a}-{e}-{line:04d}", f"+1 {a} {e} {line:04d}"][n % 3]


class Send:
    """One request to send: its workflow, body, headers and the items it should accept."""

    def __init__(self, kind, workflow, body, content_type, people, sign=None, resend_of=None):
        self.kind = kind
        self.workflow = workflow
        self.body = body
        self.content_type = content_type
        # People whose item should start a run; `None` for an item the filter drops.
        self.people = people
        self.sign = sign
        self.resend_of = resend_of
        self.epoch = None  # the clock epoch it was sent and answered in (see Generator)

    def headers(self):
        h = {"Content-Type": self.content_type}
        if self.sign:
            h.update(self.sign(self.body))
        return h


def hmac_headers(body):
    mac = hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": "sha256=" + mac}


def webhooks_signer(msg_id):
    def sign(body):
        ts = str(int(time.time()))
        mac = hmac.new(WHSEC_KEY, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        }

    return sign


class Generator:
    """Makes the next request; remembers acknowledged ones that a sender could retry."""

    def __init__(self, rng):
        self.rng = rng
        self.n = 0
        self.people = {}  # marker -> Person, every one ever made
        self.lock = threading.Lock()
        # Resend pools of acknowledged originals. The epoch counts clock advances (twice each:
        # when one starts and when it ends, since the clock moves somewhere in between); an
        # original is only resent in the epoch it was sent and answered in, so the manual clock
        # never moves a retry out of the dedupe window.
        self.pools = {"resend_embodia": [], "resend_webhooks": []}
        self.epoch = 0
        self.adv_lock = threading.Lock()

    def person(self):
        with self.lock:
            self.n += 1
            p = Person(self.n)
            self.people[p.marker] = p
            return p

    def pick(self):
        with self.lock:
            total = sum(w for _, w in KINDS)
            x = self.rng.uniform(0, total)
            for kind, w in KINDS:
                x -= w
                if x <= 0:
                    return kind
            return KINDS[0][0]

    def next(self):
        """The next request, and the clock epoch it was made in."""
        kind = self.pick()
        epoch = self.epoch
        if kind.startswith("resend_"):
            with self.lock:
                pool = [s for s in self.pools[kind] if s.epoch == self.epoch]
                if pool:
                    orig = self.rng.choice(pool)
                    return Send(kind, orig.workflow, orig.body, orig.content_type, [],
                                orig.sign, resend_of=orig), epoch
            kind = kind[len("resend_"):]
        return getattr(self, "make_" + kind)(), epoch

    def remember(self, send, epoch):
        """An acknowledged original that a sender might deliver again."""
        pool = {"embodia": "resend_embodia", "webhooks": "resend_webhooks"}.get(send.kind)
        if pool:
            send.epoch = epoch
            with self.lock:
                self.pools[pool].append(send)
                del self.pools[pool][:-200]

    def make_booking(self):
        p = self.person()
        body = {
            "firstName": p.first, "lastName": p.last, "email": p.email, "phone": p.phone,
            "appointmentId": f"OM-{p.marker}", "appointmentDate": "2026-12-03",
            "appointmentTime": "10:30 AM",
            "appointmentType": "Initial Naturopathic Consultation (60 min)",
            "practitioner": "Dr. Maya Chen, ND", "status": "Booked", "crash_id": p.marker,
        }
        return Send("booking", "optimantra-booking", json_bytes(body), "application/json", [p])

    def make_cancellation(self):
        p = self.person()
        body = {
            "firstName": p.first, "lastName": p.last, "email": p.email, "phone": p.phone,
            "appointmentId": f"OM-{p.marker}", "appointmentDate": "2026-11-28",
            "status": "Cancelled", "crash_id": p.marker,
        }
        return Send("cancellation", "optimantra-cancellation", json_bytes(body),
                    "application/json", [p])

    def make_embodia(self):
        items, people = [], []
        for i in range(self.rng.randint(1, 4)):
            p = self.person()
            added = i == 0 or self.rng.random() < 0.7
            n = int(p.marker[1:])
            items.append({
                "event": "participant.added" if added else "consult.updated",
                "consult": {"id": 100000 + n, "duration": 60, "cancelled": False},
                "service": {"id": 598, "name": "Physiotherapy Initial Assessment"},
                "participant": {"id": 500000 + n, "name": f"{p.first} {p.last}",
                                "email": p.email},
                "crash_id": p.marker,
            })
            people.append(p if added else None)
        return Send("embodia", "embodia-consults", json_bytes(items), "application/json", people)

    def make_kivicare_form(self):
        p = self.person()
        form = urllib.parse.urlencode({
            "appointment_id": f"K{p.marker}", "patient_name": f"{p.first} {p.last}",
            "patient_email": p.email, "patient_contact_number": p.phone,
            "appointment_date": "2026-12-09", "appointment_start_time": "14:45",
            "doctor_name": "Alan Brooks", "crash_id": p.marker,
        }).encode()
        return Send("kivicare_form", "kivicare-appointments-form", form,
                    "application/x-www-form-urlencoded", [p])

    def make_hmac(self):
        p = self.person()
        body = {"firstName": p.first, "email": p.email, "phone": p.phone, "crash_id": p.marker}
        return Send("hmac", "crash-signed-hmac", json_bytes(body), "application/json", [p],
                    sign=hmac_headers)

    def make_webhooks(self):
        p = self.person()
        body = {"type": "patient.created", "crash_id": p.marker,
                "data": {"email": p.email, "phone": p.phone}}
        return Send("webhooks", "crash-signed-webhooks", json_bytes(body), "application/json",
                    [p], sign=webhooks_signer(f"msg_{p.marker}"))


def json_bytes(value):
    return json.dumps(value, separators=(",", ":")).encode()


class ClientLog:
    """The client's own record, flushed line by line: `send` before a request, then `answer`
    (with the HTTP status) or `error` (no answer: in flight at the kill)."""

    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, record):
        with self.lock:
            self.f.write(json.dumps(record) + "\n")
            self.f.flush()
            os.fsync(self.f.fileno())

    def close(self):
        self.f.close()


def send_markers(send):
    return [p.marker if p else None for p in send.people]


class Worker(threading.Thread):
    """Sends requests on one keep-alive connection until `stop` is set."""

    def __init__(self, port, paths, gen, log, stop, round_no, sink):
        super().__init__(daemon=True)
        self.port, self.paths, self.gen, self.log = port, paths, gen, log
        self.stop, self.round_no, self.sink = stop, round_no, sink

    def run(self):
        conn = None
        while not self.stop.is_set():
            send, epoch = self.gen.next()
            resend = send.resend_of is not None
            if resend:
                # A retry must stay inside its dedupe window: no clock advance meanwhile.
                if not self.gen.adv_lock.acquire(timeout=0.5):
                    continue
                if send.resend_of.epoch != self.gen.epoch:
                    self.gen.adv_lock.release()
                    continue
            entry = {"round": self.round_no, "kind": send.kind, "workflow": send.workflow,
                     "markers": send_markers(send.resend_of or send), "resend": resend}
            self.log.write({"ev": "send", **entry})
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("POST", self.paths[send.workflow], body=send.body,
                             headers=send.headers())
                r = conn.getresponse()
                data = r.read()
                status = r.status
            except (OSError, http.client.HTTPException) as e:
                self.log.write({"ev": "error", **entry, "error": type(e).__name__})
                self.sink.unknown(send)
                if conn is not None:
                    conn.close()
                conn = None
                if not self.stop.is_set():
                    time.sleep(0.05)
                continue
            finally:
                if resend:
                    self.gen.adv_lock.release()
            try:
                answer = json.loads(data)
            except ValueError:
                answer = {"raw": data.decode("utf-8", "replace")[:200]}
            # Written (and fsynced) before the ack counts: the log is the client's proof.
            self.log.write({"ev": "answer", **entry, "status": status, "answer": answer})
            self.sink.answered(send, status, answer, epoch)
        if conn is not None:
            conn.close()
