#!/usr/bin/env python3
"""Memory of idle live-push streams: opens N `GET /v1/events` streams on one release
field-server and reports its RSS per stream.

    cargo build --release -p server
    python3 scripts/bench-event-streams.py --streams 10000 [--bin target/release/field-server]
        [--database-url postgres://postgres@127.0.0.1:5432/test]

Starts its own server on a fresh SQLite file (or a fresh database on the PostgreSQL server
given), makes `--users` technicians, logs each in with a device id, opens the streams (each
waits for the stream's preface and first `sync`), lets them sit idle, and reads the server's
VmRSS from /proc before and after. Then it assigns one job to one technician and counts how
many of that technician's streams were told within 2 s (a fan-out check, not a timing
target). Prints one JSON line. Raises its own open-file limit to the hard limit; the server
inherits it. Needs only the Python standard library.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ADMIN_PASSWORD = "bench-admin-password"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read()
        return json.loads(text) if text else None


def login(base, user, password, device=None):
    return call(base, "POST", "/v1/auth/login", body={"user": user, "password": password, "device_id": device})["access_token"]


def fresh_postgres(url):
    """A new database on the server of `url` (needs psql)."""
    name = f"fieldsync_bench_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True)
    return url.rsplit("/", 1)[0] + "/" + name, name


def start_server(binary, database_url, workdir):
    env = dict(os.environ, FIELDSYNC_ADMIN_PASSWORD=ADMIN_PASSWORD, RUST_LOG="warn")
    p = subprocess.Popen(
        [binary, "--bind", "127.0.0.1:0", "--database-url", database_url, "--blob-dir", os.path.join(workdir, "blobs")],
        stdout=subprocess.PIPE, env=env, text=True)
    for line in p.stdout:
        if line.startswith("field-server listening on "):
            return p, line.split()[-1].strip()
    raise RuntimeError("the server did not start")


async def open_stream(host, port, token, ready):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET /v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                  "Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(head.decode(errors="replace"))
    buf = b""
    while b"event: sync" not in buf:
        buf += await reader.read(4096)
    ready.append(1)
    return reader, writer


async def told_within(reader, seconds):
    try:
        buf = b""
        deadline = time.monotonic() + seconds
        while b"event: sync" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            chunk = await asyncio.wait_for(reader.read(4096), left)
            if not chunk:
                return False
            buf += chunk
        return True
    except asyncio.TimeoutError:
        return False


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=10000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--bin", default="target/release/field-server")
    ap.add_argument("--database-url", default=None, help="a PostgreSQL URL; default: a fresh SQLite file")
    ap.add_argument("--idle", type=float, default=5.0, help="seconds the streams sit idle before the measurement")
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.streams + 200:
        sys.exit(f"bench-event-streams: the open-file limit is {hard}; {a.streams} streams need more (ulimit -Hn)")

    workdir = tempfile.mkdtemp(prefix="fieldsync-streams-")
    pg_name = None
    if a.database_url:
        database_url, pg_name = fresh_postgres(a.database_url)
    else:
        database_url = f"sqlite://{workdir}/bench.db"
    server, base = start_server(a.bin, database_url, workdir)
    try:
        host, port = base.removeprefix("http://").split(":")
        admin = login(base, "admin", ADMIN_PASSWORD)
        call(base, "PUT", "/v1/admin/regions/north", admin, {"name": "North"})
        call(base, "PUT", "/v1/admin/skills/washers", admin, {"name": "Washers"})
        tokens = []
        for i in range(a.users):
            user = f"tech-{i:03}"
            call(base, "POST", "/v1/admin/users", admin,
                 {"id": user, "role": "technician", "password": f"{user}-password", "regions": ["north"],
                  "skills": ["washers"], "capacity": 5})
            tokens.append(login(base, user, f"{user}-password", f"bench-{i:03}"))
        # Warm up (one stream per user, closed), so one-time allocations are not counted.
        warm = []
        for _, w in await asyncio.gather(*(open_stream(host, port, t, warm) for t in tokens)):
            w.close()
        await asyncio.sleep(1)
        before = rss_kib(server.pid)

        ready = []
        conns = []
        started = time.monotonic()
        batch = 500
        for start in range(0, a.streams, batch):
            n = min(batch, a.streams - start)
            conns += await asyncio.gather(
                *(open_stream(host, port, tokens[(start + k) % a.users], ready) for k in range(n)))
        opened_s = time.monotonic() - started
        await asyncio.sleep(a.idle)
        after = rss_kib(server.pid)

        # Fan-out check: a job for tech-000 reaches every one of its streams.
        mine = [c for k, c in enumerate(conns) if k % a.users == 0]
        intake = {"customer": {"name": "Ada", "phone": "+49 30 1", "address": "Hauptstr. 1", "tier": "standard"},
                  "product": {"model": "WM-800", "serial": "SN-1", "purchase_date": ""},
                  "service_type": "repair", "problem": "does not drain", "priority": "normal",
                  "required_skills": ["washers"], "region": "north", "attachments": []}
        view = call(base, "POST", "/v1/workorders", admin, {"id": "WO-BENCH-1", "intake": intake})
        if view.get("assignee") != "tech-000":  # dispatch on intake already chose it otherwise
            call(base, "POST", "/v1/workorders/WO-BENCH-1/assign", admin,
                 {"technician": "tech-000", "reason": "bench"})
        told = await asyncio.gather(*(told_within(r, 2.0) for r, _ in mine))

        per_stream = (after - before) * 1024 / max(1, len(ready))
        print(json.dumps({
            "streams": len(ready),
            "database": "postgres" if pg_name else "sqlite",
            "rss_before_kib": before,
            "rss_after_kib": after,
            "rss_per_stream_bytes": round(per_stream),
            "open_seconds": round(opened_s, 2),
            "fanout_streams": len(mine),
            "fanout_told_within_2s": sum(told),
        }))
        for _, w in conns:
            w.close()
    finally:
        server.terminate()
        server.wait()
        if pg_name:
            subprocess.run(["psql", a.database_url, "-qc", f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"])


if __name__ == "__main__":
    asyncio.run(main())
