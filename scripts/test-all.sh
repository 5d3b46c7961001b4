#!/usr/bin/env bash
# Every test of the project, as README.md's test command: the Rust workspace (unit, property,
# end-to-end against real field-server processes on SQLite and, when
# FIELDSYNC_TEST_POSTGRES_URL is set, PostgreSQL), the TypeScript client (node --test against a
# real server), the console in a browser (Debian's Chromium, installed with apt when missing),
# and the OpenAPI contract test (schemathesis against a real server).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test --workspace"
cargo test --workspace
echo "== TypeScript client (clients/js: npm ci, node --test)"
scripts/test-js.sh
echo "== the console in a browser (console-tests: playwright-core on Chromium, node --test)"
scripts/test-console.sh
echo "== contract test (schemathesis on /openapi.json)"
scripts/contract-test.sh
