"""Notebook 17's experiments: speculative reasoning on a real model pair and on the step-wise simulator.

- `record_real`: SmolLM2-135M drafting, Qwen2.5-Coder-0.5B scoring and falling back (llama.cpp),
  against each model alone (the same strategy at thresholds 0 and 10), on synthetic arithmetic;
  one CSV row per (problem, method), appended as it finishes, so an interrupted recording resumes.
  The machine is shared (a background bank recording), so each row keeps the load average and
  the three methods run back to back per problem, in a rotating order, with cleared caches.
- `run_lens` / `record_lens` / `load_lens`: the logit lens of SmolLM2-135M over Python code (early
  exit, Sun et al. 2024), kept as per-layer flags only.
The simulator side lives in `itslab.experiments.speculative_sim`.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from itslab.budget import Budget
from itslab.rng import problem_rng

DRAFTER, TARGET = "smollm2-135m", "qwen2.5-coder-0.5b"
METHODS: dict[str, float | None] = {"drafter": 0.0, "speculative": None, "target": 10.0}  # None: the threshold
REAL_SETTINGS: dict[str, Any] = dict(
    drafter=DRAFTER, target=TARGET, task="arithmetic", difficulty=2, seed=0, template="zero_shot_boxed",
    threshold=7.0, max_steps=8, max_step_tokens=96, max_tokens=192, temperature=0.0, delimiter="\n\n",
)  # fmt: skip


def real_file() -> Path:
    """data/speculative/arith-smollm2-qwen05.csv in the checkout (settings in the ``.json`` beside it)."""
    return Path(__file__).resolve().parents[2] / "data" / "speculative" / "arith-smollm2-qwen05.csv"


def _trace_row(r: Any) -> dict[str, Any]:
    """Per-kind counts, tokens and wall seconds of one Result's trace."""
    out: dict[str, Any] = {}
    for kind in ("draft", "score", "target"):
        recs = [s for s in r.trace if s.kind == kind]
        out[f"n_{kind}"] = len(recs)
        out[f"{kind}_tokens"] = int(sum(s.usage.generated_tokens + s.usage.verifier_tokens for s in recs))
        out[f"{kind}_wall_s"] = float(sum(s.usage.wall_time for s in recs))
    verdicts = [s for s in r.trace if s.kind == "verdict"]
    out["n_kept"] = int(sum(bool(s.info.get("kept")) for s in verdicts))
    return out


