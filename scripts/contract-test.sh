#!/usr/bin/env bash
# Contract test: requests generated from GET /openapi.json by schemathesis against a real
# field-server (debug build) on a fresh SQLite database and a random free port. It fails on any
# finding of these checks: not_a_server_error, status_code_conformance,
# content_type_conformance, response_schema_conformance, negative_data_rejection,
# positive_data_acceptance, unsupported_method (405 with `Allow` on a known path).
#
#   scripts/contract-test.sh [EXTRA SCHEMATHESIS ARGS...]
#
# Environment:
#   CONTRACT_MAX_EXAMPLES   test cases per operation and phase (default 25)
#   CONTRACT_SEED           the generator's seed (default 1: every run sends the same requests)
#   CONTRACT_VENV           where schemathesis is installed (default ~/.cache/fieldsync/...)
#   CONTRACT_REPORT_DIR     where the run's NDJSON report goes (default target/contract-test)
# schemathesis comes from PyPI (pinned below) into a virtualenv made once. Needs: cargo,
# python3 with venv, curl, jq. Exits non-zero with a line on stderr on any failure or finding.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
die() {
  echo "contract-test: $*" >&2
  exit 1
}
say() { echo "[contract-test] $*" >&2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
for tool in cargo python3 curl jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (needed: cargo, python3, curl, jq)"
done
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-25}"
SEED="${CONTRACT_SEED:-1}"
VENV="${CONTRACT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldsync/schemathesis-$SCHEMATHESIS_VERSION}"
REPORT_DIR="${CONTRACT_REPORT_DIR:-$REPO/target/contract-test}"

# --- schemathesis, pinned, from PyPI.
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
  say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
    die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
fi

# --- the server.
say "building field-server"
# The same features as `cargo test --workspace`: a no-op after it, so CI compiles nothing twice.
cargo test --workspace --no-run --quiet || die "cargo build failed"
BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/field-server"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/contract-test-XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
ADMIN_PW="contract-test-admin-password"
# Port 0: the kernel picks a free port, which the server prints on its one stdout line.
: >"$WORK/stdout"
FIELDSYNC_ADMIN_PASSWORD="$ADMIN_PW" RUST_LOG=error "$BIN" \
  --bind 127.0.0.1:0 \
  --database-url "sqlite://$WORK/fieldsync.db" \
  --blob-dir "$WORK/blobs" \
  --clock manual \
  >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 300); do
  BASE="$(sed -n 's/^field-server listening on //p' "$WORK/stdout")"
  [ -n "$BASE" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "field-server exited: $(tail -1 "$WORK/stderr")"
  sleep 0.1
done
[ -n "$BASE" ] || die "field-server never announced its address"
curl -sf "$BASE/readyz" >/dev/null || die "field-server at $BASE is not ready"
say "field-server at $BASE"

# --- fixtures, so that authenticated operations see real rows (the bootstrap of
# tests/src/server.rs: the admin from FIELDSYNC_ADMIN_PASSWORD, then users through the API).
api() { # METHOD PATH TOKEN [JSON]
  local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "$BASE$2" -H "Authorization: Bearer $3")
  [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data "$4")
  local status
  status="$(curl "${args[@]}")"
  case "$status" in
    2??) cat "$WORK/body" ;;
    *) die "setup: $1 $2 answered $status: $(cat "$WORK/body")" ;;
  esac
}
login() { # USER PASSWORD [DEVICE]
  local body
  body="$(jq -nc --arg u "$1" --arg p "$2" --arg d "${3:-}" \
    '{user: $u, password: $p} + (if $d == "" then {} else {device_id: $d} end)')"
  curl -sSf -X POST "$BASE/v1/auth/login" -H 'Content-Type: application/json' --data "$body" |
    jq -r .access_token
}
ADMIN="$(login admin "$ADMIN_PW" contract-admin-device)" || die "setup: admin login failed"
api PUT /v1/admin/regions/north "$ADMIN" '{"name": "North"}' >/dev/null
api PUT /v1/admin/skills/boiler "$ADMIN" '{"name": "Boilers"}' >/dev/null
api PUT /v1/admin/parts/VALVE-1 "$ADMIN" '{"name": "Valve", "price_cents": 1250}' >/dev/null
api POST /v1/admin/users "$ADMIN" '{"id": "tech-1", "role": "technician", "password": "tech-1-password",
  "regions": ["north"], "skills": ["boiler"], "capacity": 3}' >/dev/null
