#!/usr/bin/env bash
# The dispatcher console's browser tests (console-tests/): Debian's Chromium driven by
# playwright-core under node --test, against target/debug/field-server and field-cli, built
# here first with the same features as `cargo test --workspace` (a no-op after it, so CI
# compiles nothing twice). Never downloads a browser: Chromium comes from apt when missing.
# Screenshots of every page land in target/console-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-run --quiet
chromium="${FIELDSYNC_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test-console: $chromium is missing; install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
  fi
fi
cd console-tests
npm ci --no-audit --no-fund
npm test
