#!/usr/bin/env python3
"""Fires N concurrent wrong-password logins at a field-server and reports what happened.

Every attempt opens its own connection first; all of them then send `POST /v1/auth/login` at
the same instant (a barrier), with wrong passwords spread over known accounts and unknown
names, optionally from many loopback source addresses (127.x.y.z, so the server sees distinct
clients). Meanwhile a probe asks `GET /healthz` every 200 ms. With `--server-pid` the script
reads the server's memory from /proc: resident size before, the peak during the burst
(VmHWM, reset before the burst when the kernel allows it, and our own VmRSS samples), and
after the burst has settled.

Python 3 standard library only. Examples:

  # 1,000 attempts over admin and 20 unknown names, one address
  scripts/login-burst.py --url http://127.0.0.1:8080 -n 1000 --server-pid $PID

  # spread: 200 new accounts plus 200 unknown names, from 250 addresses (no throttling)
  scripts/login-burst.py --url http://127.0.0.1:8080 -n 1000 --server-pid $PID \\
      --create-users 200 --admin-password "$FIELDSYNC_ADMIN_PASSWORD" --unknown 200 --addresses 250

Exit status: 0 when /healthz answered 200 every time it was asked during the burst, 1 if not,
2 on bad arguments or when the server cannot be reached at all.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8080", help="server base URL (http only)")
    p.add_argument("-n", "--attempts", type=int, default=1000, help="concurrent login attempts")
    p.add_argument("--users", default="admin",
                   help="comma-separated existing accounts to try wrong passwords on")
    p.add_argument("--unknown", type=int, default=20, help="distinct unknown user names to try")
    p.add_argument("--create-users", type=int, default=0, metavar="K",
                   help="first create K technicians burst-0..K-1 (needs --admin-password)")
    p.add_argument("--admin-password", default=os.environ.get("FIELDSYNC_ADMIN_PASSWORD"),
                   help="for --create-users (default: $FIELDSYNC_ADMIN_PASSWORD)")
    p.add_argument("--addresses", type=int, default=1,
                   help="loopback source addresses to spread attempts over (Linux: 127.0.0.0/8)")
    p.add_argument("--server-pid", type=int, help="read the server's memory from /proc/PID/status")
    p.add_argument("--settle", type=float, default=10.0,
                   help="seconds to wait after the burst before the settled RSS")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, seconds")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    a = p.parse_args()
    if a.attempts < 1 or a.addresses < 1 or a.addresses > 60000 or a.unknown < 0:
        p.error("--attempts and --addresses (at most 60000) must be positive, --unknown >= 0")
    if a.create_users and not a.admin_password:
        p.error("--create-users needs --admin-password or FIELDSYNC_ADMIN_PASSWORD")
    u = urllib.parse.urlsplit(a.url)
    if u.scheme != "http" or not u.hostname:
        p.error("--url must be http://HOST:PORT")
    a.host, a.port = u.hostname, u.port or 80
    return a


def status_kib(pid, field):
    """A field of /proc/PID/status in KiB (VmRSS, VmHWM), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0, same user); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mib(kib):
    return None if kib is None else round(kib / 1024, 1)


def request(host, port, method, path, body=None, token=None, source=None, timeout=60.0):
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def create_users(a):
    status, data = request(a.host, a.port, "POST", "/v1/auth/login",
                           {"user": "admin", "password": a.admin_password})
    if status != 200:
        sys.exit(f"login-burst: admin login answered {status}: {data[:200]!r}")
    token = json.loads(data)["access_token"]
    names = []
    for i in range(a.create_users):
        name = f"burst-{i}"
        body = {"id": name, "role": "technician", "password": f"{name}-password-ok"}
        status, data = request(a.host, a.port, "POST", "/v1/admin/users", body, token)
        if status not in (201, 409):
            sys.exit(f"login-burst: creating {name} answered {status}: {data[:200]!r}")
        names.append(name)
    return names


def source_address(i, count):
    """The i-th of `count` loopback addresses: 127.0.0.1, 127.0.0.2, … 127.0.1.1, …"""
    if count == 1:
        return None
    j = i % count
    return f"127.{j // 62500}.{(j // 250) % 250}.{j % 250 + 1}"


