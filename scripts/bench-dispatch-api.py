#!/usr/bin/env python3
"""Dispatch through the real API: 200 technicians, 2,000 work orders over 10 regions and 10 skills,
intake (8 clients), then one POST /v1/dispatch/auto; also times the board, the KPIs and a clock pass.

Start a server with the admin password bench-password-123 and a policy with
[dispatch] auto_on_intake = false on a fresh database, then: scripts/bench-dispatch-api.py URL
Standard library only. (field-cli bench will take this over.)"""
import json, time, urllib.request, sys, concurrent.futures as cf
BASE = sys.argv[1]
def call(method, path, token=None, body=None):
    req = urllib.request.Request(BASE + path, method=method)
    req.add_header('content-type', 'application/json')
    if token: req.add_header('authorization', 'Bearer ' + token)
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(req, data) as r:
        return json.loads(r.read() or b'null')
tok = call('POST', '/v1/auth/login', body={'user': 'admin', 'password': 'bench-password-123'})['access_token']
R, S, T, J = 10, 10, 200, 2000
for r in range(R): call('PUT', f'/v1/admin/regions/r{r}', tok, {'name': f'R{r}'})
for s in range(S): call('PUT', f'/v1/admin/skills/s{s}', tok, {'name': f'S{s}'})
def user(i):
    call('POST', '/v1/admin/users', tok, {'id': f't{i}', 'role': 'technician', 'password': 'tech-password-1', 'regions': [f'r{i % R}'], 'skills': [f's{(i + k) % S}' for k in range(5)], 'capacity': 12})
with cf.ThreadPoolExecutor(8) as ex: list(ex.map(user, range(T)))
intake = {"customer": {"name": "Ada", "phone": "1", "address": "x", "tier": "standard"}, "product": {"model": "m", "serial": "s", "purchase_date": ""}, "problem": "p", "attachments": []}
def order(i):
    b = dict(intake, service_type='repair', priority=['normal', 'vip', 'urgent'][i % 3 if i % 10 == 0 else 0], required_skills=[f's{i % S}'], region=f'r{i % R}')
    call('POST', '/v1/workorders', tok, {'intake': b})
t = time.time()
with cf.ThreadPoolExecutor(8) as ex: list(ex.map(order, range(J)))
print(f'intake of {J} orders: {time.time() - t:.1f} s')
t = time.time()
rep = call('POST', '/v1/dispatch/auto', tok, {})
print(f"dispatch/auto: {time.time() - t:.2f} s; considered {rep['considered']}, assigned {rep['assigned']}, waiting {rep['waiting']}, escalated {rep['escalated']}")
t = time.time(); call('GET', '/v1/board', tok); print(f'board: {time.time() - t:.2f} s')
t = time.time(); call('GET', '/v1/kpi', tok); print(f'kpi: {time.time() - t:.2f} s')
t = time.time(); call('POST', '/v1/admin/clock/tick', tok); print(f'tick: {time.time() - t:.2f} s')
