#!/usr/bin/env bash
# CI's fuzz smoke (docs/FUZZING.md): builds every fuzz target on the stable toolchain
# (cargo-fuzz, --sanitizer none; installs cargo-fuzz when missing) and runs each for
# FUZZ_SECONDS (default 60), two at a time (the machine has 2 cores). Fails on any crash,
# input over its heap cap, or time-out, printing the input as hex (fuzz/run.sh).
#
# The build goes to FIELDSYNC_FUZZ_TARGET_DIR (default ~/.cache/fieldsync-fuzz-target), outside
# the clone, so a machine that built the targets once (a campaign, an earlier run) rebuilds only
# the project's own crates: about 3 min on 2 cores, from any clone. A first build from nothing
# takes about 12 min.
#
#   scripts/fuzz-smoke.sh                    # every target, 60 s each
#   FUZZ_SECONDS=10 scripts/fuzz-smoke.sh ingest image_check
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
export FIELDSYNC_FUZZ_TARGET_DIR=${FIELDSYNC_FUZZ_TARGET_DIR:-$HOME/.cache/fieldsync-fuzz-target}
all=(sync_request sync_response ingest image_check policy_toml scenario_toml)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# Stable only (issue 14): no nightly toolchain, no RUSTC_BOOTSTRAP.
if [ -n "${RUSTC_BOOTSTRAP:-}" ] || rustc --version | grep -q nightly; then
  echo "fuzz-smoke: refusing to run on a nightly toolchain or with RUSTC_BOOTSTRAP: $(rustc --version)" >&2
  exit 2
fi
echo "fuzz-smoke: $(rustc --version)"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

echo "fuzz-smoke: building the fuzz targets (stable, --sanitizer none) in $FIELDSYNC_FUZZ_TARGET_DIR"
start=$SECONDS
(cd fuzz && cargo fuzz build --sanitizer none --target-dir "$FIELDSYNC_FUZZ_TARGET_DIR")
echo "fuzz-smoke: built in $((SECONDS - start)) s; running ${#targets[@]} targets for $seconds s each, two at a time"

failed=()
run_pair() {
  local pids=() names=() i
  for t in "$@"; do
    fuzz/run.sh "$t" "$seconds" &
    pids+=($!)
    names+=("$t")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run_pair "${targets[@]:i:2}"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz-smoke: FAILED: ${failed[*]} (inputs above; keep each under tests/fuzz-crashers/<target>/ once fixed)" >&2
  exit 1
fi
echo "fuzz-smoke: done in $((SECONDS - start)) s"
echo "fuzz-smoke: ${#targets[@]} passed, 0 failed"
