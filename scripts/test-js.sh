#!/usr/bin/env bash
# The TypeScript client's tests (clients/js): npm ci (from the npm registry only), then
# npm test = tsc + node --test. The end-to-end tests start target/debug/field-server and
# field-cli, built here first with the same features as `cargo test --workspace` (a no-op after
# it, so CI compiles nothing twice).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-run --quiet
cd clients/js
npm ci --no-audit --no-fund
npm test
