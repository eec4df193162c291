#!/usr/bin/env bash
# Web UI measurements (figures in docs/benchmarks.md): initial bundle size, navigation to an
# interactive chat page, and opening and scrolling a conversation of 2 000 messages, in
# headless Chromium against the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/web-build
# Two builds, not one: `-p openchat` alone is `scripts/start`'s build (the same llama.cpp build);
# building both packages together would unify features differently and compile llama.cpp again.
cargo build --release --locked -q -p openchat
cargo build --release --locked -q -p fake-llm
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
cd web
OPENCHAT_BIN=$target_dir/release/openchat FAKE_LLM_BIN=$target_dir/release/fake-llm \
  npx playwright test -c playwright.bench.config.ts --reporter=list
