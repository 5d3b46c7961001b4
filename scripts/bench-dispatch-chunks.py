#!/usr/bin/env python3
"""A 10,000-order POST /v1/dispatch/auto on SQLite (or PostgreSQL) while technicians keep syncing.

Starts its own release field-server on a fresh SQLite file, or with --postgres URL on a fresh
database created beside URL's (psql's createdb/dropdb; dropped afterwards) (policy: [dispatch] auto_on_intake =
false), creates --techs technicians (10 regions, 5 of 10 skills each, capacity --capacity) and
--jobs work orders, then (optionally) starts `field-cli bench --steady` with --devices devices
and, once they sync, runs one POST /v1/dispatch/auto while --writers threads keep timing
writes (an intake each, in a region nobody serves: every one takes the write lock).

Prints one JSON line:
  dispatch_s               the POST's wall time, and its report's counts;
  longest_chunk_ms         the server's own figure (log line "auto-dispatch recorded"), or null
                           for a server that records the batch in one transaction (then the
                           hold is about dispatch_s);
  chunks, chunk_seconds_le the fieldsync_dispatch_chunk_seconds histogram (count, buckets);
  writes_ms                p50/p99/max of the timed writes while the dispatch ran;
  steady                   from field-cli's JSON line: sync latency over its whole --duration
                           (the dispatch starts as the steady phase does and takes much of it).

  cargo build --release -p server -p field-cli
  cp target/release/field-server target/release/field-cli /tmp/fs/
  scripts/bench-dispatch-chunks.py --server-bin /tmp/fs/field-server --cli-bin /tmp/fs/field-cli

Standard library only.
"""
import argparse
import concurrent.futures as cf
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

PASSWORD = 'bench-password-123'


class Api:
    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None, token=None, tries=20):
        """JSON in and out; 503/429 (the password-hash limiter) are retried after Retry-After."""
        for _ in range(tries):
            req = urllib.request.Request(self.base + path, method=method)
            req.add_header('content-type', 'application/json')
            tok = token or self.token
            if tok:
                req.add_header('authorization', 'Bearer ' + tok)
            data = json.dumps(body).encode() if body is not None else None
            try:
                with urllib.request.urlopen(req, data, timeout=600) as r:
                    raw = r.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as e:
                if e.code in (429, 503):
                    time.sleep(float(e.headers.get('retry-after') or 1))
                    continue
                raise SystemExit(f'{method} {path}: {e.code} {e.read()[:300]!r}')
        raise SystemExit(f'{method} {path}: still busy after {tries} tries')

    def text(self, path):
        with urllib.request.urlopen(self.base + path, timeout=60) as r:
            return r.read().decode()


def histogram(metrics_text, name):
    """{le: cumulative count} of a Prometheus histogram without labels."""
    out = {}
    for m in re.finditer(r'^' + name + r'_bucket\{le="([^"]+)"\} (\S+)$', metrics_text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))], 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--server-bin', default='target/release/field-server')
    ap.add_argument('--cli-bin', default='target/release/field-cli')
    ap.add_argument('--jobs', type=int, default=10000)
    ap.add_argument('--techs', type=int, default=200)
    ap.add_argument('--capacity', type=int, default=50)
    ap.add_argument('--writers', type=int, default=4,
                    help='threads timing one write after another during the dispatch')
    ap.add_argument('--devices', type=int, default=100,
                    help='field-cli bench --steady devices syncing meanwhile (0: none)')
    ap.add_argument('--interval', default='5s', help='time between one device\'s syncs')
    ap.add_argument('--steady-duration', default='30s',
                    help='the steady phase; the dispatch starts as it does')
    ap.add_argument('--postgres', metavar='URL',
                    help='run on PostgreSQL: a fresh database on the server of URL '
                         '(e.g. postgres://postgres@127.0.0.1:5432/test)')
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix='fieldsync-dispatch-bench-')
    policy = os.path.join(work, 'policy.toml')
    with open(policy, 'w') as f:
        f.write('[dispatch]\nauto_on_intake = false\n')
    log_path = os.environ.get('BENCH_SERVER_LOG') or os.path.join(work, 'server.log')
    env = dict(os.environ, FIELDSYNC_ADMIN_PASSWORD=PASSWORD)
    env.setdefault('RUST_LOG', 'info')
    database_url, dropdb = f'sqlite://{work}/fieldsync.db', None
    if args.postgres:
        base = args.postgres.rsplit('/', 1)[0]
        name = f'fieldsync_dispatch_bench_{os.getpid()}'
        subprocess.run(['createdb', '--maintenance-db', args.postgres, name], check=True)
        database_url = f'{base}/{name}'
        dropdb = ['dropdb', '--maintenance-db', args.postgres, '--if-exists', name]
    server = subprocess.Popen(
        [os.path.abspath(args.server_bin), '--bind', '127.0.0.1:0',
         '--database-url', database_url, '--blob-dir', f'{work}/blobs',
         '--policy', policy, '--log-format', 'json'],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=open(log_path, 'w'), text=True)
    try:
        line = server.stdout.readline()
        m = re.search(r'listening on (\S+)', line)
        if not m:
            raise SystemExit(f'the server did not start: {line!r}; see {log_path}')
        api = Api(m.group(1))
        run(api, args, server.pid, log_path)
    finally:
        server.terminate()
        server.wait()
        if dropdb:
            subprocess.run(dropdb, check=False)