def record_real(
    path: str | Path | None = None, *, n_problems: int = 16, n_threads: int = 1, force: bool = False
) -> pd.DataFrame:
    """Record (or resume) the real comparison into `path`; returns every row recorded so far."""
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.generators.pair import ModelPair
    from itslab.strategies import get
    from itslab.tasks.prompts import with_template
    from itslab.tasks.synthetic import make

    path = Path(path or real_file())
    sidecar = path.with_suffix(".json")
    s = REAL_SETTINGS
    same = sidecar.is_file() and json.loads(sidecar.read_text()) == s
    if force or not same:
        path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text(json.dumps(s, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    done = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["problem_id", "method"])
    have = set(zip(done["problem_id"], done["method"]))
    made = make(s["task"], n_problems, difficulty=s["difficulty"], seed=s["seed"])
    problems = [with_template(p, s["template"]) for p in made]
    pair = ModelPair(
        *(LlamaCppGenerator(s[r], n_threads=n_threads, n_ctx=4096, max_batch=2) for r in ("drafter", "target"))
    )
    fn = get("speculative_reasoning")
    hyper = {k: s[k] for k in ("max_steps", "max_step_tokens", "max_tokens", "temperature", "delimiter")}
    try:
        for i, p in enumerate(problems):
            names = list(METHODS)
            for j in range(len(names)):
                method = names[(i + j) % len(names)]  # rotate the order: load drifts hit every method
                if (p.id, method) in have:
                    continue
                th = s["threshold"] if METHODS[method] is None else METHODS[method]
                pair.drafter.clear_cache()
                pair.target.clear_cache()
                t0, c0 = time.perf_counter(), time.process_time()
                r = fn(p, pair, None, Budget(samples=4 * s["max_steps"]), problem_rng(s["seed"], p.id), threshold=th,
                       **hyper)  # fmt: skip
                row = {"problem_id": p.id, "method": method, "threshold": th, "order": j, "correct": bool(r.correct),
                       "answer": _number(r.answer), "wall_s": time.perf_counter() - t0,
                       "cpu_s": time.process_time() - c0,
                       "n_steps": int(r.trace[-1].info["n_steps"]), "finished": r.trace[-1].info["stop"] == "done",
                       **_trace_row(r), "load1": os.getloadavg()[0]}  # fmt: skip
                pd.DataFrame([row]).to_csv(path, mode="a", header=not path.is_file(), index=False)
    finally:
        pair.drafter.close()
        pair.target.close()
    return pd.read_csv(path)


def _number(answer: str | None) -> str | None:
    """The answer's last number (the record keeps numbers only, never free text)."""
    found = re.findall(r"-?\d+(?:\.\d+)?", (answer or "").replace(",", ""))
    return found[-1] if found else None


def load_real(path: str | Path | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The recorded rows and their settings."""
    path = Path(path or real_file())
    return pd.read_csv(path), json.loads(path.with_suffix(".json").read_text())


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per method: accuracy, wall seconds per problem, steps, share of drafts kept, load average."""
    g = df.groupby("method")
    out = pd.DataFrame(
        {
            "accuracy": g["correct"].mean(),
            "wall_s": g["wall_s"].mean(),
            "steps": g["n_steps"].mean(),
            "kept": g["n_kept"].sum() / g["n_draft"].sum().replace(0, np.nan),
            "load1": g["load1"].mean(),
            "n": g.size(),
        }
    )
    return out.reindex([m for m in METHODS if m in out.index])


def paired(
    df: pd.DataFrame, a: str, b: str, *, time: str = "wall_s", n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Paired over the problems both methods ran: speed-up of `a` over `b` (total `time` of `b` over
    total of `a`) and accuracy gap (`a` minus `b`), with bootstrap / binomial SEs over problems."""
    t = df.pivot(index="problem_id", columns="method", values=time)[[a, b]].dropna()
    c = df.pivot(index="problem_id", columns="method", values="correct")[[a, b]].loc[t.index].astype(float)
    ta, tb = t[a].to_numpy(), t[b].to_numpy()
    idx = np.random.default_rng(seed).integers(0, len(t), size=(n_boot, len(t)))
    gap = (c[a] - c[b]).to_numpy()
    return {
        "speedup": float(tb.sum() / ta.sum()),
        "speedup_se": float((tb[idx].sum(1) / ta[idx].sum(1)).std(ddof=1)),
        "accuracy_gap": float(gap.mean()),
        "accuracy_gap_se": float(gap.std(ddof=1) / np.sqrt(len(gap))) if len(gap) > 1 else float("nan"),
        "n": float(len(t)),
    }


def step_costs(df: pd.DataFrame) -> dict[str, float]:
    """What the recording measured per unit (wall seconds): a drafter token, a target token, a drafted
    step, a score, a target step, and the share of drafts kept; ``drafter_ratio`` is a drafter token's
    time over a target token's (the drafter latency of the token-level latency model)."""
    spec, tgt, dr = (df[df["method"] == m] for m in ("speculative", "target", "drafter"))
    out = {
        "drafter_token_s": float(dr["draft_wall_s"].sum() / dr["draft_tokens"].sum()),
        "target_token_s": float(tgt["target_wall_s"].sum() / tgt["target_tokens"].sum()),
        "draft_step_s": float(spec["draft_wall_s"].sum() / spec["n_draft"].sum()),
        "score_s": float(spec["score_wall_s"].sum() / spec["n_score"].sum()),
        "target_step_s": float(tgt["target_wall_s"].sum() / tgt["n_target"].sum()),
        "kept": float(spec["n_kept"].sum() / spec["n_draft"].sum()),
    }
    out["drafter_ratio"] = out["drafter_token_s"] / out["target_token_s"]
    # SpecReason's per-step latency d + v + (1 - kept) T against the target's T
    out["predicted_speedup"] = out["target_step_s"] / (
        out["draft_step_s"] + out["score_s"] + (1 - out["kept"]) * out["target_step_s"]
    )
    return out


# --- early exit: the logit lens on code -----------------------------------------------------------
LENS_MODULES = ("textwrap", "shlex", "bisect", "heapq", "fractions", "calendar", "string", "queue")


def lens_texts(n_texts: int = len(LENS_MODULES)) -> list[str]:
    """Python code to read (Sun et al. 2024 study code completion): the standard library's source of
    `LENS_MODULES`, from each module's first ``def``/``class`` on (skipping licence and docstring)."""
    import importlib
    import inspect

    out = []
    for name in LENS_MODULES[:n_texts]:
        src = inspect.getsource(importlib.import_module(name))
        starts = [i for i in (src.find("\ndef "), src.find("\nclass ")) if i >= 0]
        out.append(src[min(starts) + 1 :] if starts else src)
    return out


def lens_file() -> Path:
    """data/speculative/lens-smollm2.npz in the checkout (flags only, no token ids)."""
    return real_file().with_name("lens-smollm2.npz")


def run_lens(gen: Any, n_texts: int, max_tokens: int) -> Any:
    """`logit_lens` over the first `max_tokens` positions of each of `n_texts` code texts, concatenated."""
    from itslab.generators.hf.lens import concat, logit_lens

    return concat([logit_lens(gen, t, max_tokens=max_tokens) for t in lens_texts(n_texts)])


def record_lens(readout: Any, path: str | Path | None = None, **meta: Any) -> Path:
    """Write a `LensReadout`'s flags (bit-packed) and `meta` to an ``.npz``."""
    path = Path(path or lens_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, agree=np.packbits(readout.agree, axis=1), correct=np.packbits(readout.correct, axis=1),
                        n_positions=readout.agree.shape[1], meta=json.dumps(meta))  # fmt: skip
    return path


def load_lens(path: str | Path | None = None) -> tuple[Any, dict[str, Any]]:
    """The `LensReadout` and meta written by `record_lens`."""
    from itslab.generators.hf.lens import LensReadout

    z = np.load(Path(path or lens_file()))
    n = int(z["n_positions"])
    flags = [np.unpackbits(z[k], axis=1, count=n).astype(bool) for k in ("agree", "correct")]
    return LensReadout(*flags), json.loads(str(z["meta"]))
