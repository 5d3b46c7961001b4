#!/usr/bin/env bash
# Our server beside both peers, in one run window on this machine: `field-cli bench` (burst)
# against a fresh `field-server` on SQLite and on PostgreSQL, raw Automerge in one process
# (`automerge-limit`) and the automerge-repo reference server, on the same workloads:
#   (a) 50 devices x 20 jobs x 10 edits (1,000 documents)
#   (b) 200 devices x 10 jobs x 10 edits (2,000 documents; skipped with --quick)
# Prints a markdown table and the ratios issue 9 asks for on stdout; progress on stderr; the raw
# JSON lines go to target/bench-vs-peers/<time>.jsonl.
#
#   scripts/bench-vs-peers.sh [--quick] [SHARED_DIR]
#
# SHARED_DIR holds peers/ (default: ../shared beside the repository). The peers are copied to a
# temporary directory first (the shared folder may be read-only). Environment:
#   FIELDSYNC_BENCH_POSTGRES_URL  PostgreSQL server to create fresh databases on
#                                 (default postgres://postgres@127.0.0.1:5432)
#   RUN_TIMEOUT                   seconds allowed for each run (default 1200)
# Needs: cargo, node and npm (the automerge-repo peer runs `npm ci`), jq, psql, GNU time.
# Exits non-zero with one line on stderr when a prerequisite is missing or a run fails.
set -euo pipefail

die() {
  echo "bench-vs-peers: $*" >&2
  exit 1
}
say() { echo "[bench-vs-peers] $*" >&2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
SHARED=""
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h | --help)
      sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) die "unknown option $arg (usage: scripts/bench-vs-peers.sh [--quick] [SHARED_DIR])" ;;
    *)
      [ -z "$SHARED" ] || die "one SHARED_DIR only (usage: scripts/bench-vs-peers.sh [--quick] [SHARED_DIR])"
      SHARED="$arg"
      ;;
  esac
done
SHARED="${SHARED:-$REPO/../shared}"
PG_BASE="${FIELDSYNC_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PG_BASE="${PG_BASE%/}"
RUN_TIMEOUT="${RUN_TIMEOUT:-1200}"
ADMIN_PW="bench-vs-peers-$$-admin-password"

# --- Prerequisites: each missing one is one line and exit 1.
for tool in cargo node npm jq psql timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (needed: cargo, node, npm, jq, psql, timeout)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is not installed: it measures raw Automerge's peak RSS"
[ -f "$SHARED/peers/automerge-limit/Cargo.toml" ] || die "no peers/automerge-limit in $SHARED (pass the shared folder as the argument)"
[ -f "$SHARED/peers/automerge-repo/run.sh" ] || die "no peers/automerge-repo in $SHARED (pass the shared folder as the argument)"
psql "$PG_BASE/postgres" -Atqc 'select 1' >/dev/null 2>&1 ||
  die "PostgreSQL at $PG_BASE does not answer (start it, or set FIELDSYNC_BENCH_POSTGRES_URL)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-peers-XXXXXX")"
SERVER_PID=""
DBS=()
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  for db in "${DBS[@]+"${DBS[@]}"}"; do
    psql "$PG_BASE/postgres" -Atqc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RESULTS_DIR="$REPO/target/bench-vs-peers"
mkdir -p "$RESULTS_DIR"
RESULTS="$RESULTS_DIR/$(date -u +%Y%m%dT%H%M%SZ).jsonl"

# --- Builds first, so the measurements run back to back.
# BENCH_COMMIT names the source when it is not a git checkout (e.g. a `git archive` copy).
COMMIT="${BENCH_COMMIT:-$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
DIRTY="$({ git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null || true; } | wc -l | tr -d ' ')"
say "building field-server and field-cli (release) at $COMMIT ($DIRTY uncommitted files in the tree)"
(cd "$REPO" && cargo build --release -q -p server -p field-cli) >&2 || die "cargo build --release of field-server and field-cli failed"
SERVER_BIN="$REPO/target/release/field-server"
CLI_BIN="$REPO/target/release/field-cli"

cp -r "$SHARED/peers/automerge-limit" "$SHARED/peers/automerge-repo" "$WORK/"
chmod -R u+w "$WORK"
rm -rf "$WORK/automerge-repo/node_modules"
say "building automerge-limit (release)"
LIMIT_TARGET="$REPO/target/peer-automerge-limit"
(cd "$WORK/automerge-limit" && CARGO_TARGET_DIR="$LIMIT_TARGET" cargo build --release -q) >&2 ||
  die "building automerge-limit failed"
