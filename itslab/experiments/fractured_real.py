"""Notebook 15's real-model run: Qwen2.5-Coder-0.5B's GSM8K chains of thought, truncated and answered.

The trajectories are the recorded samples of bank ``gsm8k-qwen05-t0.8`` (T = 0.8, chat template).
Each is re-tokenised with the model's tokenizer and cut at a fraction of its tokens (0 = no chain of
thought at all; the whole chain's answer is its own); `ANSWER_PROMPT` is appended (the task's answer
line: these are plain chains of thought, no ``</think>``) and m answers are decoded live, ≤ `MAX_TOKENS` tokens,
through llama.cpp with prefix caching (`itslab.generators.truncation`; Liao et al. 2025,
arXiv:2505.12992). `record` is resumable problem by problem; the record holds answers (numbers
only), correctness and token counts, never question or completion text.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

BANK, MODEL = "gsm8k-qwen05-t0.8", "qwen2.5-coder-0.5b"
FRACTIONS = (0.0, 0.25, 0.5, 0.75)
ANSWER_PROMPT = "\n\n#### <answer>"  # the task's answer line, as the prompt asks for it ('#### <answer>')
MAX_TOKENS, STOP = 6, ("<", "\n")


def default_path(model: str = MODEL) -> Path:
    """data/fractured/gsm8k-<model>.json in the checkout."""
    return Path(__file__).resolve().parents[2] / "data" / "fractured" / f"gsm8k-{model}.json"


def bank_frame(name: str = BANK) -> pd.DataFrame:
    """The bank's sample rows: the finished bank, else the parts committed so far (read only)."""
    from itslab import banks

    try:
        return banks.load(name).frame
    except banks.BankError:
        return banks.load_parts(name).frame


def numeric(answer: str | None) -> str | None:
    """`answer` as a canonical number string, None when it is not a number (the record keeps numbers only)."""
    if answer is None:
        return None
    try:
        x = float(str(answer).replace(",", "").strip("$ "))
    except ValueError:
        return None
    if not math.isfinite(x):
        return None
    return str(int(round(x))) if abs(x - round(x)) < 1e-6 else f"{x:g}"


def record_problem(
    gen: Any, problem: Any, samples: pd.DataFrame, *, m: int, seed: int, fractions: Sequence[float] = FRACTIONS
) -> tuple[list[dict], list[dict]]:
    """(trajectory rows, answer rows) of one problem: each sample cut at each fraction, m answers per cut."""
    from itslab.protocols import prompt_for
    from itslab.tasks.checking import answer_of, check_answer
    from itslab.types import Request

    prompt, ap = prompt_for(problem, gen), ANSWER_PROMPT
    ids = [gen.encode_plain(t) for t in samples["text"]]
    trajs = [
        {
            "problem_id": problem.id,
            "trajectory": int(r.sample_index),
            "tokens": len(t),
            "bank_tokens": int(r.generated_tokens),
            "finish_reason": str(r.finish_reason),
            "own_answer": numeric(r.answer),
            "own_correct": bool(r.correct),
        }
        for r, t in zip(samples.itertuples(), ids)
    ]
    rows: list[dict] = []
    for k, f in enumerate(fractions):  # shallow to deep: each cut's prefix extends the cached previous one
        if f == 0.0:  # no chain of thought: one request for all trajectories
            plan = [(-1, 0, prompt + ap, m * len(ids))]
        else:
            cuts = [(tr["trajectory"], int(f * len(t)), t) for tr, t in zip(trajs, ids)]
            plan = [(j, d, prompt + gen.detokenize(t[:d]) + ap, m) for j, d, t in cuts]
        reqs = [
            Request(p, n=mm, max_tokens=MAX_TOKENS, temperature=0.8, seed=seed + 97 * k + 7 * (j + 1), stop=STOP)
            for j, _, p, mm in plan
        ]
        for (j, d, _, _), out in zip(plan, gen.generate(reqs)):
            for i, c in enumerate(out):
                a = answer_of(problem, ap + c.text)
                rows.append(
                    {
                        "problem_id": problem.id,
                        "trajectory": j,
                        "fraction": f,
                        "cut_tokens": d,
                        "answer_index": i,
                        "answer": numeric(a),
                        "correct": bool(check_answer(problem, a)),
                        "n_tokens": c.n_tokens,
                        "prompt_tokens": c.n_prompt_tokens,
                        "cached_tokens": c.n_cached_tokens,
                    }
                )
    return trajs, rows


