#!/usr/bin/env bash
# The TypeScript client's tests (clients/js): npm ci (from the npm registry only), then
# npm test = tsc + node --test. The end-to-end tests start target/debug/field-server and
# field-cli, built here first (a no-op when they are current).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p server -p field-cli
cd clients/js
npm ci --no-audit --no-fund
npm test
