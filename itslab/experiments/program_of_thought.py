"""Chain-of-thought vs program-of-thought on GSM8K with a real model (notebook 12).

The model answers each problem twice: in words (the benchmark's CoT prompt, ending ``#### N``)
and as a Python program that stores its result in ``answer`` (program-of-thought, Chen et al.
2022; used as a verifier of the CoT answer by Liang et al. 2024, arXiv:2410.05318, "CoTnPoT").
The program runs in `itslab.verifiers.sandbox`. The record keeps answers and correctness only,
never question text (`record`, `load_record`).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from itslab.protocols import prompt_for
from itslab.types import Problem, Request

POT_PROMPT = (
    "Write a Python program that solves the following problem. Store the final numeric answer in a "
    "variable named `answer`. Reply with one ```python code block only.\n\nProblem: {question}"
)
_PRINT = "print('ITSLAB_ANSWER=' + repr(answer))"
_NUMBER = re.compile(r"ITSLAB_ANSWER=(.*)")


def default_path(model: str = "qwen2.5-coder-0.5b") -> Path:
    """data/program_of_thought/gsm8k-<model>.json in the checkout."""
    return Path(__file__).resolve().parents[2] / "data" / "program_of_thought" / f"gsm8k-{model}.json"


def pot_problem(problem: Problem) -> Problem:
    """The program-of-thought prompt for a GSM8K problem (one user turn)."""
    q = str(problem.meta.get("question", problem.prompt))
    text = POT_PROMPT.format(question=q)
    return Problem(id=problem.id + "/pot", prompt=text, answer=problem.answer, meta={}, messages=None)


def run_program(text: str, timeout: float = 5.0) -> tuple[str | None, str]:
    """(the program's ``answer`` formatted as a number, the sandbox's reason) for a model's reply."""
    from itslab.verifiers.code_execution import extract_code
    from itslab.verifiers.sandbox import run_python

    r = run_python(extract_code(text), [_PRINT], timeout=timeout)
    m = _NUMBER.search(r.stdout or "")
    if not r.passed or m is None:
        return None, r.reason
    return _as_number(m.group(1).strip()), r.reason


def _as_number(value: str) -> str | None:
    """`value` as a canonical number string (``"18"``, ``"2.5"``), None when it is not one: the record
    keeps numbers only, never a free-text answer that may echo the question."""
    try:
        x = float(value.strip("'\""))
    except ValueError:
        return None
    if not math.isfinite(x):
        return None
    return str(int(round(x))) if abs(x - round(x)) < 1e-6 else f"{x:g}"


def compare(gen: Any, problems: Sequence[Problem], *, max_tokens: int = 320, seed: int = 0) -> pd.DataFrame:
    """One row per problem: greedy CoT and PoT answers (numbers only), each graded on the full answer."""
    from itslab.tasks.checking import answer_of, check_answer

    reqs = [
        Request(prefix=prompt_for(p, gen), n=1, max_tokens=max_tokens, temperature=0.0, seed=seed) for p in problems
    ]
    reqs += [
        Request(prefix=prompt_for(pot_problem(p), gen), n=1, max_tokens=max_tokens, temperature=0.0, seed=seed)
        for p in problems
    ]
    outs = gen.generate(reqs)
    rows = []
    for p, cot, pot in zip(problems, outs[: len(problems)], outs[len(problems) :]):
        cot_answer = answer_of(p, cot[0].text)
        pot_answer, reason = run_program(pot[0].text)
        rows.append(
            {
                "problem_id": p.id,
                "cot_answer": _as_number(cot_answer.replace(",", "").strip("$ ")) if cot_answer else None,
                "pot_answer": pot_answer,
                "cot_correct": bool(check_answer(p, cot_answer)),
                "pot_correct": bool(check_answer(p, pot_answer)),
                "pot_ran": reason == "passed",
                "cot_tokens": cot[0].n_tokens,
                "pot_tokens": pot[0].n_tokens,
            }
        )
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Accuracy (± SE) of CoT, PoT, and CoT answers where PoT agrees; the phi correlation of their errors."""
    from itslab.verifiers.combined import error_correlation

    agree = (df["cot_answer"] == df["pot_answer"]) & df["pot_answer"].notna()
    rows = {
        "CoT accuracy": df["cot_correct"],
        "PoT accuracy": df["pot_correct"],
        "PoT program ran": df["pot_ran"],
        "CoT and PoT agree": agree,
        "CoT accuracy where PoT agrees": df.loc[agree, "cot_correct"],
        "CoT accuracy where PoT disagrees": df.loc[~agree, "cot_correct"],
    }
    out = pd.DataFrame(
        {k: {"value": float(v.mean()) if len(v) else float("nan"), "se": _se(v), "n": len(v)} for k, v in rows.items()}
    ).T
    rho = error_correlation(~df["cot_correct"].to_numpy(bool), ~df["pot_correct"].to_numpy(bool))
    out.loc["error correlation (phi)"] = {"value": rho, "se": float("nan"), "n": len(df)}
    return out


def _se(v: pd.Series) -> float:
    x = np.asarray(v, dtype=float)
    return float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def record(df: pd.DataFrame, path: Path, meta: dict[str, Any]) -> Path:
    """Write the rows (answers and correctness only) and `meta` as one JSON file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "rows": json.loads(df.to_json(orient="records"))}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path


def load_record(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and meta written by `record`."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.DataFrame(payload["rows"]), payload["meta"]


def agreement_gap(df: pd.DataFrame) -> tuple[float, float]:
    """CoT accuracy where the program agrees minus where it does not, with its (unpaired) SE."""
    agree = ((df["cot_answer"] == df["pot_answer"]) & df["pot_answer"].notna()).to_numpy(bool)
    ok = df["cot_correct"].to_numpy(float)
    a, b = ok[agree], ok[~agree]
    if len(a) == 0 or len(b) == 0:
        return float("nan"), float("nan")
    se = np.sqrt(a.mean() * (1 - a.mean()) / len(a) + b.mean() * (1 - b.mean()) / len(b))
    return float(a.mean() - b.mean()), float(se)
