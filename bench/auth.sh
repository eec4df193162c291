#!/usr/bin/env bash
# Load test of the auth server: authenticated GET /users/me at several concurrencies, plus
# the idle RSS of `openchat auth`. Needs wrk (apt-get install wrk). Loopback only.
#
#   bench/auth.sh [seconds-per-step]      (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release -q -p openchat
bin=${CARGO_TARGET_DIR:-target}/release/openchat

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPENCHAT_DATA_DIR=$data OPENCHAT_AUTH_HOST=127.0.0.1 OPENCHAT_AUTH_PORT=$port RUST_LOG=warn "$bin" auth &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 50); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
sleep 1
idle_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

curl -sf -X POST "$base/users/" -H 'content-type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"bench-password-1"}' >/dev/null
token=$(curl -sf -X POST "$base/auth/token" -d 'username=bench&password=bench-password-1' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

echo "openchat auth: idle RSS $((idle_kib / 1024)).$(((idle_kib % 1024) * 10 / 1024)) MiB"
printf '%-12s %12s %10s %10s\n' concurrency "req/s" "p50" "p99"
for c in 1 16 64 256; do
  threads=$((c < 2 ? 1 : 2))
  out=$(wrk -t$threads -c$c -d${duration}s --latency -H "Authorization: Bearer $token" "$base/users/me")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  printf '%-12s %12s %10s %10s %s\n' "$c" "$rps" "$p50" "$p99" "$errors"
done
busy_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "openchat auth: RSS after load $((busy_kib / 1024)) MiB"
