#!/usr/bin/env python3
"""How fast the console's board is served: a dispatcher with 10,000 open work orders and 2,000
technicians.

Starts its own release field-server on a fresh SQLite file (or, with --postgres URL, on a fresh
database created beside URL's and dropped afterwards), policy `auto_on_intake = false`; creates
--techs technicians (capacity 5, in the dispatcher's --regions regions) and --orders work orders
through the API, assigns most of them with one POST /v1/dispatch/auto, logs a dispatcher in to
the console (cookie session) and then times, --repeat times each:

  board_ms        GET /v1/console/board (the page's first request), and its size
  technicians_ms  GET /v1/technicians
  cards_ms        GET /v1/console/cards?ids=<one id> (what one live update fetches)
  event_bytes     the SSE event a change produces on the dispatcher's stream (one intake)

Prints one JSON line (p50, p95, max in ms; bytes). Standard library only.

  cargo build --release -p server -p field-cli
  scripts/bench-console-board.py --server-bin target/release/field-server
"""
import argparse
import concurrent.futures as cf
import http.client
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse

PASSWORD = 'bench-password-123'


class Api:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.token = None
        self.cookie = None

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h['content-type'] = 'application/json'
        if self.cookie:
            h['cookie'] = self.cookie
        elif self.token:
            h['authorization'] = f'Bearer {self.token}'
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        if r.status >= 300:
            raise SystemExit(f'{method} {path}: {r.status} {raw[:300]!r}')
        return r, raw

    def call(self, method, path, body=None, headers=None):
        _, raw = self.request(method, path, body, headers)
        return json.loads(raw) if raw else None


def pct(xs, p):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p / 100))], 1) if xs else None


def timed(api, path, repeat):
    times, size = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        _, raw = api.request('GET', path)
        times.append((time.perf_counter() - t) * 1000)
        size = len(raw)
    return {'p50': pct(times, 50), 'p95': pct(times, 95), 'max': round(max(times), 1),
            'bytes': size}


def intake(region, i):
    return {'id': f'WO-B{i:06d}', 'intake': {
        'customer': {'name': f'Customer {i}', 'phone': '+49 30 1', 'address': f'Street {i}',
                     'tier': 'vip' if i % 17 == 0 else 'standard'},
        'product': {'model': 'WM-800', 'serial': f'SN-{i}', 'purchase_date': ''},
        'service_type': 'repair', 'problem': 'does not drain',
        'priority': 'urgent' if i % 23 == 0 else 'normal',
        'required_skills': [f's{i % 5}'], 'region': region, 'attachments': []}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--server-bin', default='target/release/field-server')
    ap.add_argument('--orders', type=int, default=10000)
    ap.add_argument('--techs', type=int, default=2000)
    ap.add_argument('--regions', type=int, default=4, help='regions the dispatcher dispatches')
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--concurrency', type=int, default=4)
    ap.add_argument('--postgres', metavar='URL')
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix='fieldsync-board-bench-')
    policy = os.path.join(work, 'policy.toml')
    with open(policy, 'w') as f:
        f.write('[dispatch]\nauto_on_intake = false\n')
    database_url, dropdb = f'sqlite://{work}/fieldsync.db', None
    if args.postgres:
        name = f'fieldsync_board_bench_{os.getpid()}'
        subprocess.run(['createdb', '--maintenance-db', args.postgres, name], check=True)
        database_url = f"{args.postgres.rsplit('/', 1)[0]}/{name}"
        dropdb = ['dropdb', '--maintenance-db', args.postgres, '--if-exists', name]
    env = dict(os.environ, FIELDSYNC_ADMIN_PASSWORD=PASSWORD)
    server = subprocess.Popen(
        [os.path.abspath(args.server_bin), '--bind', '127.0.0.1:0', '--database-url', database_url,
         '--blob-dir', f'{work}/blobs', '--policy', policy],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(work, 'server.log'), 'w'),
        text=True)
    try:
        m = re.search(r'listening on (\S+)', server.stdout.readline())
        if not m:
            raise SystemExit(f'the server did not start; see {work}/server.log')
        run(Api(m.group(1)), args)
    finally:
        server.terminate()
        server.wait()
        if dropdb:
            subprocess.run(dropdb, check=False)


def run(api, args):
    api.token = api.call('POST', '/v1/auth/login', {'user': 'admin', 'password': PASSWORD})['access_token']
    regions = [f'r{i}' for i in range(args.regions)]
    for r in regions:
        api.call('PUT', f'/v1/admin/regions/{r}', {'name': r.upper()})
    for s in range(5):
        api.call('PUT', f'/v1/admin/skills/s{s}', {'name': f'S{s}'})
    t0 = time.time()

    def tech(i):
        api.call('POST', '/v1/admin/users', {
            'id': f'tech-{i:05d}', 'role': 'technician', 'password': PASSWORD,
            'regions': [regions[i % len(regions)]], 'skills': [f's{i % 5}', f's{(i + 1) % 5}'],
            'capacity': 5})

    def order(i):
        api.call('POST', '/v1/workorders', intake(regions[i % len(regions)], i))

    with cf.ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(tech, range(args.techs)))
        list(pool.map(order, range(args.orders)))
    api.call('POST', '/v1/admin/users', {'id': 'disp', 'role': 'dispatcher', 'password': PASSWORD,
                                          'regions': regions, 'skills': [], 'capacity': 0})
    report = api.call('POST', '/v1/dispatch/auto', {})
    setup_s = time.time() - t0

    r, raw = api.request('POST', '/console/session', {'user': 'disp', 'password': PASSWORD},
                         {'x-requested-with': 'fieldsync'})
    cookies = [c.split(';', 1)[0] for c in r.headers.get_all('set-cookie')]
    api.cookie = '; '.join(cookies)
    board = json.loads(api.request('GET', '/v1/console/board')[1])
    open_total = sum(sum(c.values()) for c in board['counts'].values())
    some_id = board['unassigned'][0]['id'] if board['unassigned'] else 'WO-B000001'
    out = {
        'orders': args.orders, 'techs': args.techs, 'regions': args.regions,
        'setup_s': round(setup_s, 1), 'assigned': report['assigned'],
        'open_on_board': open_total,
        'board_ms': timed(api, '/v1/console/board', args.repeat),
        'technicians_ms': timed(api, '/v1/technicians', args.repeat),
        'cards_ms': timed(api, f'/v1/console/cards?ids={some_id}', args.repeat),
        'event_bytes': event_bytes(api, regions[0]),
    }
    print(json.dumps(out))


def event_bytes(api, region):
    """The bytes of the event one intake produces on the dispatcher's stream."""
    conn = http.client.HTTPConnection(api.host, api.port, timeout=30)
    conn.request('GET', '/v1/events', headers={'cookie': api.cookie, 'accept': 'text/event-stream'})
    r = conn.getresponse()
    buf = b''
    while b'resume' not in buf:
        buf += r.read1(4096)
    buf = b''
    # The intake goes through the bearer token, like another user's change.
    cookie, api.cookie = api.cookie, None
    api.call('POST', '/v1/workorders', intake(region, 999999))
    api.cookie = cookie
    while b'work_orders' not in buf or not buf.endswith(b'\n\n'):
        buf += r.read1(4096)
    conn.close()
    return len(buf)


if __name__ == '__main__':
    main()
