#!/usr/bin/env bash
# Runs one built fuzz target for a while: fuzz/run.sh TARGET SECONDS [extra libFuzzer flags].
#
# Build first (scripts/fuzz-smoke.sh does both). The corpus grows in fuzz/corpus/TARGET (not in
# git), starting from the committed seeds in fuzz/seeds/TARGET; a crash lands in
# fuzz/artifacts/TARGET/ and is printed as hex, and the script then exits 1. The log is
# fuzz/artifacts/TARGET.log. docs/FUZZING.md explains the flags and what to do with a crash.
set -euo pipefail
cd "$(dirname "$0")"

target=${1:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags]}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags]}
shift 2
target_dir=${FIELDSYNC_FUZZ_TARGET_DIR:-$HOME/.cache/fieldsync-fuzz-target}
bin="$target_dir/x86_64-unknown-linux-gnu/release/$target"
[ -x "$bin" ] || { echo "fuzz/run.sh: $bin is not built (scripts/fuzz-smoke.sh builds it)" >&2; exit 2; }

# Per input: a time cap; the heap cap is the target's own (fuzz/src/lib.rs, `bounded`).
case "$target" in
  image_check) timeout=30 ;;
  *) timeout=10 ;;
esac

mkdir -p "corpus/$target" "artifacts/$target"
log="artifacts/$target.log"
stamp="artifacts/.started-$target"
touch "$stamp"
set +e
"$bin" "corpus/$target" "seeds/$target" \
  -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
  -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$@" >"$log" 2>&1
status=$?
set -e
grep -E '^#[0-9]+ +DONE|^Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|heap record' "$log" | sed "s/^/$target: /" || true
if [ "$status" -ne 0 ]; then
  echo "$target: FAILED (libFuzzer exit $status); the end of $log:" >&2
  tail -n 40 "$log" >&2
  find "artifacts/$target" -type f -newer "$stamp" | while read -r crash; do
    echo "$target: crashing input $crash ($(wc -c <"$crash") bytes), hex:" >&2
    od -An -v -tx1 "$crash" | tr -d ' \n' | fold -w 128 >&2
    echo >&2
  done
  exit 1
fi
