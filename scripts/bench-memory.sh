#!/usr/bin/env bash
# Server memory as stored documents grow: for each count of seeded work orders (default
# 1000 10000 100000) a release `field-server` on a fresh SQLite database gets that many work
# orders through the intake API first (`field-cli bench --seed-orders`: no technician exists
# yet, so intake stays fast), then the script records its resident memory idle, through a
# 200 x 10 x 10 burst (`field-cli bench`) and through a steady run (`field-cli bench --steady`). Prints a markdown table on stdout; progress on
# stderr; raw JSON lines, server logs and RSS samples go to target/bench-memory/<time>/.
#
#   scripts/bench-memory.sh [--counts "1000 10000 100000"] [--server-bin PATH] [--cli-bin PATH]
#
# Defaults: target/release/field-server and target/release/field-cli (build them first:
# cargo build --release -p server -p field-cli). Environment: STEADY_DEVICES (1000),
# STEADY_DURATION (60s), BURST_DEVICES (200), SEED_CONCURRENCY (8).
# Needs: jq. Exits non-zero with one line on stderr when a prerequisite is missing or a run fails.
set -euo pipefail

die() {
  echo "bench-memory: $*" >&2
  exit 1
}
say() { echo "[bench-memory] $*" >&2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNTS="1000 10000 100000"
SERVER_BIN="$REPO/target/release/field-server"
CLI_BIN="$REPO/target/release/field-cli"
while [ $# -gt 0 ]; do
  case "$1" in
    --counts) COUNTS="${2:?--counts needs a list}"; shift 2 ;;
    --server-bin) SERVER_BIN="${2:?--server-bin needs a path}"; shift 2 ;;
    --cli-bin) CLI_BIN="${2:?--cli-bin needs a path}"; shift 2 ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (usage: scripts/bench-memory.sh [--counts \"1000 10000\"] [--server-bin PATH] [--cli-bin PATH])" ;;
  esac
done
command -v jq >/dev/null 2>&1 || die "jq is not installed"
[ -x "$SERVER_BIN" ] || die "no field-server at $SERVER_BIN (cargo build --release -p server -p field-cli)"
[ -x "$CLI_BIN" ] || die "no field-cli at $CLI_BIN (cargo build --release -p server -p field-cli)"
STEADY_DEVICES="${STEADY_DEVICES:-1000}"
STEADY_DURATION="${STEADY_DURATION:-60s}"
BURST_DEVICES="${BURST_DEVICES:-200}"
SEED_CONCURRENCY="${SEED_CONCURRENCY:-8}"

OUT="$REPO/target/bench-memory/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-memory-XXXXXX")"
export FIELDSYNC_ADMIN_PASSWORD="bench-memory-$$-admin-password"
SERVER_PID=""
SAMPLER_PID=""
cleanup() {
  [ -z "$SAMPLER_PID" ] || kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
  "$SERVER_BIN" --bind 127.0.0.1:0 --database-url "sqlite://$WORK/fs.db" --blob-dir "$WORK/blobs" \
    >"$WORK/server.out" 2>"$OUT/server-$1.log" &
  SERVER_PID=$!
  URL=""
  for _ in $(seq 1 100); do
    URL="$(sed -n 's/^field-server listening on //p' "$WORK/server.out" 2>/dev/null || true)"
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "field-server exited at start (see $OUT/server-$1.log)"
    sleep 0.1
  done
  [ -n "$URL" ] || die "field-server did not say where it listens within 10 s"
  say "server $SERVER_PID at $URL, output in $OUT"
  # The server's resident memory every 200 ms: "<unix time> <KiB>".
  (while kill -0 "$SERVER_PID" 2>/dev/null; do
    echo "$(date +%s.%N) $(awk '/^VmRSS/{print $2}' "/proc/$SERVER_PID/status" 2>/dev/null)"
    sleep 0.2
  done) >"$OUT/rss-$1.txt" &
  SAMPLER_PID=$!
}
stop_server() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  SAMPLER_PID=""
  rm -rf "$WORK/fs.db" "$WORK/fs.db-wal" "$WORK/fs.db-shm" "$WORK/blobs"
}

now() { date +%s.%N; }
# Highest RSS sample (MiB) between two times.
peak_between() {
  awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b && $2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$OUT/rss-$3.txt"
}
rss_now() { awk '/^VmRSS/{printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status"; }

echo "| seeded work orders | seeding (orders/s) | idle RSS | 200×10 burst: peak RSS | burst changes/s | steady ($STEADY_DEVICES devices, $STEADY_DURATION): peak RSS | steady p99 | RSS after | VmHWM |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for count in $COUNTS; do
  start_server "$count"
  say "seeding $count work orders"
  "$CLI_BIN" bench --server "$URL" --seed-orders "$count" --seed-concurrency "$SEED_CONCURRENCY" \
    --server-pid "$SERVER_PID" >"$OUT/seed-$count.json" 2>"$OUT/seed-$count.err" ||
    die "seeding failed: $(tail -1 "$OUT/seed-$count.err")"
  rate="$(jq -r .orders_per_second "$OUT/seed-$count.json")"
  total=$count
  sleep 15 # the seeding's freed memory goes back
  idle="$(rss_now)"

  say "burst $BURST_DEVICES x 10 x 10 at $total stored work orders"
  t0="$(now)"
  "$CLI_BIN" bench --server "$URL" --devices "$BURST_DEVICES" --jobs 10 --edits 10 \
    --server-pid "$SERVER_PID" >"$OUT/burst-$count.json" 2>"$OUT/burst-$count.err" ||
    die "burst failed: $(tail -1 "$OUT/burst-$count.err")"
  t1="$(now)"
  total=$((total + BURST_DEVICES * 10))
  burst_peak="$(peak_between "$t0" "$t1" "$count")"
  burst_rate="$(jq -r .changes_per_second "$OUT/burst-$count.json")"

  say "steady $STEADY_DEVICES devices for $STEADY_DURATION at $total stored work orders"
  t0="$(now)"
  "$CLI_BIN" bench --server "$URL" --steady --devices "$STEADY_DEVICES" --jobs 5 --interval 30s \
    --duration "$STEADY_DURATION" --idle-jobs 0 --server-pid "$SERVER_PID" \
    >"$OUT/steady-$count.json" 2>"$OUT/steady-$count.err" ||
    die "steady run failed: $(tail -1 "$OUT/steady-$count.err")"
  t1="$(now)"
  total=$((total + STEADY_DEVICES * 5))
  steady_peak="$(peak_between "$t0" "$t1" "$count")"
  steady_p99="$(jq -r '.sync_latency_ms.p99' "$OUT/steady-$count.json")"
  sleep 15
  hwm="$(awk '/^VmHWM/{printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status")"
  echo "| $count ($total after the runs) | $rate | $idle MiB | $burst_peak MiB | $burst_rate | $steady_peak MiB | $steady_p99 ms | $(rss_now) MiB | $hwm MiB |"
  stop_server
done
