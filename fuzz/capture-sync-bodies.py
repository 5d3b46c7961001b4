#!/usr/bin/env python3
"""Captures real sync bodies for the fuzz seeds: runs a real field-server and drives real
field-cli devices through the README's session (an office and a technician's phone: intake,
sync, offline work with parts and notes, a second sync), with a recording proxy between them.
Every `POST /v1/sync` request body goes to fuzz/seeds/sync_request/captured-NN and its response
to fuzz/seeds/sync_response/captured-NN.

Needs the release binaries (cargo build --release -p server -p field-cli). The seeds are
committed, so this runs only to refresh them:  python3 fuzz/capture-sync-bodies.py
"""
import http.client
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
BIN = os.path.join(ROOT, "target", "release")
PASSWORD = "capture-admin-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def save(self, request, response):
        with self.lock:
            self.count += 1
            name = f"captured-{self.count:02d}"
        for target, body in (("sync_request", request), ("sync_response", response)):
            with open(os.path.join(SEEDS, target, name), "wb") as f:
                f.write(body)


def proxy(upstream_port, recorder):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if self.path.startswith("/v1/sync") and self.command == "POST" and resp.status == 200:
                recorder.save(body, data)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def main():
    for target in ("sync_request", "sync_response"):
        os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    work = tempfile.mkdtemp(prefix="fieldsync-capture-")
    port = free_port()
    env = dict(os.environ, FIELDSYNC_ADMIN_PASSWORD=PASSWORD)
    server = subprocess.Popen(
        [os.path.join(BIN, "field-server"), "--bind", f"127.0.0.1:{port}",
         "--database-url", f"sqlite://{work}/db.sqlite", "--blob-dir", f"{work}/blobs"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    recorder = Recorder()
    httpd, proxy_port = proxy(port, recorder)
    url = f"http://127.0.0.1:{proxy_port}"

    def cli(device, *args):
        out = subprocess.run([os.path.join(BIN, "field-cli"), "--device", f"{work}/{device}", *args],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            sys.exit(f"field-cli {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout.strip()

    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        cli("office", "login", "--server", url, "--user", "admin", "--password", PASSWORD)
        cli("office", "region", "add", "north", "--name", "North")
        cli("office", "skill", "add", "washers")
        cli("office", "user", "add", "tech-a", "--role", "technician", "--password", "tech-a-password",
            "--regions", "north", "--skills", "washers")
        jobs = [cli("office", "order", "create", "--region", "north", "--skills", "washers",
                    "--customer", f"Customer {i}", "--phone", "+49 30 123", "--address", "Hauptstr. 1",
                    "--problem", "does not drain") for i in range(3)]
        cli("office", "sync")
        cli("phone", "login", "--server", url, "--user", "tech-a", "--password", "tech-a-password")
        cli("phone", "sync")
        job = jobs[0]
        cli("phone", "accept", job)
        cli("phone", "on-site", job)
        cli("phone", "diagnose", job, "pump blocked by a coin", "--solution", "clean the pump")
        cli("phone", "quote", job, "--item", "drain pump:49.90", "--item", "labour:35")
        cli("phone", "consent", job)
        cli("phone", "start", job)
        cli("phone", "part", "add", job, "--sku", "PUMP-7", "--qty", "1")
        cli("phone", "sync")
        cli("phone", "sync")
        cli("office", "sync")
    finally:
        httpd.shutdown()
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"captured {recorder.count} sync exchanges into fuzz/seeds/sync_request and sync_response")


if __name__ == "__main__":
    main()
