#!/usr/bin/env python3
"""Soak: `storekeep serve --demo` under a steady mixed load for SOAK_SECS,
sampling every SAMPLE_SECS the server's RSS, open file descriptors,
threads, database connections (the pool's own gauge; on PostgreSQL also
the server's backends), the undelivered outbox (the queue that builds up
until the job runner delivers it) and latency per kind of request. At the
end: trends (least squares over the run after the first tenth, per hour),
p99 early against late, idle RSS, and every acknowledged order checked.

    soak.py BIN OUT_DIR [DATABASE_URL]     (no URL: embedded SQLite)

Environment: SOAK_SECS (3600), SOAK_RATE (requests/s, 60), SOAK_CLIENTS
(8), SAMPLE_SECS (10), IDLE_SECS (30), HEAP_PROFILE=1 (jemalloc heap
profiles in OUT_DIR; needs a build with the `heap-profiling` feature).
"""
import asyncio, json, os, random, re, shutil, socket, sqlite3, statistics, subprocess, sys, tempfile, threading, time

bin_path, out_dir = sys.argv[1], sys.argv[2]
db_url = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
secs = float(os.environ.get("SOAK_SECS", "3600"))
rate = float(os.environ.get("SOAK_RATE", "60"))
clients = int(os.environ.get("SOAK_CLIENTS", "8"))
sample_secs = float(os.environ.get("SAMPLE_SECS", "10"))
idle_secs = float(os.environ.get("IDLE_SECS", "30"))
heap = os.environ.get("HEAP_PROFILE") == "1"
os.makedirs(out_dir, exist_ok=True)

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
token = "soak-platform-token-0123456789abcdef"
data_dir = tempfile.mkdtemp(prefix="storekeep-soak.")
env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKEEP_") and k != "_RJEM_MALLOC_CONF"}
env.update(STOREKEEP_LISTEN=f"127.0.0.1:{port}", STOREKEEP_DATA_DIR=data_dir, STOREKEEP_PLATFORM_TOKEN=token,
           STOREKEEP_SHUTDOWN_DRAIN_SECS="0", STOREKEEP_LOG_LEVEL="warn")
if db_url:
    env["STOREKEEP_DATABASE_URL"] = db_url
    # PostgreSQL needs PII keys configured (SQLite keeps generated ones in its data dir).
    keys = subprocess.run([bin_path, "keys", "generate"], env=env, check=True, capture_output=True, text=True)
    env.update(line.split("=", 1) for line in keys.stdout.splitlines() if line.startswith("STOREKEEP_"))
if heap:
    # A sample every 512 KiB allocated on average; a profile every 1 GiB
    # allocated, and one at exit.
    env["_RJEM_MALLOC_CONF"] = (f"prof:true,prof_prefix:{out_dir}/jeprof,lg_prof_sample:19,"
                                "lg_prof_interval:30,prof_final:true")
# CLI commands run without the profiler.
cli_env = {k: v for k, v in env.items() if k != "_RJEM_MALLOC_CONF"}
log = open(os.path.join(out_dir, "server.log"), "wb")
server = subprocess.Popen([bin_path, "serve", "--demo"], env=env, stdout=log, stderr=subprocess.STDOUT)
with open(os.path.join(out_dir, "server.pid"), "w") as f:
    f.write(f"{server.pid}\n")
db_name = "PostgreSQL" if db_url else "SQLite"


def proc_status():
    out = {}
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024
            elif k == "Threads":
                out[k] = int(v)
    out["fds"] = len(os.listdir(f"/proc/{server.pid}/fd"))
    return out


async def request(conn, method, path, body=None, headers=None):
    """One HTTP/1.1 exchange on a keep-alive connection (reader, writer)."""
    reader, writer = conn
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", "x-tenant: demo", f"content-length: {len(data)}"]
    if body is not None:
        head.append("content-type: application/json")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length":
            length = int(v)
    payload = await reader.readexactly(length) if length else b""
    return int(status_line.split()[1]), payload


