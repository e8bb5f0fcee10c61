"""Budget forcing on a real model that was never trained to think: the mechanics on GSM8K (notebook 14).

No reasoning model (one with an end-of-thinking delimiter) is available offline, so the end of
"thinking" is the GSM8K answer marker: Qwen2.5-Coder-0.5B (llama.cpp) reasons in words and is
stopped when it writes ``####``. `budget_forcing` then does what s1 does with ``</think>``
(Muennighoff et al. 2025, arXiv:2501.19393): strip it and append "Wait" to extend, or append it
after `max_thinking_tokens` to force the answer, probing the answer before each "Wait". Decoding
is greedy. The record keeps numbers only (answers, correctness, tokens), never question text.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from itslab.budget import Budget
from itslab.rng import problem_rng
from itslab.strategies import get
from itslab.tasks.checking import check_answer
from itslab.trace import Result
from itslab.types import Problem

_COMMON = {
    "think_end": "####",
    "answer_prompt": " ",
    "max_answer_tokens": 12,
    "answer_stop": ("\n",),
    "temperature": 0.0,
}
CONFIGS: Mapping[str, Mapping[str, Any]] = {
    "wait x2 (probed)": {**_COMMON, "n_waits": 2, "probe_answers": True, "max_thinking_tokens": 384},
    "cap 32": {**_COMMON, "max_thinking_tokens": 32},
    "cap 96": {**_COMMON, "max_thinking_tokens": 96},
}
"""What the recorded run does: two "Wait"s with the answer probed before each, and two thinking caps."""


def default_path(model: str = "qwen2.5-coder-0.5b") -> Path:
    """data/budget_forcing/gsm8k-<model>.json in the checkout."""
    return Path(__file__).resolve().parents[2] / "data" / "budget_forcing" / f"gsm8k-{model}.json"


def _number(answer: str | None) -> str | None:
    """`answer` as a canonical number string, None when it is not one (the record keeps numbers only)."""
    if answer is None:
        return None
    try:
        x = float(answer.replace(",", "").strip("$ ."))
    except ValueError:
        return None
    if not math.isfinite(x):
        return None
    return str(int(round(x))) if abs(x - round(x)) < 1e-6 else f"{x:g}"


def row_of(problem: Problem, config: str, result: Result) -> dict[str, Any]:
    """One record row: the answer after each probe and at the end, correctness, tokens and the ledger."""
    c = result.candidates[0]
    answers = [*c.meta.get("probe_answers", ()), c.answer]
    u = result.usage
    return {
        "problem_id": problem.id,
        "config": config,
        "answers": [_number(a) for a in answers],
        "correct": [bool(check_answer(problem, a)) for a in answers],
        "thinking_tokens": int(c.meta["thinking_tokens"]),
        "probe_thinking_tokens": [*map(int, c.meta.get("probe_thinking_tokens", ())), int(c.meta["thinking_tokens"])],
        "answer_tokens": int(c.meta["answer_tokens"]),
        "n_waits": int(c.meta["n_waits"]),
        "forced_end": bool(c.meta["forced_end"]),
        "inserted_tokens": int(c.meta["inserted_tokens"]),
        "calls": sum(1 for s in result.trace if "max_sample_tokens" in s.info),
        "samples": int(u.samples),
        "prompt_tokens": int(u.prompt_tokens),
        "cached_tokens": int(u.cached_tokens),
        "generated_tokens": int(u.generated_tokens),
    }


def run_units(
    generator: Any,
    units: Sequence[tuple[Problem, str]],
    *,
    n_workers: int = 8,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    configs: Mapping[str, Mapping[str, Any]] = CONFIGS,
) -> list[dict[str, Any]]:
    """Run `budget_forcing` on each (problem, config) unit, `n_workers` at a time with their engine
    calls merged (`experiments.batching.Coalescer`); `on_row` sees each row as it is done."""
    from itslab.experiments.batching import Coalescer

    fn, lock, rows = get("budget_forcing"), threading.Lock(), []
    queue = list(units)
    shared = Coalescer(generator, max(1, min(n_workers, len(queue))))

    def work() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    problem, config = queue.pop(0)
                r = fn(problem, shared, None, Budget(samples=64), problem_rng(0, problem.id), **configs[config])
                row = row_of(problem, config, r)
                with lock:
                    rows.append(row)
                    if on_row is not None:
                        on_row(row)
        finally:
            shared.leave()

    threads = [threading.Thread(target=work) for _ in range(max(1, min(n_workers, len(queue))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows


def write(rows: Iterable[Mapping[str, Any]], path: Path, meta: Mapping[str, Any]) -> Path:
    """Write the rows and `meta` as one JSON file (atomically: a partial record is never left half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"meta": dict(meta), "rows": list(rows)}, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_record(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and meta written by `write`."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.DataFrame(payload["rows"]), payload["meta"]


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per config: final accuracy, mean thinking tokens, share of forced ends, waits, tokens read and cached."""
    g = df.assign(final=df["correct"].map(lambda c: bool(c[-1]))).groupby("config")
    return pd.DataFrame(
        {
            "accuracy": g["final"].mean(),
            "thinking_tokens": g["thinking_tokens"].mean(),
            "forced_end": g["forced_end"].mean(),
            "n_waits": g["n_waits"].mean(),
            "calls": g["calls"].mean(),
            "prompt_tokens": g["prompt_tokens"].mean(),
            "cached_tokens": g["cached_tokens"].mean(),
            "inserted_tokens": g["inserted_tokens"].mean(),
            "n": g.size(),
        }
    )


def _padded(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """Per trace, the value after 0, 1, ... "Wait"s; a trace the thinking cap stopped before its
    last "Wait" keeps its final (forced) answer for the rest."""
    lists = [list(r) for r in rows]
    width = max(len(r) for r in lists)
    return [r + [r[-1]] * (width - len(r)) for r in lists]


def by_wait(df: pd.DataFrame, config: str = "wait x2 (probed)") -> pd.DataFrame:
    """After 0, 1, 2 "Wait"s on the probed traces (paired: the same traces): accuracy ± SE, the share
    of traces a "Wait" fixed (wrong before, right after) and broke (right before, wrong after), and
    mean thinking tokens."""
    part = df[df["config"] == config]
    ok = np.array(_padded(part["correct"]), dtype=bool)
    tokens = np.array(_padded(part["probe_thinking_tokens"]), dtype=float)
    before = np.column_stack([ok[:, :1], ok[:, :-1]])
    return pd.DataFrame(
        {
            "n_waits": np.arange(ok.shape[1]),
            "accuracy": ok.mean(axis=0),
            "se": ok.std(axis=0, ddof=1) / np.sqrt(len(ok)) if len(ok) > 1 else np.nan,
            "fixed": (~before & ok).mean(axis=0),
            "broken": (before & ~ok).mean(axis=0),
            "thinking_tokens": tokens.mean(axis=0),
        }
    )


def paired_change(df: pd.DataFrame, column: str, config: str = "wait x2 (probed)") -> tuple[float, float]:
    """Mean change of `column` ("correct" or "probe_thinking_tokens") from no "Wait" to the last, with
    its SE over the traces (paired)."""
    x = np.array(_padded(df.loc[df["config"] == config, column]), dtype=float)
    d = x[:, -1] - x[:, 0]
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
