#!/usr/bin/env python3
"""scripts/bench console: server time per console page on a large shop.

    console.py BIN WORK [PG_URL]

For SQLite (always) and PostgreSQL (when PG_URL is given): a shop of
PRODUCTS (default 100,000) products imported from a CSV with the CLI and
ORDERS (default 100,000) orders — one real checkout through the API, then
copied with set-based SQL (new UUIDv7-shaped ids a second apart, statuses
cycling through paid/fulfilled/delivered/pending_payment, its lines with
them) — then the server started on it, a staff owner signed in through the
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

BIN, WORK = sys.argv[1], sys.argv[2]
PG_URL = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
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
                        STOREKEEP_LOG_LEVEL="warn", STOREKEEP_SHUTDOWN_DRAIN_SECS="0")
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


def write_csv(path):
    with open(path, "w") as f:
        f.write("handle,title,description,status,tags,sku,options,price,inventory\n")
        for i in range(PRODUCTS):
            f.write(f"item-{i:06d},Refurbished widget {i},Tested and cleaned; {i % 97} in the series,"
                    f"active,refurbished|widget,SKU-{i:06d},Condition=Grade {'ABC'[i % 3]},"
                    f"{1000 + i % 5000},{5 + i % 7}\n")


def uuid7_sql(pg, ms, k):
    """An id whose first 48 bits are the millisecond `ms` (a SQL expression
    of the row number `k`): UUIDv7-shaped, so ids order by time."""
    if pg:
        return (f"(lpad(to_hex(({ms}) >> 16), 8, '0') || '-' || lpad(to_hex(({ms}) & 65535), 4, '0') "
                f"|| '-7000-8000-' || lpad(to_hex({k}), 12, '0'))::uuid")
    return f"printf('%08x-%04x-7000-8000-%012x', ({ms}) >> 16, ({ms}) & 65535, {k})"


def seed_orders(shop, template, base_ms):
    pg = bool(shop.db_url)
    order_cols = shop.columns("orders")
    line_cols = shop.columns("order_lines")
    ms = f"{base_ms} + k * 1000"
    when = (f"to_timestamp(({ms}) / 1000.0)" if pg
            else f"strftime('%Y-%m-%dT%H:%M:%fZ', ({ms}) / 1000.0, 'unixepoch')")
    status = ("CASE k % 4 WHEN 0 THEN 'paid' WHEN 1 THEN 'fulfilled' WHEN 2 THEN 'delivered' "
              "ELSE 'pending_payment' END")
    exprs = {"id": uuid7_sql(pg, ms, "k"), "status": status, "created_at": when, "updated_at": when,
             "expires_at": "NULL", "cart_id": uuid7_sql(pg, ms, "k + 4000000000")}
    o_sel = ", ".join(exprs.get(c, f"o.{c}") for c in order_cols)
    lexprs = {"id": uuid7_sql(pg, ms, "k + 8000000000"), "order_id": uuid7_sql(pg, ms, "k")}
    l_sel = ", ".join(lexprs.get(c, f"l.{c}") for c in line_cols)
    series = (f"generate_series(1, {ORDERS - 1}) AS n(k)" if pg else "n")
    with_n = ("" if pg else
              f"WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {ORDERS - 1}) ")
    tid = f"'{template}'"
    shop.sql([
        f"{with_n}INSERT INTO orders ({', '.join(order_cols)}) SELECT {o_sel} FROM orders o, {series} "
        f"WHERE o.id = {tid}",
        f"{with_n}INSERT INTO order_lines ({', '.join(line_cols)}) SELECT {l_sel} FROM order_lines l, "
        f"{series} WHERE l.order_id = {tid} AND l.position = 0",
    ])


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
        sys.exit(f"{console.shop.name}: GET {path}: {status}")
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
    shop.run("plan", "create", "bulk", "--max-products", str(PRODUCTS * 2))
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
    variant = product["variants"][0]["id"]
    cart = shop.api("POST", "/api/v1/store/carts", {"items": [{"variant_id": variant, "quantity": 1}]})["cart"]
    c = http.client.HTTPConnection("127.0.0.1", shop.port, timeout=60)
    c.request("POST", f"/api/v1/store/carts/{cart['id']}/checkout", json.dumps({
        "email": "ada@example.com", "shipping_method": "standard", "payment_provider": "manual",
        "shipping_address": {"name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "London",
                             "postal_code": "N1 1AA", "country": "GB"}}),
        {"x-tenant": "bench", "content-type": "application/json", "x-cart-token": cart["token"],
         "idempotency-key": "bench-template-order"})
    r = c.getresponse()
    order = json.loads(r.read())
    if r.status != 201:
        sys.exit(f"{name}: template checkout: {r.status} {order}")
    template = order["order"]["id"]
    shop.stop()
    t0 = time.perf_counter()
    base_ms = int(time.time() * 1000) - ORDERS * 1000
    seed_orders(shop, template, base_ms)
    print(f"{name}: {ORDERS - 1} orders copied in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    shop.start()
    console = Console(shop)
    console.sign_in("owner@bench.example")
    _, page = console.request("GET", "/console/orders?status=paid")
    some_order = (re.findall(r'href="/console/orders/([0-9a-f-]{36})"', page) or [template])[0]
    pages = [
        "/console", "/console/orders", "/console/orders?status=paid", f"/console/orders/{some_order}",
        "/console/products", "/console/products?q=widget", f"/console/products/{product['id']}",
        "/console/customers", "/console/rentals", "/console/rentals/units", "/console/jobs",
        "/console/deals", "/console/api-keys", "/console/staff", "/console/audit", "/console/settings",
    ]
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
    for p in ["/console/shops", "/console/health", "/console/platform-audit"]:
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
