#!/usr/bin/env bash
# The embedded local model against the reference llama.cpp, same GGUF, same threads, one run:
#   bench/local-model.sh [threads]          (default 2)
# Prints one JSON line per engine: load time, time to first token for a short question, prompt
# processing (~500-token prompt) and generation (128 tokens) rates, peak RSS. The reference is
# llama-cpp-python from PyPI (it builds llama.cpp, ~5 min once), in $HOME/.cache/openchat/bench-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
target=${CARGO_TARGET_DIR:-target}
model=${OPENCHAT_TEST_MODEL:-$HOME/.cache/openchat/models/SmolLM2-135M-Instruct.Q4_1.gguf}
venv=${OPENCHAT_BENCH_VENV:-$HOME/.cache/openchat/bench-venv}

# The test profile: its llama.cpp is the same `-O3` CMake Release build as the release
# profile's (Cargo.toml), and reusing the test build avoids a second llama.cpp build.
cargo build --locked -q --workspace --all-targets
[ -f "$model" ] || "$target/debug/openchat" model pull --dir "$(dirname "$model")"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import llama_cpp" 2>/dev/null || "$venv/bin/pip" install -q llama-cpp-python

"$target/debug/examples/local_bench" "$model" "$threads"
"$venv/bin/python" bench/local_reference.py "$model" "$threads"
