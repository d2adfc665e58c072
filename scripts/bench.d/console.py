#!/usr/bin/env python3
"""scripts/bench console: server time per console page on a large shop.

    console.py BIN CHECKOUT_BENCH WORK [PG_URL]

For SQLite (always) and PostgreSQL (when PG_URL is given): a shop of
PRODUCTS (default 100,000) products imported from a CSV with the CLI and
ORDERS (default 100,000) orders placed through the storefront API by
CHECKOUT_BENCH (64 concurrent clients, real checkouts: each order's
customer data sealed as any order's is; orders cannot be copied by SQL, as
sealed fields are bound to their row), their statuses then spread by SQL
(a quarter each paid, fulfilled, delivered, awaiting payment), the job
runner off (the timings are not shared with running jobs), and one
waiting confirmation-email job per order inserted by SQL as the event
dispatcher would make them (it is a job too, so with the runner off it
makes none) — then the server started on
it, a staff owner signed in through the
console's own sign-in form, and each console page fetched ROUNDS (default
200) times one after another over one keep-alive connection after a
warm-up. Prints p50 and p99 in milliseconds per page, beside
/api/health/live fetched the same way in the same run (the floor: a
request that does nothing). A page the server does not have (404) is
reported as absent.
"""

import http.client
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN, CHECKOUT_BENCH, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
PG_URL = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
PRODUCTS = int(os.environ.get("PRODUCTS", "100000"))
ORDERS = int(os.environ.get("ORDERS", "100000"))
ROUNDS = int(os.environ.get("ROUNDS", "200"))
PASSWORD = "correct horse battery staple"
HOST = "bench.localhost"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Shop:
    def __init__(self, name, db_url):
        self.name = name
        self.dir = tempfile.mkdtemp(dir=WORK)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKEEP_")}
        self.env.update(STOREKEEP_DATA_DIR=self.dir, STOREKEEP_BASE_DOMAIN="localhost",
                        STOREKEEP_LOG_LEVEL="warn", STOREKEEP_SHUTDOWN_DRAIN_SECS="0",
                        STOREKEEP_JOBS_ENABLED="false",
                        # Seeding places ORDERS checkouts from 64 clients; on a
                        # busy machine the default 2 s pool wait ran out and
                        # cart creation got 503s. The timed pages are fetched
                        # one at a time and never wait for a connection.
                        STOREKEEP_DATABASE_ACQUIRE_TIMEOUT_MS="30000")
        if db_url:
            self.env["STOREKEEP_DATABASE_URL"] = db_url
            # PostgreSQL needs its keys configured (SQLite generates them).
            keys = subprocess.run([BIN, "keys", "generate"], capture_output=True, text=True, check=True)
            for line in keys.stdout.split():
                k, v = line.split("=", 1)
                self.env[k] = v
        self.db_url = db_url
        self.server = None

    def run(self, *args):
        r = subprocess.run([BIN, *args], env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{self.name}: storekeep {' '.join(args)} failed: {r.stderr[-2000:]}")
        return r

    def start(self):
        self.port = free_port()
        env = dict(self.env, STOREKEEP_LISTEN=f"127.0.0.1:{self.port}")
        self.server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL,
                                       stderr=open(os.path.join(self.dir, "server.log"), "a"))
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/api/health/ready")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit(f"{self.name}: the server did not become ready")

    def stop(self):
        if self.server:
            self.server.terminate()
            self.server.wait(timeout=60)
            self.server = None

    def api(self, method, path, body=None, token=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"x-tenant": "bench", "content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        c.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = c.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"{self.name}: {method} {path}: {r.status} {data[:500]!r}")
        return json.loads(data) if data else None

    def sql(self, statements):
        if self.db_url:
            for s in statements:
                r = subprocess.run(["psql", self.db_url, "-v", "ON_ERROR_STOP=1", "-qc", s],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"{self.name}: {s[:200]}: {r.stderr}")
        else:
            db = sqlite3.connect(os.path.join(self.dir, "storekeep.db"), isolation_level=None)
            for s in statements:
                db.execute(s)
            db.close()

    def columns(self, table):
        if self.db_url:
            r = subprocess.run(["psql", self.db_url, "-Atc",
                                f"SELECT column_name FROM information_schema.columns WHERE table_name = "
                                f"'{table}' ORDER BY ordinal_position"], capture_output=True, text=True)
            return r.stdout.split()
        db = sqlite3.connect(os.path.join(self.dir, "storekeep.db"))
        cols = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        db.close()
        return cols


# The variants the orders buy (their ids go on CHECKOUT_BENCH's command
# line), each stocked for ORDERS / SELLING orders and more.
SELLING = 2000


def write_csv(path):
    with open(path, "w") as f:
        f.write("handle,title,description,status,tags,sku,options,price,inventory\n")
        for i in range(PRODUCTS):
            stock = ORDERS // SELLING + 10 if i < SELLING else 5 + i % 7
            f.write(f"item-{i:06d},Refurbished widget {i},Tested and cleaned; {i % 97} in the series,"
                    f"active,refurbished|widget,SKU-{i:06d},Condition=Grade {'ABC'[i % 3]},"
                    f"{1000 + i % 5000},{stock}\n")


def selling_variants(shop):
    """The ids of the variants of the first SELLING products (by handle)."""
    q = ("SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id "
         f"WHERE p.handle < 'item-{SELLING:06d}' ORDER BY p.handle")
    if shop.db_url:
        r = subprocess.run(["psql", shop.db_url, "-Atc", q], capture_output=True, text=True, check=True)
        return r.stdout.split()
    db = sqlite3.connect(os.path.join(shop.dir, "storekeep.db"))
    ids = [row[0] for row in db.execute(q)]
    db.close()
    return ids


def place_orders(shop):
    """ORDERS real checkouts through the storefront API, then their
    statuses spread by the last hex digit of their ids."""
    variants = selling_variants(shop)
    if len(variants) < min(SELLING, PRODUCTS):
        sys.exit(f"{shop.name}: only {len(variants)} variants to sell")
    r = subprocess.run([CHECKOUT_BENCH, "checkout", "--url", f"http://127.0.0.1:{shop.port}",
                        "--tenant", "bench", "--variants", ",".join(variants),
                        "--clients", "64", "--counts", str(ORDERS)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{shop.name}: placing orders failed: {r.stderr[-2000:]}")
    placed = json.loads(r.stdout.strip().splitlines()[-1])
    if placed["ok"] != ORDERS:
        sys.exit(f"{shop.name}: {placed['ok']} of {ORDERS} checkouts succeeded: {placed['other']}")
    last = "right(id::text, 1)" if shop.db_url else "substr(id, -1)"
    shop.sql([f"UPDATE orders SET status = CASE WHEN {last} IN ('0','1','2','3') THEN 'paid' "
              f"WHEN {last} IN ('4','5','6','7') THEN 'fulfilled' "
              f"WHEN {last} IN ('8','9','a','b') THEN 'delivered' ELSE status END"])
    # The confirmation-email jobs the dispatcher would make of the orders'
    # events (it is a job itself, and the runner is off): one `email.send`
    # job per `order.created` event, waiting on the `email` queue.
    payload = "jsonb_build_object('event_id', e.id)" if shop.db_url else "json_object('event_id', e.id)"
    shop.sql([f"INSERT INTO jobs (id, kind, queue, tenant_id, payload, state, priority, run_at, "
              f"attempt, max_attempts, created_at) SELECT e.id, 'email.send', 'email', e.tenant_id, "
              f"{payload}, 'available', 0, e.created_at, 0, 20, e.created_at FROM outbox_events e "
              f"WHERE e.topic = 'order.created'"])
    return placed


class Console:
    """A browser at the console: cookies, the CSRF token, one connection."""

    def __init__(self, shop):
        self.shop = shop
        self.cookies = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", shop.port, timeout=60)

    def request(self, method, path, body=None, host=HOST):
        headers = {"host": f"{host}:{self.shop.port}"}
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
            headers["sec-fetch-site"] = "same-origin"
            body = urllib.parse.urlencode(body)
        self.conn.request(method, path, body, headers)
        r = self.conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, value = v.split(";", 1)[0].split("=", 1)
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        return r.status, data.decode("utf-8", "replace")

    def sign_in(self, email):
        status, page = self.request("GET", "/console/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/console/signin",
                                 {"csrf": csrf, "email": email, "password": PASSWORD})
        if status != 303:
            sys.exit(f"{self.shop.name}: console sign-in answered {status}")


def time_page(console, path, host=HOST):
    for _ in range(5):
        status, _ = console.request("GET", path, host=host)
    if status == 404:
        return None
    if status != 200:
        with open(os.path.join(console.shop.dir, "server.log")) as log:
            tail = log.read()[-3000:]
        sys.exit(f"{console.shop.name}: GET {path}: {status}\nthe server's log ends:\n{tail}")
    took = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        console.request("GET", path, host=host)
        took.append((time.perf_counter() - t0) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


def bench(name, db_url):
    shop = Shop(name, db_url)
    pw = os.path.join(shop.dir, "pw")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    # Rate limits out of the way: the bench is one client asking as fast as
    # it can (and 64 placing the orders), not what the limits guard against.
    unlimited = "60000000"
    shop.run("plan", "create", "bulk", "--max-products", str(PRODUCTS * 2),
             *[a for t in ("api", "auth", "search", "admin")
               for a in (f"--{t}-requests-per-minute", unlimited)])
    shop.run("tenant", "create", "bench", "--name", "Bench", "--plan", "bulk")
    shop.run("user", "create", "--tenant", "bench", "--email", "owner@bench.example", "--role", "owner",
             "--password-file", pw)
    csv = os.path.join(shop.dir, "products.csv")
    write_csv(csv)
    t0 = time.perf_counter()
    shop.run("import", "products", "--tenant", "bench", csv)
    print(f"{name}: {PRODUCTS} products imported in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    shop.start()
    token = shop.api("POST", "/api/v1/auth/login",
                     {"email": "owner@bench.example", "password": PASSWORD, "account": "staff"})["token"]
    shop.api("PATCH", "/api/v1/admin/settings", {"settings": {
        "shipping_methods": [{"code": "standard", "name": "Standard", "price": 500}]}}, token)
    product = shop.api("GET", "/api/v1/admin/products?limit=1", token=token)["items"][0]
    placed = place_orders(shop)
    print(f"{name}: {ORDERS} orders placed in {placed['secs']:.0f} s "
          f"({placed['per_sec']:.0f} checkouts/s at 64 clients)", file=sys.stderr)
    shop.stop()

    shop.start()
    console = Console(shop)
    console.sign_in("owner@bench.example")
    _, page = console.request("GET", "/console/orders?status=paid")
    some_order = re.findall(r'href="/console/orders/([0-9a-f-]{36})"', page)[0]
    pages = [
        "/console", "/console/orders", "/console/orders?status=paid", f"/console/orders/{some_order}",
        "/console/products", "/console/products?q=widget", f"/console/products/{product['id']}",
        "/console/customers", "/console/rentals", "/console/rentals/units", "/console/jobs",
        "/console/deals", "/console/api-keys", "/console/staff", "/console/audit", "/console/settings",
        "/console/webhooks", "/console/emails", "/console/emails/order_placed", "/console/payments/unmatched",
        "/console/audit?action=order.refund", "/console/audit?actor=staff%3Anobody",
    ]
    _, page = console.request("GET", "/console/jobs")
    jobs = re.findall(r'href="/console/jobs/([^"/?]+)"', page)
    if jobs:
        pages.append("/console/jobs/" + jobs[0])
    else:
        print(f"{name}: no job listed on /console/jobs; a job's page is not timed", file=sys.stderr)
    floor = time_page(console, "/api/health/live")
    results = {"/api/health/live (floor)": floor}
    for p in pages:
        results[p] = time_page(console, p)
    op = Console(shop)
    shop.run("user", "create", "--platform", "--email", "ops@bench.example", "--password-file", pw)
    op.sign_in_host = None
    status, page = op.request("GET", "/console/signin", host="localhost")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    op.request("POST", "/console/signin", {"csrf": csrf, "email": "ops@bench.example", "password": PASSWORD},
               host="localhost")
    for p in ["/console/shops", "/console/health", "/console/platform-audit", "/console/platform-jobs",
              "/console/platform-jobs?state=available", "/console/plans", "/console/plans/bulk"]:
        results[f"{p} (operators)"] = time_page(op, p, host="localhost")
    shop.stop()
    for path, r in results.items():
        line = {"db": name, "page": path}
        if r is None:
            line["absent"] = True
        else:
            line.update(p50_ms=round(r[0], 2), p99_ms=round(r[1], 2))
        print(json.dumps(line))


bench("sqlite", None)
if PG_URL:
    bench("postgres", PG_URL)
