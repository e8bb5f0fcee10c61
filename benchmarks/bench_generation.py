"""Speed of the transformers engine on the embedded model (SmolLM2-135M; CPU, or a GPU with --device cuda).

1. Sampling throughput: 32 samples x 128 new tokens of one GSM8K prompt (the first test
   question, read from ``$ITSLAB_DATA_DIR/gsm8k/test.jsonl``). itslab's `HFGenerator` against
   Hugging Face ``model.generate(num_return_sequences=32, do_sample=True)`` in the same process
   and with the same settings: temperature 0.8, no top-k/top-p, and exactly 128 tokens per
   sample on both sides (``ignore_eos=True`` for itslab, ``min_new_tokens=128`` for HF), so both
   produce 4,096 tokens. Target: itslab tokens/s >= 1.3x the baseline.
2. Step-wise extension (particle-filter shaped): 8 particles x 6 steps; each step extends every
   particle by one step (stop at a blank line, at most 48 tokens), then particles are resampled
   (uniform multinomial parents, seeded), so children share parents' prefixes. Measured: the
   fraction of prefix tokens served from the prefix cache (target >= 0.9), and wall time of the
   same workload on an engine whose cache is off, which re-prefills every prefix (target
   ratio >= 1.5).

Run: ``ITSLAB_DATA_DIR=/path/to/data python benchmarks/bench_generation.py [--threads N]``.
On a GPU machine, where the weights cannot travel (tools/gpu_check.sh): ``--device cuda
--random-init --model-dir DIR`` builds the embedded model's architecture from DIR/config.json with
seeded random weights (bfloat16 on CUDA) and its tokenizer; both sides generate exactly the same
number of tokens, so tokens/s depends on the shapes, not on the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from itslab import models
from itslab.generators.hf import HFGenerator
from itslab.rng import as_rng
from itslab.types import Request

INSTRUCTION = "Solve the problem step by step, one step per paragraph, then give the final answer."


def gsm8k_question() -> str:
    """The first GSM8K test question (the data is read from ITSLAB_DATA_DIR, never copied here)."""
    d = os.environ.get("ITSLAB_DATA_DIR")
    if not d:
        raise SystemExit("set ITSLAB_DATA_DIR to the folder holding gsm8k/test.jsonl")
    with open(os.path.join(d, "gsm8k", "test.jsonl")) as f:
        return json.loads(f.readline())["question"]


def synced_clock(device: torch.device) -> float:
    """perf_counter after the device's queued work has finished (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def bench_throughput(gen: HFGenerator, prompt: str, n: int, tokens: int) -> dict[str, float]:
    """itslab vs model.generate on n samples x `tokens` forced-length tokens."""
    ids = torch.tensor([gen.encode(prompt)], device=gen.device)
    # warm both paths once (first calls pay one-off allocation and dispatch costs)
    gen.generate([Request(prompt, n=2, max_tokens=4, seed=1)], ignore_eos=True)
    gen.model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        do_sample=True,
        max_new_tokens=4,
        num_return_sequences=2,
        pad_token_id=gen.tokenizer.eos_token_id,
    )
    gen.prefix_cache.clear()

    t0 = synced_clock(gen.device)
    outs = gen.generate([Request(prompt, n=n, max_tokens=tokens, temperature=0.8, seed=0)], ignore_eos=True)[0]
    t_its = synced_clock(gen.device) - t0
    n_its = sum(c.n_tokens for c in outs)

    t0 = synced_clock(gen.device)
    with torch.inference_mode():
        ref = gen.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=True,
            temperature=0.8,
            top_k=0,
            top_p=1.0,
            num_return_sequences=n,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            pad_token_id=gen.tokenizer.eos_token_id,
        )
    t_hf = synced_clock(gen.device) - t0
    n_hf = int(ref[:, ids.shape[1] :].numel())
    return {"its_s": t_its, "its_tok": n_its, "hf_s": t_hf, "hf_tok": n_hf}


def extension_workload(gen: HFGenerator, prompt: str, particles: int, steps: int, seed: int) -> dict[str, float]:
    """Particle-style step extension; returns cache accounting and wall time."""
    rng = as_rng(seed)
    prefixes = [prompt] * particles
    n_prompt = n_cached = n_gen = 0
    t0 = time.perf_counter()
    for s in range(steps):
        reqs = [
            Request(p, n=1, max_tokens=48, stop=("\n\n",), temperature=0.8, seed=1000 * s + i)
            for i, p in enumerate(prefixes)
        ]
        outs = [cs[0] for cs in gen.generate(reqs)]
        n_prompt += sum(c.n_prompt_tokens for c in outs)
        n_cached += sum(c.n_cached_tokens for c in outs)
        n_gen += sum(c.n_tokens for c in outs)
        extended = [p + c.text for p, c in zip(prefixes, outs)]
        parents = sorted(rng.integers(0, particles, particles).tolist())
        prefixes = [extended[k] for k in parents]
    return {"s": time.perf_counter() - t0, "prompt": n_prompt, "cached": n_cached, "gen": n_gen}


