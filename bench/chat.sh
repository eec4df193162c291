#!/usr/bin/env bash
# Benchmarks of the chat service against the fake provider (loopback only, bounded):
#   bench/chat.sh [relay|ttft|rest|concurrent|idle|search|relay-cluster|concurrent-cluster|idle-cluster|failover|tools]
# (…-cluster, failover: replicas on PostgreSQL at 127.0.0.1:5432 and a redis-server of their own)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p openchat -p bench
ulimit -n 30000 2>/dev/null || true
target=${CARGO_TARGET_DIR:-target}
exec "$target/release/openchat-bench" "$target/release/openchat" "$@"