def _write(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=0) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # never a half-written record


def record(
    path: Path,
    gen: Any,
    problems: Sequence[Any],
    frame: pd.DataFrame,
    *,
    n_trajectories: int,
    m: int,
    meta: dict,
    max_seconds: float = math.inf,
) -> Path:
    """Record each problem not yet in `path` (resumable), stopping after the problem that passes `max_seconds`."""
    payload: dict[str, Any] = (
        json.loads(path.read_text()) if path.is_file() else {"meta": meta, "trajectories": [], "answers": []}
    )
    done = {r["problem_id"] for r in payload["trajectories"]}
    start = time.time()
    for pr in problems:
        if pr.id in done:
            continue
        rows = frame[(frame["problem_id"] == pr.id) & (frame["sample_index"] < n_trajectories)].sort_values(
            "sample_index"
        )
        if len(rows) < n_trajectories:
            continue  # the bank has not reached this problem yet
        t0 = time.time()
        trajs, answers = record_problem(gen, pr, rows, m=m, seed=1000 * int(rows["problem_index"].iloc[0]))
        payload["trajectories"] += trajs
        payload["answers"] += answers
        wall = payload["meta"].get("wall_s", 0.0) + time.time() - t0
        payload["meta"] = {
            **payload["meta"],
            **meta,
            "wall_s": round(wall, 1),
            "n_problems": len(done := done | {pr.id}),
        }
        _write(path, payload)
        if time.time() - start > max_seconds:
            break
    return path