async def connect():
    return await asyncio.open_connection("127.0.0.1", port)


async def one_shot(method, path, body=None, headers=None):
    conn = await connect()
    try:
        return await request(conn, method, path, body, headers)
    finally:
        conn[1].close()


def call(method, path, body=None, headers=None):
    return asyncio.run(one_shot(method, path, body, headers))


def metrics():
    st, body = call("GET", "/api/metrics")
    out = {}
    for line in body.decode().splitlines():
        m = re.match(r'^(?:storekeep_)?db_pool_connections\{state="(\w+)"\} (\S+)', line)
        if m:
            out[f"pool_{m.group(1)}"] = float(m.group(2))
        m = re.match(r'^(?:storekeep_)?http_connections_open (\S+)', line)
        if m:
            out["http_open"] = float(m.group(1))
    return out


def pg_query(sql):
    r = subprocess.run(["psql", db_url, "-Atc", sql], capture_output=True, text=True, timeout=30)
    return int(r.stdout.strip() or 0) if r.returncode == 0 else None


def outbox_pending():
    if db_url:
        return pg_query("select count(*) from outbox_events where delivered_at is null")
    try:
        c = sqlite3.connect(f"file:{data_dir}/storekeep.db?mode=ro", uri=True, timeout=5)
        n = c.execute("select count(*) from outbox_events where delivered_at is null").fetchone()[0]
        c.close()
        return n
    except sqlite3.Error:
        return None


# --- set-up ---------------------------------------------------------------------
for _ in range(2400):
    try:
        if call("GET", "/api/health/ready")[0] == 200:
            break
    except OSError:
        pass
    time.sleep(0.05)
else:
    sys.exit("the server did not become ready")
op = {"authorization": f"Bearer {token}"}
limits = {f"{t}_requests_per_minute": 60_000_000 for t in ("api", "auth", "search", "admin")}
assert call("POST", "/api/v1/platform/plans", {"plan": {"name": "soak", "limits": limits}}, op)[0] == 201
assert call("PATCH", "/api/v1/platform/tenants/demo", {"tenant": {"plan": "soak"}}, op)[0] == 200
pw = "correct horse battery staple"
pw_file = os.path.join(data_dir, "pw")
with open(pw_file, "w") as f:
    f.write(pw + "\n")
subprocess.run([bin_path, "user", "create", "--tenant", "demo", "--email", "owner@soak.example", "--role", "owner",
                "--password-file", pw_file], env=cli_env, check=True, capture_output=True)
customers = [f"customer{i}@soak.example" for i in range(20)]
for email in customers:
    assert call("POST", "/api/v1/auth/register", {"account": {"email": email, "password": pw}})[0] == 201


def staff_token():
    st, body = call("POST", "/api/v1/auth/login", {"email": "owner@soak.example", "password": pw, "account": "staff"})
    assert st == 200, (st, body)
    return json.loads(body)["token"]


staff = {"authorization": f"Bearer {staff_token()}"}
products = []
after = None
while True:
    st, body = call("GET", "/api/v1/store/products?limit=200" + (f"&after={after}" if after else ""))
    page = json.loads(body)
    products += page["items"]
    after = page.get("next_cursor")
    if not after:
        break
variants = [v["id"] for p in products for v in p["variants"]]
words = sorted({w.lower() for p in products for w in re.findall(r"[A-Za-z]{3,}", p["title"])})
tags = sorted({t for p in products for t in p.get("tags", [])}) or ["none"]
st, body = call("GET", "/api/v1/store/categories")
categories = [c.get("handle") or c["id"] for c in json.loads(body).get("items", [])] if st == 200 else []


async def restock_all():
    """Stock for an hour of checkouts: every variant +300 at the start."""
    async def worker(part):
        conn = await connect()
        for v in part:
            st, body = await request(conn, "POST", f"/api/v1/admin/variants/{v}/inventory",
                                     {"delta": 300, "reason": "soak stock"}, staff)
            assert st == 200, (st, body)
        conn[1].close()
    await asyncio.gather(*(worker(variants[i::4]) for i in range(4)))


