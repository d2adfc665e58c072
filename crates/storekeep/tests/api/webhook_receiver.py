"""A webhook receiver for the tests: it verifies every delivery's
signature with the `standardwebhooks` package (an implementation
independent of storekeep's) and answers what its path asks for.

    python3 webhook_receiver.py [PORT]  # prints its port, then serves

POST paths: /ok (200), /status/N (N), /gone (410), /slow/S (sleeps S
seconds, then 200; its record's `ended` is set just before it answers),
/retry-after/V (429 with Retry-After: V). Every POST is recorded with its
`started` time (the receiver's monotonic clock, in seconds) and, for each
secret given to PUT /secrets (a JSON list), whether its signature
verifies. GET /received answers the records as JSON.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

LOCK = threading.Lock()
SECRETS = []
RECEIVED = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_PUT(self):
        global SECRETS
        data = self.body()
        with LOCK:
            SECRETS = json.loads(data)
        self.answer(204)

    def do_GET(self):
        with LOCK:
            data = json.dumps(RECEIVED).encode()
        self.answer(200, data, [("Content-Type", "application/json")])

    def do_POST(self):
        body = self.body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            secrets = list(SECRETS)
        verified = []
        for s in secrets:
            try:
                Webhook(s).verify(body, headers)
                verified.append(True)
            except WebhookVerificationError:
                verified.append(False)
        record = {
            "started": time.monotonic(),
            "ended": None,
            "path": self.path,
            "headers": headers,
            "body": json.loads(body) if body else None,
            "verified": verified,
        }
        with LOCK:
            RECEIVED.append(record)
        parts = self.path.strip("/").split("/")
        if parts[0] == "status":
            self.answer(int(parts[1]), b"receiver says:\n\x07 broken \xff" + b"x" * 2000)
        elif parts[0] == "gone":
            self.answer(410, b"gone")
        elif parts[0] == "slow":
            time.sleep(float(parts[1]))
            # Before the answer: the sender's next request cannot start
            # before this one has ended.
            with LOCK:
                record["ended"] = time.monotonic()
            self.answer(200, b"late")
        elif parts[0] == "retry-after":
            self.answer(429, b"later", [("Retry-After", parts[1])])
        else:
            self.answer(200, b"ok")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
