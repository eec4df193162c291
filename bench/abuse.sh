#!/usr/bin/env bash
# What honest users see during an attack (figures in docs/benchmarks.md): their latencies and
# the server's memory, alone and while 2 000 slow connections, 100 WebSockets that never read
# and a flood of wrong passwords for their own account run — first from one address each, then
# with the slow connections spread over 20 addresses. Release build, loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p openchat -p bench
ulimit -n 30000 2>/dev/null || true
target=${CARGO_TARGET_DIR:-target}
"$target/release/openchat-bench" "$target/release/openchat" abuse
"$target/release/openchat-bench" "$target/release/openchat" abuse-spread