asyncio.run(restock_all())
checkout_body = {
    "email": "buyer@soak.example", "shipping_method": "standard", "payment_provider": "manual",
    "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Oakland", "region": "CA",
                         "postal_code": "94607", "country": "US"},
}

# --- load -----------------------------------------------------------------------
lat = {}          # kind -> [(t, ms)]
outcomes = {}     # kind -> {status: n}
acknowledged = {}  # order id -> total
lifecycle = []    # order ids to move along: paid, fulfilled, delivered
seen = set()      # (kind, status) of failures already written to failures.jsonl
t_start = time.monotonic()


def note(kind, status, ms):
    lat.setdefault(kind, []).append((time.monotonic() - t_start, ms))
    outcomes.setdefault(kind, {}).setdefault(str(status), 0)
    outcomes[kind][str(status)] += 1


def product_query(rnd):
    q = [f"limit={rnd.choice([10, 20, 50, 100])}"]
    if rnd.random() < 0.4:
        q.append(f"sort={rnd.choice(['newest', 'price_asc', 'price_desc', 'title'])}")
    if rnd.random() < 0.3:
        lo = rnd.randrange(0, 50_000)
        q.append(f"min_price={lo}")
        if rnd.random() < 0.5:
            q.append(f"max_price={lo + rnd.randrange(1000, 200_000)}")
    if rnd.random() < 0.2:
        q.append("in_stock=true")
    if rnd.random() < 0.2:
        q.append(f"tag={rnd.choice(tags)}")
    if categories and rnd.random() < 0.2:
        q.append(f"category={rnd.choice(categories)}")
    return "&".join(q)