api POST /v1/admin/users "$ADMIN" '{"id": "disp-1", "role": "dispatcher", "password": "disp-1-password",
  "regions": ["north"]}' >/dev/null
intake() { # PRIORITY
  jq -nc --arg p "$1" '{customer: {name: "Ada Example", phone: "+44 20 7946 0000",
    address: "1 Example Street", tier: "standard"}, product: {model: "B-200", serial: "SN-1",
    purchase_date: "2025-03-14"}, service_type: "repair", problem: "The boiler makes a noise",
    priority: $p, required_skills: ["boiler"], region: "north", attachments: []}'
}
for priority in normal urgent normal; do
  api POST /v1/workorders "$ADMIN" "{\"intake\": $(intake "$priority")}" >/dev/null
done
api POST /v1/dispatch/auto "$ADMIN" '{}' >/dev/null
# A day later: deadlines passed, so breaches and escalations exist.
api POST /v1/admin/clock "$ADMIN" '{"advance": "2days"}' >/dev/null
api POST /v1/admin/clock/tick "$ADMIN" '{}' >/dev/null
say "fixtures: 2 users, 3 work orders, dispatched, a tick 2 days on"

# --- schemathesis. The checks are chosen here, not with --checks, so that the operations
# below can turn one off. positive_data_acceptance is off where validity depends on more than
# a JSON schema states: bytes that must hash to the URL's address and decode as an image, a
# CBOR sync message, a date range whose `to` must follow `from` within 366 days, and a calendar
# day (YYYY-MM-DD matches 0979-91-51; the server refuses it with 400).
cat >"$WORK/schemathesis.toml" <<'EOF'
[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
negative_data_rejection.enabled = true
positive_data_acceptance.enabled = true
unsupported_method.enabled = true

[[operations]]
include-path = ["/v1/sync", "/v1/blobs/{hash}"]
include-method = ["POST", "PUT"]
checks.positive_data_acceptance.enabled = false

# An Upload-Length above the documented 20 MiB maximum is refused with 413 Content Too Large,
# the status HTTP defines for it, before any byte is read.
[[operations]]
include-path = "/v1/blobs/{hash}/uploads"
include-method = "POST"
checks.negative_data_rejection.expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]

[[operations]]
include-path = ["/v1/kpi", "/v1/kpi/daily", "/v1/kpi/trends", "/v1/audits", "/v1/audits/draws", "/v1/technicians/{id}/route"]
include-method = "GET"
checks.positive_data_acceptance.enabled = false

# The event stream's 200 is documented as text/event-stream with a string schema, which
# schemathesis applies to each parsed event ({id, event, data}); the events module owns that
# annotation (a schema per event is its to write), so its event shapes are not checked here;
# one event per stream is enough to check its status and media type.
[[operations]]
include-path = "/v1/events"
checks.response_schema_conformance.enabled = false
max-stream-events = 1
EOF
# The sync body is `application/cbor` bytes: sent as generated.
cat >"$WORK/contract_hooks.py" <<'EOF'
import schemathesis
from schemathesis.transport.serialization import serialize_binary


@schemathesis.serializer("application/cbor")
def cbor(ctx, value):
    return {"data": serialize_binary(value)}
EOF
mkdir -p "$REPORT_DIR"
say "schemathesis $SCHEMATHESIS_VERSION: $MAX_EXAMPLES examples per operation, seed $SEED"
status=0
PYTHONPATH="$WORK" SCHEMATHESIS_HOOKS=contract_hooks \
  "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
  --url "$BASE" \
  --header "Authorization: Bearer $ADMIN" \
  --phases examples,coverage,fuzzing \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --workers 2 \
  --no-color \
  --report ndjson --report-ndjson-path "$REPORT_DIR/events.ndjson" \
  "$@" || status=$?
kill -0 "$SERVER_PID" 2>/dev/null || die "field-server died during the run: $(tail -3 "$WORK/stderr")"
[ "$status" -eq 0 ] || die "schemathesis found problems (exit $status); the report is $REPORT_DIR/events.ndjson"
say "no findings"