def random_init_generator(
    model_dir: str | None, device: str, seed: int, max_batch: int, threads: int | None
) -> HFGenerator:
    """The embedded model's architecture (config.json of `model_dir`, default the installed copy) with
    weights drawn from torch seed `seed`, in the device's default dtype, and its tokenizer."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from itslab.generators.hf.load import resolve_device, resolve_dtype

    d = model_dir or str(models.model_dir("smollm2-135m") / "hf-bf16")
    dev = resolve_device(device)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(d), dtype=resolve_dtype(None, dev))
    tok = AutoTokenizer.from_pretrained(d, local_files_only=True)
    return HFGenerator(
        model.to(dev), tokenizer=tok, model_id="smollm2-135m (random init)", max_batch=max_batch, num_threads=threads
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--particles", type=int, default=8)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    ap.add_argument("--max-batch", type=int, default=64, help="rows itslab decodes together (HFGenerator.max_batch)")
    ap.add_argument(
        "--random-init",
        action="store_true",
        help="the embedded model's architecture, seeded random weights (a GPU machine, where weights cannot travel)",
    )
    ap.add_argument("--model-dir", default=None, help="with --random-init: folder with config.json and the tokenizer")
    args = ap.parse_args()

    if args.random_init:
        gen = random_init_generator(args.model_dir, args.device, args.seed, args.max_batch, args.threads)
    else:
        gen = models.load("smollm2-135m", device=args.device, num_threads=args.threads, max_batch=args.max_batch)
    prompt = gen.chat_prompt([{"role": "user", "content": f"{INSTRUCTION}\n\n{gsm8k_question()}"}])
    cuda = gen.device.type == "cuda"
    where = torch.cuda.get_device_name(gen.device) if cuda else f"{torch.get_num_threads()} CPU threads"
    print(
        f"model {gen.model_id} ({gen.n_params / 1e6:.0f}M params, {gen.dtype}), torch {torch.__version__}, "
        f"{where}, prompt {len(gen.encode(prompt))} tokens"
    )

    tp = bench_throughput(gen, prompt, args.samples, args.tokens)
    its_tps, hf_tps = tp["its_tok"] / tp["its_s"], tp["hf_tok"] / tp["hf_s"]

    cold = HFGenerator(gen.model, tokenizer=gen.tokenizer, cache_bytes=0, max_batch=args.max_batch)
    # untimed warm-up of the step-extension shapes (on CUDA the first such run took 25.8 s, the same
    # workload afterwards 9.3 s: whichever engine ran first paid for it); the cold engine keeps nothing
    extension_workload(cold, prompt, args.particles, 2, args.seed + 1)
    gen.prefix_cache.clear()
    warm_run = extension_workload(gen, prompt, args.particles, args.steps, args.seed)
    cold_run = extension_workload(cold, prompt, args.particles, args.steps, args.seed)
    frac = warm_run["cached"] / warm_run["prompt"]
    cold_frac = cold_run["cached"] / cold_run["prompt"]

    w = 44
    print()
    print(f"{'measure':<{w}} {'itslab':>12} {'baseline':>12} {'ratio':>7}  target")
    print("-" * (w + 48))
    print(
        f"{f'{args.samples}x{args.tokens} sampling: tokens/s':<{w}} {its_tps:>12.1f} {hf_tps:>12.1f} "
        f"{its_tps / hf_tps:>7.2f}  >= 1.3  (baseline: HF model.generate)"
    )
    print(
        f"{'   wall s / generated tokens':<{w}} {tp['its_s']:>6.1f}/{tp['its_tok']:<5d} "
        f"{tp['hf_s']:>6.1f}/{tp['hf_tok']:<5d}"
    )
    print(
        f"{f'{args.particles}x{args.steps} extension: prefix tokens from cache':<{w}} {frac:>12.3f} "
        f"{cold_frac:>12.3f} {'':>7}  >= 0.9  (baseline: cache off)"
    )
    print(
        f"{'   prefix tokens read / served from cache':<{w}} "
        f"{warm_run['prompt'] - warm_run['cached']:>5d}/{warm_run['cached']:<6d} "
        f"{cold_run['prompt'] - cold_run['cached']:>5d}/{cold_run['cached']:<6d}"
    )
    print(
        f"{f'{args.particles}x{args.steps} extension: wall s':<{w}} {warm_run['s']:>12.2f} {cold_run['s']:>12.2f} "
        f"{cold_run['s'] / warm_run['s']:>7.2f}  >= 1.5  (baseline: re-prefill every prefix)"
    )
    print(f"{'   generated tokens':<{w}} {warm_run['gen']:>12d} {cold_run['gen']:>12d}")


if __name__ == "__main__":
    main()
