#!/usr/bin/env python3
"""A real SMTP server for hookflow's mail tests (needs `pip install aiosmtpd`).

Stores each accepted message as DIR/<n>.eml (n = 1, 2, ...) with the envelope in DIR/<n>.json,
and can misbehave on purpose:
  --fail-first K --fail-code 451   answer the first K DATA (or RCPT, see --fail-stage) with 4xx
  --reject SUBSTR --reject-code 550 refuse recipients containing SUBSTR
  --delay SECONDS                  answer DATA that late, after the message is stored (a client
                                   that gives up meanwhile delivered it without knowing)
and can speak TLS and require a login:
  --tls starttls|smtps --cert PEM --key PEM   STARTTLS offered, or TLS from the first byte
  --auth USER:PASS                            AUTH PLAIN/LOGIN with these credentials; every
                                              attempt is appended to DIR/auth.jsonl with the
                                              password it carried and whether TLS was on
  --auth-plain-ok                             offer AUTH on a plain connection too (a careless
                                              server: it shows whether a client would send it)
Prints `ready` on stdout once it accepts connections, then serves until killed.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, args):
        self.args = args
        self.failures_left = args.fail_first
        self.stored = 0
        self.lock = threading.Lock()

    def _maybe_fail(self, stage):
        if self.args.fail_stage != stage:
            return None
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return f"{self.args.fail_code} 4.3.0 try again later (sink failure)"
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject and self.args.reject in address:
            return f"{self.args.reject_code} 5.1.1 mailbox unavailable"
        failure = self._maybe_fail("rcpt")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self._maybe_fail("data")
        if failure:
            return failure
        with self.lock:
            self.stored += 1
            n = self.stored
        base = os.path.join(self.args.dir, str(n))
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}
        # Written under a temporary name first, so a test never reads half a file.
        for suffix, data in ((".json", json.dumps(meta).encode()), (".eml", envelope.original_content)):
            with open(base + suffix + ".tmp", "wb") as f:
                f.write(data)
            os.replace(base + suffix + ".tmp", base + suffix)
        if self.args.delay:
            await asyncio.sleep(self.args.delay)
        return "250 2.0.0 stored"


class Authenticator:
    def __init__(self, args):
        self.user, _, self.password = args.auth.partition(":")
        self.log = os.path.join(args.dir, "auth.jsonl")
        self.implicit_tls = args.tls == "smtps"
        self.lock = threading.Lock()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        tls = self.implicit_tls or server._tls_protocol is not None
        entry = {"mechanism": mechanism, "login": login, "password": password, "tls": tls}
        with self.lock, open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        if (login, password) == (self.user, self.password):
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=False, handled=False)


def tls_options(args):
    """Controller keyword arguments for the TLS and AUTH flags."""
    options = {}
    if args.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        if args.tls == "smtps":
            options["ssl_context"] = ctx
        else:
            options["tls_context"] = ctx
    if args.auth:
        options["authenticator"] = Authenticator(args)
        options["auth_required"] = True
        # With smtps the whole connection is TLS, which aiosmtpd's check does not see.
        options["auth_require_tls"] = not args.auth_plain_ok and args.tls != "smtps"
    return options


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-code", type=int, default=451)
    p.add_argument("--fail-stage", choices=("data", "rcpt"), default="data")
    p.add_argument("--reject", default=None)
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--reject-code", type=int, default=550)
    p.add_argument("--tls", choices=("starttls", "smtps"), default=None)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth", default=None)
    p.add_argument("--auth-plain-ok", action="store_true")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    # server_hostname avoids a reverse DNS lookup that can hang in sandboxes.
    controller = Controller(
        Sink(args), hostname="127.0.0.1", port=args.port, server_hostname="sink.test",
        **tls_options(args),
    )
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