class Attempt(threading.Thread):
    def __init__(self, a, barrier, user, source):
        super().__init__(daemon=True)
        self.a, self.barrier, self.user, self.source = a, barrier, user, source
        self.status, self.retry_after, self.error, self.seconds = None, None, None, None

    def run(self):
        body = json.dumps({"user": self.user, "password": "wrong-password-123"})
        try:
            conn = http.client.HTTPConnection(
                self.a.host, self.a.port, timeout=self.a.timeout,
                source_address=(self.source, 0) if self.source else None)
            conn.connect()
        except OSError as e:
            self.error = f"connect: {e.__class__.__name__}"
            self.barrier.abort()
            return
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            pass
        start = time.monotonic()
        try:
            conn.request("POST", "/v1/auth/login", body=body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            self.status = r.status
            self.retry_after = r.getheader("Retry-After")
        except (OSError, http.client.HTTPException) as e:
            self.error = e.__class__.__name__
        finally:
            self.seconds = time.monotonic() - start
            conn.close()


class Probe(threading.Thread):
    """Asks /healthz every 200 ms until stopped."""

    def __init__(self, a):
        super().__init__(daemon=True)
        self.a, self.stop, self.answers = a, threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                status, _ = request(self.a.host, self.a.port, "GET", "/healthz", timeout=10)
            except (OSError, http.client.HTTPException) as e:
                status = e.__class__.__name__
            self.answers.append((status, time.monotonic() - start))
            self.stop.wait(0.2)


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.stop, self.peak = pid, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS") or 0)
            self.stop.wait(0.02)


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3)


def main():
    a = parse_args()
    try:
        request(a.host, a.port, "GET", "/healthz", timeout=5)
    except OSError as e:
        sys.exit(f"login-burst: cannot reach {a.url}: {e}")
    known = [u for u in a.users.split(",") if u]
    if a.create_users:
        known += create_users(a)
    names = known + [f"ghost-{j}" for j in range(a.unknown)]
    if not names:
        sys.exit("login-burst: no names to try: give --users, --unknown or --create-users")

    pid = a.server_pid
    before = status_kib(pid, "VmRSS") if pid else None
    peak_reset = reset_peak(pid) if pid else False
    sampler = RssSampler(pid) if pid else None
    barrier = threading.Barrier(a.attempts + 1)
    attempts = [Attempt(a, barrier, names[i % len(names)], source_address(i, a.addresses))
                for i in range(a.attempts)]
    threading.stack_size(256 * 1024)
    for t in attempts:
        t.start()
    probe = Probe(a)
    if sampler:
        sampler.start()
    try:
        barrier.wait()  # every connection is open: go
    except threading.BrokenBarrierError:
        pass
    started = time.monotonic()
    probe.start()
    for t in attempts:
        t.join()
    elapsed = time.monotonic() - started
    probe.stop.set()
    probe.join()
    if sampler:
        sampler.stop.set()
        sampler.join()
    hwm = status_kib(pid, "VmHWM") if pid else None
    if pid and a.settle > 0:
        time.sleep(a.settle)
    settled = status_kib(pid, "VmRSS") if pid else None

    by_status = {}
    for t in attempts:
        key = str(t.status) if t.status is not None else (t.error or "no answer")
        by_status[key] = by_status.get(key, 0) + 1
    health_ok = sum(1 for s, _ in probe.answers if s == 200)
    report = {
        "attempts": a.attempts,
        "names": len(names),
        "known_accounts": len(known),
        "addresses": a.addresses,
        "by_status": dict(sorted(by_status.items())),
        "retry_after_seen": sorted({t.retry_after for t in attempts if t.retry_after}),
        "burst_seconds": round(elapsed, 2),
        "latency_p50_s": percentile([t.seconds for t in attempts if t.seconds], 0.5),
        "latency_p99_s": percentile([t.seconds for t in attempts if t.seconds], 0.99),
        "healthz": {
            "asked": len(probe.answers),
            "ok": health_ok,
            "slowest_s": round(max((d for _, d in probe.answers), default=0), 3),
        },
    }
    if pid:
        report["server_rss_mib"] = {
            "before": mib(before),
            "peak_vmhwm": mib(hwm),
            "peak_vmhwm_is_burst_only": peak_reset,
            "peak_sampled": mib(sampler.peak),
            f"after_{a.settle:g}s": mib(settled),
        }
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        for k, v in report.items():
            print(f"{k}: {v}")
    return 0 if health_ok == len(probe.answers) else 1


if __name__ == "__main__":
    sys.exit(main())