def run(api, args, server_pid, log_path):
    api.token = api.call('POST', '/v1/auth/login', {'user': 'admin', 'password': PASSWORD})['access_token']
    R, S = 10, 10
    for r in list(range(R)) + ['x']:
        api.call('PUT', f'/v1/admin/regions/r{r}', {'name': f'R{r}'})
    for s in range(S):
        api.call('PUT', f'/v1/admin/skills/s{s}', {'name': f'S{s}'})

    def user(i):
        api.call('POST', '/v1/admin/users', {
            'id': f't{i}', 'role': 'technician', 'password': 'tech-password-1',
            'regions': [f'r{i % R}'], 'skills': [f's{(i // R + k) % S}' for k in range(5)],
            'capacity': args.capacity})
    t = time.time()
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(user, range(args.techs)))
    intake = {'customer': {'name': 'Ada', 'phone': '1', 'address': 'x', 'tier': 'standard'},
              'product': {'model': 'm', 'serial': 's', 'purchase_date': ''},
              'problem': 'p', 'attachments': [], 'service_type': 'repair'}

    def order(i, region=None):
        b = dict(intake, priority=['normal', 'vip', 'urgent'][i % 3 if i % 10 == 0 else 0],
                 required_skills=[f's{(i // R) % S}'], region=region or f'r{i % R}')
        api.call('POST', '/v1/workorders', {'intake': b})
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(order, range(args.jobs)))
    setup_s = time.time() - t

    steady = None
    if args.devices:
        steady = subprocess.Popen(
            [os.path.abspath(args.cli_bin), 'bench', '--server', api.base, '--steady', '--json',
             '--devices', str(args.devices), '--jobs', '3', '--interval', args.interval,
             '--duration', args.steady_duration, '--idle-jobs', '0',
             '--admin-password', PASSWORD, '--server-pid', str(server_pid)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, FIELDSYNC_DEVICE=tempfile.mkdtemp(prefix='fieldsync-bench-dev-')))
        # The steady phase has begun once every device made its first sync and more follow.
        deadline = time.time() + 600
        while time.time() < deadline:
            syncs = histogram(api.text('/metrics'), 'fieldsync_sync_duration_seconds').get('+Inf', 0)
            if syncs > 2 * args.devices:
                break
            if steady.poll() is not None:
                raise SystemExit(f'field-cli bench stopped: {steady.stderr.read()[-500:]}')
            time.sleep(0.5)

    stop = threading.Event()
    writes = []

    def writer(w):
        i = 0
        while not stop.is_set():
            t0 = time.time()
            order(1_000_000 + w * 100_000 + i, region='rx')
            writes.append((time.time() - t0) * 1000)
            i += 1
            time.sleep(0.05)
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(args.writers)]
    for th in threads:
        th.start()
    t = time.time()
    rep = api.call('POST', '/v1/dispatch/auto', {})
    dispatch_s = time.time() - t
    stop.set()
    for th in threads:
        th.join()
    after = api.text('/metrics')

    chunks = histogram(after, 'fieldsync_dispatch_chunk_seconds')
    longest = None
    with open(log_path) as f:
        for line in f:
            if 'auto-dispatch recorded' in line:
                longest = json.loads(line).get('longest_chunk_ms')
    out = {
        'jobs': args.jobs, 'techs': args.techs, 'capacity': args.capacity,
        'setup_s': round(setup_s, 1),
        'dispatch_s': round(dispatch_s, 2),
        'considered': rep['considered'], 'assigned': rep['assigned'],
        'waiting': rep['waiting'], 'escalated': rep['escalated'],
        'longest_chunk_ms': round(longest, 1) if isinstance(longest, (int, float)) else None,
        'chunks': chunks.get('+Inf'),
        'chunk_seconds_le': {le: c for le, c in chunks.items() if c} or None,
        'writes': len(writes),
        'writes_ms': {'p50': pct(writes, 50), 'p99': pct(writes, 99),
                      'max': round(max(writes), 1) if writes else None},
    }
    if steady:
        so, se = steady.communicate()
        try:
            s = json.loads(so.strip().splitlines()[-1])
            out['steady'] = {k: s.get(k) for k in ('devices', 'syncs', 'errors', 'sync_latency_ms',
                                                   'server_holds_every_change')}
        except (ValueError, IndexError):
            out['steady'] = {'error': se[-300:]}
        # Where slow syncs spent their time: per step, how many took over 0.25 s and 1 s.
        text = api.text('/metrics')
        slow = {}
        for m in re.finditer(r'^fieldsync_sync_step_seconds_bucket\{([^}]*)\} (\S+)$', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            slow.setdefault(labels.get('step'), {})[labels.get('le')] = float(m.group(2))
        out['sync_steps_over'] = {
            step: {'0.25s': b.get('+Inf', 0) - b.get('0.25', 0), '1s': b.get('+Inf', 0) - b.get('1', 0)}
            for step, b in sorted(slow.items()) if b.get('+Inf', 0) - b.get('0.25', 0) > 0}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
