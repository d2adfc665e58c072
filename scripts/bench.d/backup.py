"""scripts/bench backup: backup create, verify and restore of a generated
database of SIZE_MB, against the disk's own copy rate of the same bytes
measured in the same run.

Usage (from scripts/bench): backup.py BIN WORK PG_URL SIZE_MB
PG_URL may be empty (SQLite only). The database is filled through the
public interface (`storekeep import products`, batches of BATCH=5,000 rows with
~2 KB descriptions of random words, so it compresses like text) until it
holds SIZE_MB.
"""
import json, os, random, shutil, subprocess, sys, time

bin, work, pg_url, size_mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
target = size_mb * 1024 * 1024
keys = subprocess.run([bin, "keys", "generate"], capture_output=True, text=True, check=True).stdout
words = [
    "".join(random.Random(i).choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3 + i % 8))
    for i in range(5000)
]
rng = random.Random(7)
BATCH = int(os.environ.get("BATCH", "5000"))


def env_for(data, db_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKEEP_")}
    env["STOREKEEP_DATA_DIR"] = data
    if db_url:
        env["STOREKEEP_DATABASE_URL"] = db_url
        for line in keys.splitlines():
            if line.startswith("STOREKEEP_") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def run(env, *args):
    r = subprocess.run([bin, *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"storekeep {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def timed(env, *args):
    t0 = time.perf_counter()
    r = run(env, *args)
    return time.perf_counter() - t0, r


def psql(db_url, sql):
    return subprocess.run(["psql", db_url, "-Atc", sql], capture_output=True, text=True, check=True).stdout.strip()


def db_bytes(kind, data, db_url):
    if kind == "sqlite":
        path = os.path.join(data, "storekeep.db")
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    return int(psql(db_url, "SELECT pg_database_size(current_database())"))


def fill(kind, data, db_url, env):
    run(env, "plan", "create", "bulk", "--max-products", "100000000")
    run(env, "tenant", "create", "bench", "--name", "Bench", "--plan", "bulk")
    n, t0 = 0, time.perf_counter()
    while db_bytes(kind, data, db_url) < target:
        path = os.path.join(work, "batch.csv")
        with open(path, "w") as f:
            f.write("handle,title,description,status,tags,sku,options,price,inventory\n")
            for _ in range(BATCH):
                desc = " ".join(rng.choices(words, k=300))
                f.write(f"item-{n:08d},Refurbished widget {n},{desc},active,refurbished|widget,"
                        f"SKU-{n:08d},Condition=Grade {'ABC'[n % 3]},{1000 + n % 5000},{n % 7}\n")
                n += 1
        run(env, "import", "products", "--tenant", "bench", path)
        os.remove(path)
    if kind == "sqlite":
        # Fold the WAL into the file, so the copy baseline copies it all.
        import sqlite3
        c = sqlite3.connect(os.path.join(data, "storekeep.db"))
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
    else:
        psql(db_url, "CHECKPOINT")
    return n, time.perf_counter() - t0


def tree_bytes(src):
    if os.path.isfile(src):
        return os.path.getsize(src)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(src) for f in fs
               if os.path.isfile(os.path.join(d, f)))


def copy_rate(src):
    """MB/s of copying src (a file or a folder) to the same disk, fsync included."""
    dst = os.path.join(work, "copy")
    t0 = time.perf_counter()
    if os.path.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("postmaster.pid"))
    else:
        shutil.copyfile(src, dst)
    subprocess.run(["sync", "-f", work], check=True)
    took = time.perf_counter() - t0
    copied = tree_bytes(dst)
    shutil.rmtree(dst) if os.path.isdir(dst) else os.remove(dst)
    return copied / 1e6 / took, copied


def measure(kind, db_url, copy_src):
    data = os.path.join(work, kind)
    os.makedirs(data, exist_ok=True)
    env = env_for(data, db_url)
    rows, filled = fill(kind, data, db_url, env)
    size = db_bytes(kind, data, db_url)
    mb = size / 1e6
    src = copy_src or os.path.join(data, "storekeep.db")
    copy, copied = copy_rate(src)
    created, r = timed(env, "backup", "create", "--json")
    manifest = json.loads(r.stdout)
    archive = manifest["archive"]["bytes"]
    verified, _ = timed(env, "backup", "verify", "latest")
    restored, _ = timed(env, "backup", "restore", "latest", "--force")
    print(f"{kind}: {rows:,} products ({filled:.0f} s to import), database {mb:,.0f} MB, archive {archive / 1e6:,.0f} MB")
    print(f"  copy + fsync of the database's files ({copied / 1e6:,.0f} MB, the baseline): {copy:7.1f} MB/s")
    for what, secs in (("backup create", created), ("backup verify", verified), ("backup restore", restored)):
        print(f"  {what:<14}: {secs:6.1f} s  {mb / secs:7.1f} MB/s of database  {mb / secs / copy:.2f}x the copy rate")
    print(f"  recovery time (restore, incl. its verification): {restored:.0f} s for {mb:,.0f} MB")


random.seed(7)
print(f"storekeep backup, {size_mb} MB generated database, release build; "
      f"page cache not dropped (the copy and the commands read the same cached files)")
measure("sqlite", "", None)
if pg_url:
    pg_data = os.environ.get("PG_DATA_DIR", "")
    measure("postgres", pg_url, pg_data or None)
