#!/usr/bin/env python3
"""A real SMTP server for the tests and `scripts/bench email` (aiosmtpd).

Listens on 127.0.0.1:PORT, requires AUTH (PLAIN/LOGIN) with USER and
PASSWORD when given, offers STARTTLS with CERT/KEY when given (and then
requires it before AUTH and MAIL; with --implicit-tls, speaks TLS from the
first byte instead, like port 465), and writes each message it accepts, as
received, to DIR/<n>.eml (a temporary name first, then renamed). A
recipient starting with `reject` is refused for good (550), one starting
with `later` for now (451). With --peers FILE, appends the client's port
(one per connection) to FILE for every message accepted. Prints `ready`
once it accepts connections.

    smtp_sink.py --port 2525 --dir /tmp/mail [--user u --password p]
                 [--cert leaf.pem --key leaf.key [--implicit-tls]]
                 [--count-only] [--peers FILE]
"""

import argparse
import itertools
import os
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, folder, count_only, peers=None):
        self.folder = folder
        self.count_only = count_only
        self.peers = peers
        self.seq = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return f"550 5.1.1 <{address}>: no such user"
        if address.startswith("later"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.seq)
            if self.peers:
                with open(self.peers, "a") as f:
                    f.write(f"{session.peer[1]}\n")
        if self.count_only:
            return "250 Message accepted"
        tmp = os.path.join(self.folder, f".{n}.partial")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(self.folder, f"{n:06d}.eml"))
        return "250 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--count-only", action="store_true")
    p.add_argument("--peers")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            auth_data.login.decode() == a.user
            and auth_data.password.decode() == a.password
        )
        return AuthResult(success=ok)

    kwargs = {}
    if a.user:
        kwargs.update(authenticator=authenticator, auth_required=True)
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.implicit_tls:
            kwargs.update(ssl_context=ctx, auth_require_tls=False)
        else:
            kwargs.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    else:
        kwargs.update(auth_require_tls=False)
    controller = Controller(
        Sink(a.dir, a.count_only, a.peers),
        hostname="127.0.0.1",
        port=a.port,
        server_hostname="localhost",
        data_size_limit=10 * 1024 * 1024,
        **kwargs,
    )
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