LIMIT_BIN="$LIMIT_TARGET/release/automerge-limit"
say "installing automerge-repo's pinned dependencies (npm ci)"
(cd "$WORK/automerge-repo" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
  die "npm ci in the automerge-repo peer failed (is the npm registry reachable?)"

# Appends one result line, tagged, to $RESULTS.
record() { jq -c --arg run "$1" --arg workload "$2" '. + {run: $run, workload: $workload}' "$3" >>"$RESULTS"; }

# run_ours BACKEND N K: a fresh server and database, the burst bench with --server-pid.
run_ours() {
  local backend="$1" n="$2" k="$3" dir url db port_line
  dir="$WORK/ours-$backend-$n-$k"
  mkdir -p "$dir"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$dir/fs.db"
  else
    db="fs_bench_vs_peers_$$_${n}_${k}"
    psql "$PG_BASE/postgres" -Atqc "CREATE DATABASE $db" >/dev/null || die "cannot create database $db on $PG_BASE"
    DBS+=("$db")
    url="$PG_BASE/$db"
  fi
  FIELDSYNC_ADMIN_PASSWORD="$ADMIN_PW" RUST_LOG=warn "$SERVER_BIN" --bind 127.0.0.1:0 \
    --database-url "$url" --blob-dir "$dir/blobs" >"$dir/server.out" 2>"$dir/server.err" &
  SERVER_PID=$!
  port_line=""
  for _ in $(seq 1 300); do
    port_line="$(sed -n 's/^field-server listening on \(http:[^ ]*\).*/\1/p' "$dir/server.out" | head -n1)"
    [ -n "$port_line" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "field-server ($backend) exited at start: $(tail -n1 "$dir/server.err")"
    sleep 0.1
  done
  [ -n "$port_line" ] || die "field-server ($backend) did not start within 30 s"
  say "ours, $backend, ${n}x${k}: server pid $SERVER_PID at $port_line"
  timeout "$RUN_TIMEOUT" "$CLI_BIN" --device "$dir/cli" bench --server "$port_line" --devices "$n" --jobs "$k" \
    --edits 10 --server-pid "$SERVER_PID" --admin-password "$ADMIN_PW" >"$dir/out.json" 2>"$dir/err" ||
    die "our bench ($backend, ${n}x${k}) failed: $(tail -n1 "$dir/err")"
  stop_server
  jq -e '.server_holds_every_change == true' "$dir/out.json" >/dev/null ||
    die "our bench ($backend, ${n}x${k}): the server does not hold every change: $(cat "$dir/out.json")"
  record "ours-$backend" "${n}x${k}" "$dir/out.json"
  cp "$dir/out.json" "$WORK/ours-$backend-${n}x${k}.json"
}

# run_limit DOCS LABEL: raw Automerge, with its peak RSS from GNU time.
run_limit() {
  local docs="$1" label="$2" dir="$WORK/limit-$1"
  mkdir -p "$dir"
  say "automerge-limit --docs $docs --changes 10"
  timeout "$RUN_TIMEOUT" /usr/bin/time -f '%M' -o "$dir/rss_kib" "$LIMIT_BIN" --docs "$docs" --changes 10 \
    >"$dir/out.json" 2>"$dir/err" || die "automerge-limit --docs $docs failed: $(tail -n1 "$dir/err")"
  jq -c --argjson rss "$(tail -n1 "$dir/rss_kib")" '. + {peak_rss_mib: ($rss / 1024)}' "$dir/out.json" >"$dir/with_rss.json"
  record automerge-limit "$label" "$dir/with_rss.json"
  cp "$dir/with_rss.json" "$WORK/limit-$label.json"
}

# run_repo N K: the automerge-repo reference server (no quiet-machine wait: see the note printed).
run_repo() {
  local n="$1" k="$2" dir="$WORK/repo-$1-$2"
  mkdir -p "$dir"
  say "automerge-repo ./run.sh $n $k"
  (cd "$WORK/automerge-repo" && QUIET_WAIT=0 TIMEOUT="$RUN_TIMEOUT" ./run.sh "$n" "$k") >"$dir/out.json" 2>"$dir/err" ||
    die "automerge-repo ./run.sh $n $k failed: $(tail -n1 "$dir/err")"
  jq -e '.ok == true' "$dir/out.json" >/dev/null || die "automerge-repo ./run.sh $n $k: not ok: $(head -c 300 "$dir/out.json")"
  record automerge-repo "${n}x${k}" "$dir/out.json"
  cp "$dir/out.json" "$WORK/repo-${n}x${k}.json"
}

WORKLOADS=("50 20")
[ "$QUICK" = 1 ] || WORKLOADS+=("200 10")
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for w in "${WORKLOADS[@]}"; do
  read -r n k <<<"$w"
  run_ours sqlite "$n" "$k"
  run_ours postgres "$n" "$k"
  run_limit "$((n * k))" "${n}x${k}"
  run_repo "$n" "$k"
done
FINISHED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- The table. Figures per run: changes/s, server CPU ms per change, peak RSS MiB, other CPU.
fmt() { jq -r "$1" "$2"; }
row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }
echo "## fieldsync vs peers ($STARTED to $FINISHED)"
echo
echo "Commit $COMMIT of fieldsync ($DIRTY uncommitted files in the working tree at build time),"
echo "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), release builds."
echo "automerge-repo ran with QUIET_WAIT=0: other builds may run on this machine during the window;"
echo "'other CPU' is what other processes used during each measured phase (ours: the sync phase,"
echo "which includes the PostgreSQL server's own processes; automerge-repo: phase 2)."
echo
row "workload" "run" "changes" "changes/s" "server CPU ms/change" "server peak RSS MiB" "other CPU ms"
row "---" "---" "---:" "---:" "---:" "---:" "---:"
for w in "${WORKLOADS[@]}"; do
  read -r n k <<<"$w"
  wl="${n}x${k}"
  for b in sqlite postgres; do
    f="$WORK/ours-$b-$wl.json"
    row "$wl" "fieldsync, $b" "$(fmt .changes "$f")" "$(fmt '.changes_per_second|floor' "$f")" \
      "$(fmt '.server_cpu_ms_per_change*1000|round/1000' "$f")" "$(fmt .server_peak_rss_mib "$f")" "$(fmt '.other_cpu_ms|round' "$f")"
  done
  f="$WORK/limit-$wl.json"
  row "$wl" "raw Automerge, sync (1 thread, no I/O)" "$(fmt '.docs*.changes_per_doc' "$f")" "$(fmt .sync_changes_per_s "$f")" \
    "$(fmt '1000/.sync_changes_per_s*1000|round/1000' "$f")" "$(fmt '.peak_rss_mib*10|round/10' "$f")" "n/a"
  row "$wl" "raw Automerge, sync with storage" "$(fmt '.docs*.changes_per_doc' "$f")" "$(fmt .sync_with_storage_changes_per_s "$f")" \
    "$(fmt '1000/.sync_with_storage_changes_per_s*1000|round/1000' "$f")" "(same process)" "n/a"
  f="$WORK/repo-$wl.json"
  row "$wl" "automerge-repo (phase 2)" "$(fmt '.docs*.changes_per_doc' "$f")" \
    "$(fmt '.docs*.changes_per_doc/(.phase2.sync_ms/1000)|floor' "$f")" \
    "$(fmt '.phase2.server_cpu_ms/(.docs*.changes_per_doc)*1000|round/1000' "$f")" \
    "$(fmt .phase2.server_peak_rss_mib "$f")" "$(fmt '.phase2.other_cpu_ms|round' "$f")"
done
echo
echo "Our 'changes' count the acceptance of each job as well as its 10 edits (11 per job); the peers"
echo "count 10 per document. Raw Automerge's RSS is its whole process (devices and server in one)."
echo
echo "### Ratios (targets from issue 9)"
echo
row2() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
row2 "workload" "ratio" "SQLite" "PostgreSQL" "target"
row2 "---" "---" "---:" "---:" "---"
ratio() { jq -rn --slurpfile a "$1" --slurpfile b "$2" "$3"; }
for w in "${WORKLOADS[@]}"; do
  read -r n k <<<"$w"
  wl="${n}x${k}"
  L="$WORK/limit-$wl.json"
  R="$WORK/repo-$wl.json"
  cells=()
  for b in sqlite postgres; do cells+=("$(ratio "$WORK/ours-$b-$wl.json" "$L" '$a[0].changes_per_second/$b[0].sync_changes_per_s*100|round/100')"); done
  row2 "$wl" "ours / raw Automerge changes/s" "${cells[0]}" "${cells[1]}" ">= 0.5"
  cells=()
  for b in sqlite postgres; do cells+=("$(ratio "$WORK/ours-$b-$wl.json" "$R" '$a[0].changes_per_second/($b[0].docs*$b[0].changes_per_doc/($b[0].phase2.sync_ms/1000))*100|round/100')"); done
  target="(200x10: >= 5)"
  [ "$wl" = "200x10" ] && target=">= 5"
  row2 "$wl" "ours / automerge-repo changes/s" "${cells[0]}" "${cells[1]}" "$target"
  cells=()
  for b in sqlite postgres; do cells+=("$(ratio "$WORK/ours-$b-$wl.json" "$L" '$a[0].server_cpu_ms_per_change/(1000/$b[0].sync_changes_per_s)*100|round/100')"); done
  row2 "$wl" "our server CPU per change / raw Automerge time per change" "${cells[0]}" "${cells[1]}" "<= 2"
done
echo
echo "Raw JSON lines: ${RESULTS#"$REPO"/}"