async def client(c, stop_at):
    rnd = random.Random(c)
    conn = await connect()
    interval = clients / rate
    next_at = time.monotonic() + rnd.random() * interval
    cursor = None  # (query, next_cursor) of this client's last product list
    while time.monotonic() < stop_at:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += interval
        r = rnd.random()
        t0 = time.perf_counter()
        kind, path, body = "?", "", b""
        try:
            if r < 0.30:
                kind = "product list"
                # The next page of the last list, or a new list.
                if cursor and cursor[1] and rnd.random() < 0.3:
                    query = cursor[0]
                    path = f"/api/v1/store/products?{query}&after={cursor[1]}"
                else:
                    query = product_query(rnd)
                    path = f"/api/v1/store/products?{query}"
                st, body = await request(conn, "GET", path)
                cursor = (query, json.loads(body).get("next_cursor")) if st == 200 else None
            elif r < 0.45:
                kind = "product page"
                st, body = await request(conn, "GET", f"/api/v1/store/products/{rnd.choice(products)['handle']}")
            elif r < 0.57:
                kind = "search"
                q = rnd.choice(words)
                if rnd.random() < 0.3:
                    q += " " + rnd.choice(words)
                elif rnd.random() < 0.3:
                    q = q[: rnd.randrange(3, len(q) + 1)]
                st, body = await request(conn, "GET", f"/api/v1/store/search?q={q.replace(' ', '+')}&limit={rnd.choice([10, 20])}")
            elif r < 0.72:
                kind = "checkout"
                items = [{"variant_id": rnd.choice(variants), "quantity": rnd.choice([1, 1, 2])}
                         for _ in range(rnd.choice([1, 1, 2, 3]))]
                st, body = await request(conn, "POST", "/api/v1/store/carts", {"items": items})
                if st == 201:
                    cart = json.loads(body)["cart"]
                    st, body = await request(conn, "POST", f"/api/v1/store/carts/{cart['id']}/checkout", checkout_body,
                                             {"x-cart-token": cart["token"], "idempotency-key": f"soak-{c}-{rnd.random()}"})
                    if st == 201:
                        order = json.loads(body)["order"]
                        acknowledged[order["id"]] = order["total"]
                        lifecycle.append(order["id"])
                else:
                    kind = "cart"
            elif r < 0.80:
                kind = "admin order list"
                q = f"limit={rnd.choice([20, 50])}"
                if rnd.random() < 0.3:
                    q += f"&status={rnd.choice(['pending_payment', 'paid', 'fulfilled', 'delivered'])}"
                st, body = await request(conn, "GET", f"/api/v1/admin/orders?{q}", None, staff)
            elif r < 0.88:
                kind = "admin order action"
                if lifecycle:
                    oid = lifecycle.pop(0)
                    st, body = await request(conn, "POST", f"/api/v1/admin/orders/{oid}/mark-paid",
                                             {"payment_provider": "manual"}, staff)
                    if st == 200 and rnd.random() < 0.7:
                        st, body = await request(conn, "POST", f"/api/v1/admin/orders/{oid}/fulfil", {}, staff)
                        if st == 200 and rnd.random() < 0.5:
                            st, body = await request(conn, "POST", f"/api/v1/admin/orders/{oid}/deliver", {}, staff)
                else:
                    st, body = await request(conn, "GET", "/api/v1/admin/orders?limit=1", None, staff)
            elif r < 0.94:
                kind = "catalog edit"
                v = rnd.choice(variants)
                st, body = await request(conn, "PATCH", f"/api/v1/admin/variants/{v}",
                                      {"variant": {"price": {"amount": rnd.randrange(500, 90_000), "currency": "USD"}}}, staff)
            else:
                kind = "restock"
                st, body = await request(conn, "POST", f"/api/v1/admin/variants/{rnd.choice(variants)}/inventory",
                                      {"delta": rnd.randrange(5, 20), "reason": "soak restock"}, staff)
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            st = f"error {e.__class__.__name__}"
            conn[1].close()
            conn = await connect()
        note(kind, st, (time.perf_counter() - t0) * 1000)
        if isinstance(st, int) and st >= 400 and (kind, st) not in seen:
            # The first answer of each kind of failure, for the report.
            seen.add((kind, st))
            with open(os.path.join(out_dir, "failures.jsonl"), "a") as f:
                f.write(json.dumps({"kind": kind, "status": st, "path": path,
                                    "body": body.decode(errors="replace")[:500]}) + "\n")
    conn[1].close()


async def logins(stop_at):
    """A few logins a minute: a customer every 15 s, staff and a wrong password every 60 s."""
    n = 0
    while time.monotonic() < stop_at:
        await asyncio.sleep(15)
        n += 1
        for kind, body in [("login", {"email": customers[n % len(customers)], "password": pw})] + (
                [("login", {"email": "owner@soak.example", "password": pw, "account": "staff"}),
                 ("login failed", {"email": "nobody@soak.example", "password": "wrong password here"})]
                if n % 4 == 0 else []):
            t0 = time.perf_counter()
            try:
                st, _ = await one_shot("POST", "/api/v1/auth/login", body)
            except OSError as e:
                st = f"error {e.__class__.__name__}"
            note(kind, st, (time.perf_counter() - t0) * 1000)


samples = []
sampling = True