def load_record(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(trajectories, answers, meta) written by `record`."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.DataFrame(payload["trajectories"]), pd.DataFrame(payload["answers"]), payload["meta"]


def anytime_table(trajs: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Per cut fraction: accuracy of the forced answers (± SE over problems), mean kept tokens, and the
    accuracy of the chain of thought stopped at the same number of tokens (right only if it had finished)."""
    rows = []
    for f, g in answers.groupby("fraction"):
        per = g.groupby("problem_id")["correct"].mean()
        cut = g[g["trajectory"] >= 0].merge(trajs, on=["problem_id", "trajectory"])
        if len(cut):
            fin = cut.drop_duplicates(["problem_id", "trajectory"])
            stopped = (fin["tokens"] <= fin["cut_tokens"]) & fin["own_correct"]
            kept = float(fin["cut_tokens"].mean())
            plain = float(stopped.groupby(fin["problem_id"]).mean().mean())
        else:
            kept, plain = 0.0, 0.0
        rows.append(
            {
                "fraction": f,
                "forced": float(per.mean()),
                "se": float(per.std(ddof=1) / np.sqrt(len(per))),
                "kept_tokens": kept,
                "cut_cot": plain,
                "problems": len(per),
            }
        )
    own = trajs.groupby("problem_id")["own_correct"].mean()
    rows.append(
        {
            "fraction": "own",
            "forced": float(own.mean()),
            "se": float(own.std(ddof=1) / np.sqrt(len(own))),
            "kept_tokens": float(trajs["tokens"].mean()),
            "cut_cot": float(own.mean()),
            "problems": len(own),
        }
    )
    return pd.DataFrame(rows)


def fixed_budget(trajs: pd.DataFrame, answers: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """Fractured CoT's figure 2 on the record: at a budget of B generated tokens per sample, the chain of thought
    alone (right only if it finished within B) against truncate-and-answer (its own answer if it finished, else
    the first forced answer at its deepest recorded cut within B; the no-thinking answer at worst), per
    problem, with the paired difference and its SE over problems."""
    m = int(answers.loc[answers["fraction"] > 0, "answer_index"].max()) + 1
    first = answers[answers["answer_index"] % m == 0].copy()
    zero = first["fraction"] == 0.0  # m·n answers of one request: the i-th m belong to trajectory i
    first.loc[zero, "trajectory"] = first.loc[zero, "answer_index"] // m
    first = first.merge(trajs[["problem_id", "trajectory", "tokens", "own_correct"]], on=["problem_id", "trajectory"])
    rows = []
    for b in budgets:
        fits = first[first["cut_tokens"] <= b].sort_values("cut_tokens", kind="stable")
        deepest = fits.groupby(["problem_id", "trajectory"])["correct"].last()
        t = trajs.set_index(["problem_id", "trajectory"])
        done = t["tokens"] <= b
        plain = done & t["own_correct"]
        trunc = plain | (~done & deepest.reindex(t.index).fillna(False).astype(bool))
        per = pd.DataFrame({"plain": plain, "truncated": trunc}).groupby(level="problem_id").mean()
        d = per["truncated"] - per["plain"]
        rows.append(
            {
                "budget": b,
                "cot": float(per["plain"].mean()),
                "truncated": float(per["truncated"].mean()),
                "gap": float(d.mean()),
                "se": float(d.std(ddof=1) / np.sqrt(len(d))),
                "problems": len(per),
            }
        )
    return pd.DataFrame(rows)


def per_trajectory(trajs: pd.DataFrame, answers: pd.DataFrame, fractions: Sequence[float], m: int = 1) -> pd.DataFrame:
    """Per trajectory: whether its own answer or any of the first `m` forced answers at `fractions` is right,
    and the generated tokens that costs (the trajectory plus the answers' tokens)."""
    sub = answers[
        answers["fraction"].isin(list(fractions)) & (answers["answer_index"] < m) & (answers["trajectory"] >= 0)
    ]
    agg = sub.groupby(["problem_id", "trajectory"]).agg(hit=("correct", "any"), extra=("n_tokens", "sum"))
    out = trajs.set_index(["problem_id", "trajectory"]).join(agg).fillna({"hit": False, "extra": 0})
    out["covered"] = out["own_correct"] | out["hit"].astype(bool)
    out["generated"] = out["bank_tokens"] + out["extra"]
    return out.reset_index()


def axis_comparison(trajs: pd.DataFrame, answers: pd.DataFrame, fractions: Sequence[float] = (0.25, 0.5, 0.75)) -> dict:
    """One trajectory plus forced answers at `fractions` (the H axis) against two trajectories (the n axis):
    coverage per problem, generated tokens, the prefix tokens the cuts re-read uncached (``read H``, per
    trajectory), and the per-problem gains over one trajectory with their SEs."""
    one = per_trajectory(trajs, answers, [])
    h = per_trajectory(trajs, answers, fractions)
    cov1 = one.groupby("problem_id")["covered"].mean()
    covh = h.groupby("problem_id")["covered"].mean()
    # two trajectories: pass@2 over each problem's recorded trajectories (unbiased estimator)
    k = trajs.groupby("problem_id")["own_correct"].agg(["sum", "count"])
    cov2 = 1.0 - k.apply(lambda r: math.comb(int(r["count"] - r["sum"]), 2) / math.comb(int(r["count"]), 2), axis=1)
    gain_h, gain_n = covh - cov1, cov2 - cov1
    tok1 = float(one["generated"].mean())
    # prefix tokens the cuts read uncached (the first answer of each request reads it; the rest hit the cache)
    firsts = answers[answers["fraction"].isin(list(fractions)) & (answers["answer_index"] == 0)]
    read = float((firsts["prompt_tokens"] - firsts["cached_tokens"]).sum() / len(trajs))
    return {
        "pass@1": float(cov1.mean()),
        "H": float(covh.mean()),
        "n=2": float(cov2.mean()),
        "tokens@1": tok1,
        "tokens H": float(h["generated"].mean()),
        "tokens n=2": 2 * tok1,
        "read H": read,
        "gain H": (float(gain_h.mean()), float(gain_h.std(ddof=1) / np.sqrt(len(gain_h)))),
        "gain n": (float(gain_n.mean()), float(gain_n.std(ddof=1) / np.sqrt(len(gain_n)))),
        "problems": len(cov1),
    }


__all__ = [
    "ANSWER_PROMPT",
    "BANK",
    "FRACTIONS",
    "MODEL",
    "anytime_table",
    "axis_comparison",
    "bank_frame",
    "default_path",
    "fixed_budget",
    "load_record",
    "numeric",
    "per_trajectory",
    "record",
    "record_problem",
]
