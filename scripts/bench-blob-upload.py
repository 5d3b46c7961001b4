#!/usr/bin/env python3
"""Peak server memory during 20 MB photo uploads, and what resuming costs.

Starts a fresh `field-server` (SQLite, `--blob-store file:` in a temporary directory, or the
store given with --blob-store and --database-url), then:
  1. one 20 MB PNG through `PUT /v1/blobs/{hash}`, then four at once (different photos),
     reading the server's VmHWM (peak RSS) from /proc before and after each step;
  2. a 20 MB photo through the resumable upload cut at 50 % (a PATCH that sends half its
     body and drops the connection), then resumed (HEAD for the offset, PATCH the rest),
     against one PUT of another photo of the same size: the time and the bytes each took.

Usage: scripts/bench-blob-upload.py [--bin target/debug/field-server] [--blob-store postgres
       --database-url postgres://…]
"""
import argparse, hashlib, http.client, json, os, random, socket, struct, subprocess, sys, tempfile
import threading, time, zlib

MIB = 1024 * 1024


def png_of_size(target: int, seed: int) -> bytes:
    """An RGB PNG of random pixels, stored uncompressed, of about `target` bytes."""
    side = int((target / 3) ** 0.5)
    rnd = random.Random(seed)
    raw = b"".join(b"\x00" + rnd.randbytes(side * 3) for _ in range(side))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")


def vm(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024  # MiB
    return -1


class RssPeak:
    """The highest VmRSS seen, sampling /proc every millisecond in a thread. VmHWM alone can
    miss a peak: mimalloc gives pages back with madvise, which does not update the kernel's
    high-water mark the way munmap does."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.running = pid, 0, True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            self.peak = max(self.peak, vm(self.pid, "VmRSS"))
            time.sleep(0.001)

    def take(self) -> int:
        """The peak since the last take, then starts over from the current RSS."""
        peak, self.peak = self.peak, vm(self.pid, "VmRSS")
        return peak

    def stop(self):
        self.running = False
        self.thread.join()


class Server:
    def __init__(self, args):
        self.dir = tempfile.mkdtemp(prefix="fieldsync-blobbench-")
        db = args.database_url or f"sqlite://{self.dir}/fs.db"
        cmd = [args.bin, "--bind", "127.0.0.1:0", "--database-url", db, "--blob-dir", f"{self.dir}/blobs"]
        if args.blob_store:
            cmd += ["--blob-store", args.blob_store]
        env = dict(os.environ, FIELDSYNC_ADMIN_PASSWORD="bench-admin-password", RUST_LOG="warn")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline()
        self.host, self.port = line.rsplit("/", 1)[1].strip().split(":")
        self.port = int(self.port)
        body = json.dumps({"user": "admin", "password": "bench-admin-password", "device_id": "bench"})
        status, data, _ = self.call("POST", "/v1/auth/login", body, {"content-type": "application/json"}, auth=False)
        assert status == 200, data
        self.token = json.loads(data)["access_token"]

    def call(self, method, path, body=None, headers=None, auth=True):
        c = http.client.HTTPConnection(self.host, self.port, timeout=300)
        h = dict(headers or {})
        if auth:
            h["authorization"] = f"Bearer {self.token}"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data, dict(r.getheaders())

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def put(s, photo):
    h = hashlib.sha256(photo).hexdigest()
    status, data, _ = s.call("PUT", f"/v1/blobs/{h}", photo)
    assert status == 201, (status, data)


def cut_patch(s, h, upload_id, body, sent):
    """Announces `body` whole, sends `sent` bytes of it, drops the connection."""
    sock = socket.create_connection((s.host, s.port))
    head = (f"PATCH /v1/blobs/{h}/uploads/{upload_id} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {s.token}\r\nUpload-Offset: 0\r\nContent-Length: {len(body)}\r\n\r\n")
    sock.sendall(head.encode() + body[:sent])
    sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/field-server")
    ap.add_argument("--blob-store")
    ap.add_argument("--database-url")
    args = ap.parse_args()
    photos = [png_of_size(20_000_000, seed) for seed in range(7)]
    print(f"photos: {len(photos)} PNGs of {len(photos[0]):,} bytes")
    s = Server(args)
    try:
        pid = s.proc.pid
        peak = RssPeak(pid)
        print(f"server {args.bin}, store {args.blob_store or 'file:'}: VmHWM at start {vm(pid, 'VmHWM')} MiB, "
              f"VmRSS {vm(pid, 'VmRSS')} MiB")
        peak.take()
        t = time.time(); put(s, photos[0]); one = time.time() - t
        print(f"one 20 MB PUT: {one:.2f} s, peak VmRSS {peak.take()} MiB, VmHWM {vm(pid, 'VmHWM')} MiB, "
              f"VmRSS after {vm(pid, 'VmRSS')} MiB")
        threads = [threading.Thread(target=put, args=(s, p)) for p in photos[1:5]]
        t = time.time()
        for th in threads: th.start()
        for th in threads: th.join()
        print(f"four 20 MB PUTs at once: {time.time() - t:.2f} s, peak VmRSS {peak.take()} MiB, "
              f"VmHWM {vm(pid, 'VmHWM')} MiB")

        photo = photos[5]
        h = hashlib.sha256(photo).hexdigest()
        t = time.time()
        status, data, _ = s.call("POST", f"/v1/blobs/{h}/uploads", None, {"upload-length": str(len(photo))})
        assert status == 201, data
        upload_id = json.loads(data)["id"]
        cut_patch(s, h, upload_id, photo, len(photo) // 2)
        while True:
            status, _, headers = s.call("HEAD", f"/v1/blobs/{h}/uploads/{upload_id}")
            offset = int({k.lower(): v for k, v in headers.items()}["upload-offset"])
            if offset == len(photo) // 2:
                break
            time.sleep(0.05)
        t_half = time.time() - t
        t = time.time()
        status, data, _ = s.call("PATCH", f"/v1/blobs/{h}/uploads/{upload_id}", photo[offset:],
                                 {"upload-offset": str(offset)})
        assert status == 201, (status, data)
        t_rest = time.time() - t
        t = time.time(); put(s, photos[6]); t_put = time.time() - t
        print(f"resumable: first half then cut {t_half:.2f} s; resumed from byte {offset:,}, rest {t_rest:.2f} s "
              f"(total {t_half + t_rest:.2f} s, 3 extra requests, 0 bytes sent twice) vs one PUT of the same size {t_put:.2f} s")
        print(f"resumable and PUT: peak VmRSS {peak.take()} MiB; VmHWM at the end {vm(pid, 'VmHWM')} MiB")
        peak.stop()
    finally:
        s.stop()


if __name__ == "__main__":
    sys.exit(main())