def sampler():
    while sampling:
        t = time.monotonic() - t_start
        row = {"t": round(t, 1)}
        try:
            st = proc_status()
            row.update(rss_mib=round(st["VmRSS"], 1), fds=st["fds"], threads=st["Threads"])
            row.update(metrics())
        except (OSError, ValueError):
            pass
        row["outbox"] = outbox_pending()
        if db_url:
            row["pg_backends"] = pg_query("select count(*) from pg_stat_activity where backend_type = 'client backend'")
        window = [ms for k, xs in list(lat.items()) for (at, ms) in xs[-5000:] if at > t - sample_secs]
        row["requests"] = len(window)
        row["p99_ms"] = round(quantile(window, 0.99), 1) if window else None
        samples.append(row)
        with open(os.path.join(out_dir, "samples.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
        time.sleep(max(0.0, sample_secs - (time.monotonic() - t_start - t)))


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def slope_per_hour(key, skip):
    pts = [(r["t"], r[key]) for r in samples if r.get(key) is not None and r["t"] >= skip]
    if len(pts) < 3:
        return None
    mt = statistics.fmean(t for t, _ in pts)
    mv = statistics.fmean(v for _, v in pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (v - mv) for t, v in pts) / den * 3600 if den else None


threading.Thread(target=sampler, daemon=True).start()
try:
    async def main():
        stop_at = time.monotonic() + secs
        await asyncio.gather(logins(stop_at), *(client(c, stop_at) for c in range(clients)))
    asyncio.run(main())
    loaded = proc_status()
    time.sleep(idle_secs)
    idle = proc_status()
    sampling = False

    # Every acknowledged order is there with its total.
    missing = wrong = 0
    async def verify():
        nonlocal_counts = [0, 0]
        conn = await connect()
        for oid, total in acknowledged.items():
            st, body = await request(conn, "GET", f"/api/v1/admin/orders/{oid}", None, staff)
            if st != 200:
                nonlocal_counts[0] += 1
            elif json.loads(body)["order"]["total"] != total:
                nonlocal_counts[1] += 1
        conn[1].close()
        return nonlocal_counts
    staff = {"authorization": f"Bearer {staff_token()}"}
    missing, wrong = asyncio.run(verify())
finally:
    sampling = False
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()
    # The soak's database (tens of thousands of orders) goes with it.
    shutil.rmtree(data_dir, ignore_errors=True)

skip = secs / 10
total = sum(len(v) for v in lat.values())
report = []
say = report.append
say(f"soak: storekeep serve --demo on {db_name}, {secs / 60:.0f} min at {rate:.0f} requests/s target, "
    f"{clients} clients, {os.cpu_count()} CPUs shared by client and server{' (heap profiling on)' if heap else ''}")
say(f"requests: {total} ({total / secs:.1f}/s); acknowledged orders: {len(acknowledged)}; "
    f"after the run: {missing} missing, {wrong} with another total")
first, last = samples[0], [r for r in samples if "rss_mib" in r][-1]
say(f"RSS: {first.get('rss_mib')} MiB at start, peak {max(r.get('rss_mib', 0) for r in samples):.1f} MiB, "
    f"{loaded['VmRSS']:.1f} MiB at the end, {idle['VmRSS']:.1f} MiB after {idle_secs:.0f} s idle")
for key, unit in [("rss_mib", "MiB"), ("fds", "fds"), ("threads", "threads"), ("pool_open", "open"),
                  ("pool_idle", "idle"), ("pg_backends", "backends"), ("outbox", "events")]:
    vals = [r[key] for r in samples if r.get(key) is not None]
    if vals:
        sl = slope_per_hour(key, skip)
        say(f"  {key:<12} min {min(vals):>8} max {max(vals):>8} last {vals[-1]:>8}  "
            f"trend after the first tenth: {sl:+.1f} {unit}/hour" if sl is not None else f"  {key}: {vals}")
window = min(600.0, secs / 4)
say(f"latency by kind, first {window / 60:.0f} min after the first tenth vs last {window / 60:.0f} min (ms):")
for kind in sorted(lat):
    early = [ms for t, ms in lat[kind] if skip <= t < skip + window]
    late = [ms for t, ms in lat[kind] if t >= secs - window]
    if early and late:
        say(f"  {kind:<20} p50 {quantile(early, .5):7.1f} -> {quantile(late, .5):7.1f}   "
            f"p99 {quantile(early, .99):7.1f} -> {quantile(late, .99):7.1f}   n {len(lat[kind])}  {outcomes[kind]}")
print("\n".join(report))
with open(os.path.join(out_dir, "summary.txt"), "w") as f:
    f.write("\n".join(report) + "\n")
if missing or wrong:
    sys.exit("acknowledged orders were lost or changed")
