"""The reference llama.cpp (llama-cpp-python) on the same GGUF, measured the way
crates/local-llm/examples/local_bench.rs measures openchat. Run by bench/local-model.sh."""
import json
import resource
import sys
import time

from llama_cpp import Llama

SHORT = "What is the capital of France?"
STORY = "Write a long story about a dragon who learns to cook."
LONG = "The quick brown fox jumps over the lazy dog while the farmer watches from the old barn. " * 27 + "Summarise this."


def run(llm, question, max_tokens):
    llm.reset()  # no reuse of the previous prompt: openchat reads every prompt afresh
    started = time.perf_counter()
    first = None
    count = 0
    stream = llm.create_chat_completion(
        messages=[{"role": "user", "content": question}], max_tokens=max_tokens, temperature=0.0, stream=True
    )
    for chunk in stream:
        if chunk["choices"][0]["delta"].get("content"):
            count += 1
            if first is None:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return first if first is not None else total, total, count


def main():
    model, threads = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    llm = Llama(model_path=model, n_ctx=2048, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    load = time.perf_counter() - started
    run(llm, SHORT, 8)
    ttft = sorted(run(llm, SHORT, 1)[0] * 1000 for _ in range(5))[2]
    llm.reset()
    usage = llm.create_chat_completion(messages=[{"role": "user", "content": LONG}], max_tokens=1, temperature=0.0)
    prompt_tokens = usage["usage"]["prompt_tokens"]
    pp = []
    for _ in range(3):
        first, _, _ = run(llm, LONG, 1)
        pp.append(prompt_tokens / first)
    tg = []
    generated = 0
    for _ in range(3):
        first, total, count = run(llm, STORY, 128)
        generated = count
        tg.append((count - 1) / (total - first))
    print(json.dumps({
        "engine": "reference (llama-cpp-python)",
        "threads": threads,
        "load_ms": round(load * 1000),
        "ttft_short_ms": round(ttft, 1),
        "prompt_tokens": prompt_tokens,
        "prompt_tok_s": round(sorted(pp)[1]),
        "generated_tokens": generated,
        "gen_tok_s": round(sorted(tg)[1], 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
