"""scripts/bench backup: backup create, verify and restore of a generated
database of SIZE_MB, against the disk's own copy rate of the same bytes
measured in the same run.

Usage (from scripts/bench): backup.py BIN WORK PG_URL SIZE_MB
PG_URL may be empty (SQLite only). With S3_ENDPOINT (an S3-compatible
server with the bucket `storekeep-bench`, started by scripts/bench), each
database is also backed up to the bucket, and the upload's share of that
(as storekeep times it, in its log line) is set beside a plain upload of a
file of the archive's size to the same bucket with boto3 (its defaults:
8 MiB parts, 10 threads): the ceiling the server allows. The database is filled through the
public interface (`storekeep import products`, batches of BATCH=5,000 rows with
~2 KB descriptions of random words, so it compresses like text) until it
holds SIZE_MB.
"""
import json, os, random, re, shutil, subprocess, sys, time

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
    if s3_endpoint:
        s3_env = dict(env, STOREKEEP_BACKUP_S3_BUCKET=BUCKET, STOREKEEP_BACKUP_S3_ENDPOINT=s3_endpoint,
                      STOREKEEP_BACKUP_S3_PREFIX=kind, STOREKEEP_BACKUP_S3_ACCESS_KEY_ID="bench",
                      STOREKEEP_BACKUP_S3_SECRET_ACCESS_KEY="bench-secret")
        s3_env["RUST_LOG"] = "storekeep::backup::destination=info"
        to_s3, r = timed(s3_env, "backup", "create", "--json")
        sent = json.loads(r.stdout)["archive"]["bytes"]
        # The archive's upload as storekeep itself timed it (its log line).
        archive = json.loads(r.stdout)["archive"]["file"]
        said = re.search(rf"uploaded {re.escape(archive)} to .*?: (\d+) bytes in ([0-9.]+) s", r.stderr)
        if not said:
            sys.exit(f"no upload line from backup create: {r.stderr}")
        upload = float(said.group(2))
        plain = plain_upload(sent, f"{kind}-plain")
        paired = plain_upload(sent, f"{kind}-plain-2", concurrency=2)
        print(f"  backup create to S3 (moto): {to_s3:6.1f} s  {mb / to_s3:7.1f} MB/s of database; "
              f"its upload ({sent / 1e6:,.0f} MB archive, as timed by storekeep): "
              f"{upload:5.1f} s  {sent / 1e6 / upload:7.1f} MB/s")
        print(f"  plain boto3 upload of {sent / 1e6:,.0f} MB to the same bucket (the ceiling): "
              f"{sent / 1e6 / plain:7.1f} MB/s  -> storekeep's upload at {plain / upload:.2f}x the ceiling")
        print(f"  the same with 2 parts in flight (storekeep's own setting): "
              f"{sent / 1e6 / paired:7.1f} MB/s  -> storekeep at {paired / upload:.2f}x")


BUCKET = "storekeep-bench"
s3_endpoint = os.environ.get("S3_ENDPOINT", "")


def plain_upload(size, key, concurrency=10):
    """Seconds to upload a file of `size` random bytes with boto3 (8 MiB
    parts, its default, and `concurrency` of them at once: 10 by default)."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    path = os.path.join(work, "plain-upload")
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench-secret")
    t0 = time.perf_counter()
    client.upload_file(path, BUCKET, key, Config=TransferConfig(multipart_chunksize=8 << 20,
                                                                max_concurrency=concurrency))
    took = time.perf_counter() - t0
    os.remove(path)
    return took


random.seed(7)
print(f"storekeep backup, {size_mb} MB generated database, release build; "
      f"page cache not dropped (the copy and the commands read the same cached files)")
print("load before:", os.getloadavg())
measure("sqlite", "", None)
if pg_url:
    pg_data = os.environ.get("PG_DATA_DIR", "")
    measure("postgres", pg_url, pg_data or None)
print("load after:", os.getloadavg())
