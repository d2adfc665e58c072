"""HTTP throughput benchmarks with wrk against a release build on loopback.

    python3 scripts/bench.d/throughput.py catalog BIN               # storefront routes vs /api/health/live
    python3 scripts/bench.d/throughput.py request-path BIN BARE     # every route as a ratio of a bare axum handler
    python3 scripts/bench.d/throughput.py storefront BIN LIGHTHOUSE # storefront pages vs /api/health/live, Lighthouse

BENCH_SECS (default 10 for catalog and storefront, 6 for request-path) per measurement,
ROUNDS (request-path, default 3): the whole set is measured that many
times, bare axum before and after each route, and medians are reported.
ACCEPT_ENCODING (default "gzip", as browsers and HTTP libraries send;
empty for none) is sent with every request, to bare axum as well.
"""
import json, os, re, signal, socket, statistics, subprocess, sys, tempfile, time
import urllib.error, urllib.request

UNLIMITED = 60_000_000
TOKEN = "bench-platform-token-0123456789abcdef"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    return port


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


class Server:
    """`storekeep serve --demo` on SQLite in a fresh data directory."""

    def __init__(self, bin):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.TemporaryDirectory()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKEEP_")}
        env.update(STOREKEEP_LISTEN=f"127.0.0.1:{self.port}", STOREKEEP_DATA_DIR=self.dir.name,
                   STOREKEEP_PLATFORM_TOKEN=TOKEN, STOREKEEP_SHUTDOWN_DRAIN_SECS="0")
        # The storefront cache is on by default; STOREKEEP_CACHE_MAX_BYTES=0 measures without it.
        if "STOREKEEP_CACHE_MAX_BYTES" in os.environ:
            env["STOREKEEP_CACHE_MAX_BYTES"] = os.environ["STOREKEEP_CACHE_MAX_BYTES"]
        self.env = env
        self.log = open(os.path.join(self.dir.name, "server.log"), "wb")
        self.proc = subprocess.Popen([bin, "serve", "--demo"], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def fail(self, msg):
        print(f"bench: {msg}", file=sys.stderr)
        self.log.flush()
        with open(self.log.name, "rb") as f:
            tail = f.read()[-3000:].decode(errors="replace")
        print(f"--- last lines of the server log ---\n{tail}", file=sys.stderr)
        sys.exit(1)

    def call(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"content-type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def wait_ready(self):
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                self.fail(f"the server exited with {self.proc.returncode} before it was ready")
            try:
                if self.call("GET", "/api/health/ready")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.fail("the server was not ready within 120 s")
            time.sleep(0.05)

    def unlimited_demo_shop(self):
        """The default plan's rate limits (6,000 a minute per client) would
        answer most of the load with 429: move the demo shop to a plan whose
        limits are never reached. The limiter still runs on every request."""
        op = {"authorization": f"Bearer {TOKEN}"}
        limits = {f"{t}_requests_per_minute": UNLIMITED for t in ("api", "auth", "search", "admin")}
        status, _, body = self.call("POST", "/api/v1/platform/plans",
                                    {"plan": {"name": "bench", "limits": limits}}, op)
        if status != 201: self.fail(f"creating the bench plan: {status} {body[:500]!r}")
        status, _, body = self.call("PATCH", "/api/v1/platform/tenants/demo",
                                    {"tenant": {"plan": "bench"}}, op)
        if status != 200: self.fail(f"moving the demo shop to the bench plan: {status} {body[:500]!r}")

    def routes(self):
        shop = {"x-tenant": "demo"}
        status, _, body = self.call("GET", "/api/v1/store/products?limit=1", headers=shop)
        if status != 200: self.fail(f"GET /api/v1/store/products: {status} {body[:500]!r}")
        items = json.loads(body).get("items") or []
        if not items: self.fail("the demo shop has no active product")
        product = items[0]
        routes = [
            ("GET /api/health/live", "/api/health/live"),
            ("GET /api/v1/store/products?limit=20", "/api/v1/store/products?limit=20"),
            ("GET /api/v1/store/products/{handle}", f"/api/v1/store/products/{product['handle']}"),
            ("GET /api/v1/store/search?q=thinkpad", "/api/v1/store/search?q=thinkpad"),
        ]
        for name, path in routes:
            status, headers, body = self.call("GET", path, headers=shop)
            if status != 200: self.fail(f"{name}: {status} {body[:500]!r}")
            if path.startswith("/api/v1/") and int(headers.get("ratelimit-limit", 0)) < UNLIMITED:
                self.fail(f"{name}: still rate limited ({headers.get('ratelimit-limit')} a minute)")
        return product, routes

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill(); self.proc.wait()
        self.log.close()
        self.dir.cleanup()


def to_ms(value):
    n, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


ACCEPT = os.environ.get("ACCEPT_ENCODING", "gzip")


def wrk(url, seconds, fail, host=None, cookie=None):
    """Requests/s and p99 in ms; every answer must be 2xx. `host` is sent
    as the Host header (a storefront page is chosen by host only), `cookie`
    as the Cookie header."""
    cmd = ["wrk", "--latency", "-t2", "-c32", f"-d{seconds}s", "-H", "X-Tenant: demo"]
    if host:
        cmd += ["-H", f"Host: {host}"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    if ACCEPT:
        cmd += ["-H", f"Accept-Encoding: {ACCEPT}"]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        fail(f"wrk failed on {url}:\n{out.stdout}{out.stderr}")
    text = out.stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    if bad or errors:
        fail(f"{url}: {bad.group(0) if bad else ''} {errors.group(0) if errors else ''}\n{text}")
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    return rps, p99


def catalog(bin):
    secs = int(os.environ.get("BENCH_SECS", "10"))
    server = Server(bin)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server.wait_ready()
        server.unlimited_demo_shop()
        product, routes = server.routes()
        print(f"storekeep serve --demo, SQLite, release build; wrk -t2 -c32 -d{secs}s after a 2 s warm-up, "
              f"Accept-Encoding: {ACCEPT or '(none)'}; on {os.cpu_count()} CPUs shared by client and server")
        print(f"product: {product['handle']} ({product['id']}); storefront cache: "
              f"{'max ' + server.env['STOREKEEP_CACHE_MAX_BYTES'] + ' bytes' if 'STOREKEEP_CACHE_MAX_BYTES' in server.env else 'default'}")
        results = []
        for name, path in routes:
            wrk(server.base + path, 2, server.fail)
            rps, p99 = wrk(server.base + path, secs, server.fail)
            results.append((name, rps, p99))
        print(f"{'route':<40} {'req/s':>10} {'p99 ms':>8} {'vs live':>8}")
        for name, rps, p99 in results:
            print(f"{name:<40} {rps:>10.0f} {p99:>8.2f} {rps / results[0][1]:>8.2f}")
    finally:
        server.stop()


def request_path(bin, bare_bin):
    secs = int(os.environ.get("BENCH_SECS", "6"))
    rounds = int(os.environ.get("ROUNDS", "3"))
    bare_port = free_port()
    bare = subprocess.Popen([bare_bin, f"127.0.0.1:{bare_port}"], stdout=subprocess.DEVNULL)
    bare_url = f"http://127.0.0.1:{bare_port}/"
    server = Server(bin)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server.wait_ready()
        for _ in range(100):
            try:
                urllib.request.urlopen(bare_url, timeout=5).read(); break
            except OSError:
                time.sleep(0.05)
        server.unlimited_demo_shop()
        product, routes = server.routes()
        time.sleep(3)
        idle_before = rss_mib(server.proc.pid)
        print(f"storekeep serve --demo (SQLite, release build, JSON access log to a file) against a bare "
              f"axum handler (same axum, tokio and allocator); wrk -t2 -c32 -d{secs}s per measurement "
              f"after a 2 s warm-up, bare axum measured before and after each route, {rounds} rounds, "
              f"medians; Accept-Encoding: {ACCEPT or '(none)'}; {os.cpu_count()} CPUs shared by client and servers")
        wrk(bare_url, 2, server.fail)
        for _, path in routes:
            wrk(server.base + path, 2, server.fail)
        ratios = {name: [] for name, _ in routes}
        rates = {name: [] for name, _ in routes}
        p99s = {name: [] for name, _ in routes}
        bares, bare_p99s = [], []
        for _ in range(rounds):
            for name, path in routes:
                b1, bp1 = wrk(bare_url, secs, server.fail)
                rps, p99 = wrk(server.base + path, secs, server.fail)
                b2, bp2 = wrk(bare_url, secs, server.fail)
                ceiling = (b1 + b2) / 2
                bares += [b1, b2]; bare_p99s += [bp1, bp2]
                ratios[name].append(rps / ceiling); rates[name].append(rps); p99s[name].append(p99)
        time.sleep(5)
        idle_after = rss_mib(server.proc.pid)
        med = statistics.median
        print(f"{'endpoint':<40} {'req/s':>9} {'p99 ms':>7} {'of bare':>8}  (each round)")
        print(f"{'bare axum GET / (ceiling)':<40} {med(bares):>9.0f} {med(bare_p99s):>7.2f} {1:>8.2f}  "
              f"({min(bares):.0f}-{max(bares):.0f} req/s)")
        for name, _ in routes:
            each = " ".join(f"{r:.2f}" for r in ratios[name])
            print(f"{name:<40} {med(rates[name]):>9.0f} {med(p99s[name]):>7.2f} {med(ratios[name]):>8.2f}  ({each})")
        print(f"storekeep RSS: idle after start {idle_before:.1f} MiB, idle after the load {idle_after:.1f} MiB")
    finally:
        bare.terminate(); bare.wait()
        server.stop()


def storefront(bin, lighthouse):
    """The demo shop's storefront (served at demo.localhost, `--demo` makes
    localhost the base domain): its product page and a category page as
    requests/s beside /api/health/live in the same run (the product page
    also as a shopper with a cart sees it), then Lighthouse's
    performance and accessibility scores for the product page."""
    secs = int(os.environ.get("BENCH_SECS", "10"))
    server = Server(bin)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server.wait_ready()
        server.unlimited_demo_shop()
        product, _ = server.routes()
        status, _, body = server.call("GET", "/api/v1/store/categories", headers={"x-tenant": "demo"})
        if status != 200: server.fail(f"GET /api/v1/store/categories: {status} {body[:500]!r}")
        cats = json.loads(body)
        cats = cats.get("items") or cats.get("categories") or []
        if not cats: server.fail("the demo shop has no category")
        category = cats[0]["handle"]
        host = f"demo.localhost:{server.port}"
        # A shopper with a cart: every page reads the cart for the header's
        # count (the session layer), so this is the cost of that read.
        status, _, body = server.call("GET", f"/api/v1/store/products/{product['handle']}",
                                      headers={"x-tenant": "demo"})
        if status != 200: server.fail(f"GET the product: {status} {body[:500]!r}")
        detail = json.loads(body)
        detail = detail.get("product", detail)
        variant = detail["variants"][0]["id"]
        status, _, body = server.call("POST", "/api/v1/store/carts",
                                      {"items": [{"variant_id": variant, "quantity": 1}]},
                                      headers={"x-tenant": "demo"})
        if status != 201: server.fail(f"POST /api/v1/store/carts: {status} {body[:500]!r}")
        cart = json.loads(body)["cart"]
        cart_cookie = f"__Host-sk_cart={cart['id']}.{cart['token']}"
        routes = [
            ("GET /api/health/live", "/api/health/live", None, None),
            (f"GET /products/{{handle}} (HTML)", f"/products/{product['handle']}", host, None),
            (f"GET /categories/{{handle}} (HTML)", f"/categories/{category}", host, None),
            (f"GET /products/{{handle}}, with a cart", f"/products/{product['handle']}", host, cart_cookie),
        ]
        for name, path, h, cookie in routes:
            headers = {"host": h} if h else {}
            if cookie: headers["cookie"] = cookie
            req = urllib.request.Request(server.base + path, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    kind, page = r.headers.get("content-type", ""), r.read()
            except urllib.error.HTTPError as e:
                server.fail(f"{name}: {e.code} {e.read()[:500]!r}")
            if h and not kind.startswith("text/html"): server.fail(f"{name}: {kind}, not HTML")
            if cookie and b'<span class="badge">1</span>' not in page:
                server.fail(f"{name}: the page does not show the cart's item, the cookie was not read")
            if h and not cookie: print(f"{name}: {len(page)} bytes of HTML (uncompressed)")
        print(f"storekeep serve --demo, SQLite, release build; wrk -t2 -c32 -d{secs}s after a 2 s warm-up, "
              f"Accept-Encoding: {ACCEPT or '(none)'}; on {os.cpu_count()} CPUs shared by client and server")
        print(f"product: {product['handle']}; category: {category}; pages at http://{host}")
        results = []
        for name, path, h, cookie in routes:
            wrk(server.base + path, 2, server.fail, h, cookie)
            rps, p99 = wrk(server.base + path, secs, server.fail, h, cookie)
            results.append((name, rps, p99))
        print(f"{'route':<40} {'req/s':>10} {'p99 ms':>8} {'vs live':>8}")
        for name, rps, p99 in results:
            print(f"{name:<40} {rps:>10.0f} {p99:>8.2f} {rps / results[0][1]:>8.2f}")

        # Lighthouse on the product page, against the system Chromium.
        url = f"http://{host}/products/{product['handle']}"
        report = os.path.join(server.dir.name, "lighthouse.json")
        env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
        out = subprocess.run([lighthouse, url, "--quiet", "--output=json", f"--output-path={report}",
                              "--only-categories=performance,accessibility",
                              "--chrome-flags=--headless=new --no-sandbox"],
                             env=env, capture_output=True, text=True, timeout=300)
        if out.returncode != 0 or not os.path.exists(report):
            server.fail(f"lighthouse failed ({out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
        with open(report) as f:
            lh = json.load(f)
        if lh.get("runtimeError"): server.fail(f"lighthouse: {lh['runtimeError']}")
        cats = lh["categories"]
        print(f"Lighthouse {lh['lighthouseVersion']} ({lh['environment']['hostUserAgent'].split(' ')[-2]}, "
              f"its default mobile emulation and throttling) on {url}:")
        for key in ("performance", "accessibility"):
            score = cats[key]["score"]
            print(f"  {key}: {'n/a' if score is None else round(score * 100)}")
        for audit in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                      "cumulative-layout-shift", "speed-index"):
            a = lh["audits"].get(audit)
            if a: print(f"    {a['title']}: {a.get('displayValue', '')}")
        failing = [a["id"] for a in lh["audits"].values()
                   if a.get("score") is not None and a["score"] < 1 and
                   any(r["id"] == a["id"] for r in cats["accessibility"]["auditRefs"] if r["weight"] > 0)]
        if failing: print(f"  accessibility audits not passed: {', '.join(failing)}")
    finally:
        server.stop()


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "catalog":
        catalog(sys.argv[2])
    elif what == "request-path":
        request_path(sys.argv[2], sys.argv[3])
    elif what == "storefront":
        storefront(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown benchmark {what}")
