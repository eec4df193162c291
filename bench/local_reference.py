"""The reference llama.cpp (llama-cpp-python) on the same GGUF, measured the way
crates/local-llm/examples/local_bench.rs measures openchat. Run by bench/local-model.sh.
Like openchat, llama-cpp-python reuses the prefix a prompt shares with the previous one."""
import json
import resource
import sys
import time

from llama_cpp import Llama

SHORT = "What is the capital of France?"
OTHER = "Name three colours."
FOLLOW_UP = "And of Italy?"
STORY = "Write a long story about a dragon who learns to cook."
LONG = "The quick brown fox jumps over the lazy dog while the farmer watches from the old barn. " * 27 + "Summarise this."


def run(llm, question, max_tokens):
    first, total, count, _ = turn(llm, [{"role": "user", "content": question}], max_tokens)
    return first, total, count


def turn(llm, messages, max_tokens):
    started = time.perf_counter()
    first = None
    count = 0
    text = ""
    stream = llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True)
    for chunk in stream:
        content = chunk["choices"][0]["delta"].get("content")
        if content:
            count += 1
            text += content
            if first is None:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return first if first is not None else total, total, count, text


def main():
    model, threads = sys.argv[1], int(sys.argv[2])
    started = time.perf_counter()
    llm = Llama(model_path=model, n_ctx=2048, n_batch=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    load = time.perf_counter() - started
    run(llm, SHORT, 8)
    ttft, follow_up = [], []
    for _ in range(5):
        run(llm, OTHER, 1)
        first, _, _, text = turn(llm, [{"role": "user", "content": SHORT}], 16)
        ttft.append(first * 1000)
        conversation = [
            {"role": "user", "content": SHORT},
            {"role": "assistant", "content": text},
            {"role": "user", "content": FOLLOW_UP},
        ]
        follow_up.append(turn(llm, conversation, 1)[0] * 1000)
    llm.reset()
    usage = llm.create_chat_completion(messages=[{"role": "user", "content": LONG}], max_tokens=1, temperature=0.0)
    prompt_tokens = usage["usage"]["prompt_tokens"]
    pp = []
    for _ in range(3):
        run(llm, OTHER, 1)
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
        "ttft_short_ms": round(sorted(ttft)[2], 1),
        "ttft_follow_up_ms": round(sorted(follow_up)[2], 1),
        "prompt_tokens": prompt_tokens,
        "prompt_tok_s": round(sorted(pp)[1]),
        "generated_tokens": generated,
        "gen_tok_s": round(sorted(tg)[1], 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
