"""Notebook 11's probe-based early exit (Dynasor-CoT, Fu et al., arXiv:2412.20993): simulator, recording, real run.

`record_traces` runs ``probe_early_exit`` with a window no trace can fill, so each trace runs to
its end with a probe every `interval` tokens, and keeps one row per trace (probe positions, answer
classes, probe tokens, correctness and the ledger). `probe_record` turns the rows into a
`itslab.scaling.probe_exit.ProbeRecord` that replays every (interval multiple, window) rule.
`calibrate_settle_mean` fits the simulator's mean settle point so that probe exit saves a target
share of thinking tokens (the paper's 29 %). The real run (Qwen2.5-Coder-0.5B on GSM8K, llama.cpp,
`tools/record_11_dynasor.py`) is stored as numbers only: a probe answer that is not a number is
kept as a short hash, so agreement can be replayed without storing model text (`save`, `load`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from itslab.budget import Budget
from itslab.rng import problem_rng
from itslab.scaling.probe_exit import ProbeRecord
from itslab.types import Problem

FU_TOKEN_SAVING = 0.29
"""Dynasor-CoT: 29 % fewer tokens dataset-wide at baseline accuracy (AMC23, AIME24, MATH500)."""
FU_UP_TO = 0.50
"""Certaindex in Dynasor: "up to 50% compute savings ... with no accuracy drop" (abstract)."""
PAPER_INTERVAL, PAPER_WINDOW = 64, 3  # Dynasor's default ("mid") saving effort: 3 agreeing probes, 64-token chunks
NEVER = 10**6  # a window no trace can fill: the trace runs to its end with every probe recorded


def record_traces(
    generator: Any,
    problems: Sequence[Problem],
    *,
    interval: int,
    max_tokens: int,
    seed: int = 0,
    **hyper: Any,
) -> pd.DataFrame:
    """One row per problem: its trace run to the end with a probe every `interval` tokens (see module)."""
    from itslab.strategies import get
    from itslab.tasks.checking import check_answer

    fn = get("probe_early_exit")
    rows = []
    for p in problems:
        r = fn(
            p,
            generator,
            None,
            Budget(samples=10**9),
            problem_rng(seed, p.id),
            probe_interval=interval,
            window=NEVER,
            max_tokens=max_tokens,
            **hyper,
        )
        info = r.trace[-1].info
        probes = info["probes"][0] if info["probes"] else ()
        answers = [a for _, a, _ in probes]
        ids = answer_ids(answers, p)
        tokens = _probe_tokens(r)
        rows.append(
            {
                "problem_id": p.id,
                "think_tokens": int(info["trace_tokens"][0]),
                "finished": _finished(r, max_tokens),
                "answer": r.answer,
                "correct": bool(r.correct),
                "positions": [int(x) for x, _, _ in probes],
                "probe_answers": answers,
                "probe_ids": [(-1 if h else int(i)) for i, (_, _, h) in zip(ids, probes)],
                "probe_tokens": tokens,
                "probe_correct": [bool(check_answer(p, a)) for a in answers],
                "prompt_tokens": r.usage.prompt_tokens,
                "cached_tokens": r.usage.cached_tokens,
                "generated_tokens": r.usage.generated_tokens,
            }
        )
    return pd.DataFrame(rows)


def sim_traces(
    generator: Any,
    problems: Sequence[Problem],
    *,
    interval: int,
    max_tokens: int,
    seed: int = 0,
    temperature: float = 0.6,
    top_p: float = 0.95,
    probe_tokens: int = 20,
    probe_stop: Sequence[str] = (),
) -> pd.DataFrame:
    """`record_traces`' rows for a `ThinkingSimGenerator` read from its plans, without decoding: the
    same traces (the first request's seed drawn as the strategy draws it), probes and tokens."""
    from itslab.generators.simulated.text import apply_limits
    from itslab.rng import draw_seed
    from itslab.tasks.checking import check_answer
    from itslab.types import Request

    rows = []
    for p in problems:
        req = Request(
            p.prompt,
            n=1,
            max_tokens=min(interval, max_tokens),
            seed=draw_seed(problem_rng(seed, p.id)),
            temperature=temperature,
            top_p=top_p,
        )
        header = generator.start(p, req)[0]
        plan = generator.plan(p, header)
        total = min(plan.n_tokens, max_tokens)
        positions = list(range(interval, total, interval))
        answers = [generator.belief(p, header, plan, min(t, plan.think_tokens)) for t in positions]
        cost: dict[str, int] = {}
        right: dict[str | None, bool] = {}
        for a in answers:
            if a not in cost:
                cost[a] = apply_limits(generator.probe_reply(a, probe_tokens), probe_tokens, tuple(probe_stop))[2]
                right[a] = bool(check_answer(p, a))
        answer = plan.answer if plan.n_tokens <= max_tokens else None
        rows.append(
            {
                "problem_id": p.id,
                "think_tokens": total,
                "finished": answer is not None,
                "answer": answer,
                "correct": bool(check_answer(p, answer)),
                "positions": positions,
                "probe_answers": answers,
                "probe_ids": answer_ids(answers, p),
                "probe_tokens": [cost[a] for a in answers],
                "probe_correct": [right[a] for a in answers],
            }
        )
    return pd.DataFrame(rows)


def answer_ids(answers: Sequence[str | None], problem: Problem | None = None) -> list[int]:
    """The classes `itslab.strategies.base.equivalence_classes` gives, without its pairwise tests
    between two numbers (two canonical numbers are one answer iff they are equal rationals), which
    are most of a trace's probe answers."""
    from fractions import Fraction

    from itslab.strategies.base import equivalence_classes
    from itslab.tasks.answers import normalize_answer
    from itslab.tasks.checking import same_answer

    if problem is not None and problem.meta.get("checker"):
        return equivalence_classes(answers, problem)
    reps: list[str] = []
    numeric: list[bool] = []  # whether each representative is a number
    by_value: dict[Fraction, int] = {}
    by_key: dict[str, int] = {}
    out: list[int] = []
    for a in answers:
        if a is None:
            out.append(-1)
            continue
        key = normalize_answer(a)
        if key not in by_key:
            value = _rational(key)
            cls = by_value.get(value) if value is not None else None
            if cls is None:  # a number still needs the pairwise test against words and LaTeX, not numbers
                pool = (i for i, r in enumerate(reps) if value is None or not numeric[i])
                cls = next((i for i in pool if same_answer(problem, reps[i], a)), None)
            if cls is None:
                reps.append(a)
                numeric.append(value is not None)
                cls = len(reps) - 1
            if value is not None:
                by_value.setdefault(value, cls)
            by_key[key] = cls
        out.append(by_key[key])
    return out


def _rational(key: str) -> Any:
    """The exact rational a normalised answer writes (``"27.5"``, ``"3/4"``; an int when it is one),
    None when it is no number."""
    from fractions import Fraction

    if len(key) > 60:
        return None
    if re.fullmatch(r"-?\d+", key):
        return int(key)  # equal to, and hashed as, the Fraction it is
    if not re.fullmatch(r"-?\d+(?:\.\d+)?(?:/\d+)?", key):
        return None
    try:
        return Fraction(key)
    except (ValueError, ZeroDivisionError):
        return None


def _probe_tokens(result: Any) -> list[int]:
    """Tokens each probe of a one-trace result decoded (from the probe steps' usage, in order)."""
    return [int(s.usage.generated_tokens) for s in result.trace if s.kind == "probe"]


def _finished(result: Any, max_tokens: int) -> bool:
    """Whether the trace ended on its own before the cap."""
    return int(result.trace[-1].info["trace_tokens"][0]) < max_tokens


def probe_record(frame: pd.DataFrame) -> ProbeRecord:
    """The `ProbeRecord` of `record_traces` rows (or of a loaded real run)."""
    return ProbeRecord.from_lists(
        frame["think_tokens"].tolist(),
        frame["correct"].tolist(),
        frame["positions"].tolist(),
        frame["probe_ids"].tolist(),
        frame["probe_tokens"].tolist(),
        frame["probe_correct"].tolist(),
    )


def oracle_exit(think: np.ndarray, settle: np.ndarray, interval: int, window: int) -> np.ndarray:
    """Thinking tokens at exit if every probe from the settle token on agrees and none before does:
    the `window`-th probe from ``ceil(s / k)·k`` on, or the trace's end."""
    first = np.ceil(np.asarray(settle, float) / interval) * interval
    return np.minimum(first + (window - 1) * interval, np.asarray(think, float))


def calibrate_settle_mean(
    target: float,
    *,
    mean_think: np.ndarray,
    length_sigma: float,
    concentration: float,
    interval: int = PAPER_INTERVAL,
    window: int = PAPER_WINDOW,
    n_draws: int = 20_000,
    seed: int = 0,
) -> float:
    """Mean settle fraction f (f ~ Beta(m·c, (1-m)·c)) at which probe exit saves `target` of all
    thinking tokens (1 - Σ exit / Σ L), the lengths L lognormal around `mean_think` (one per problem,
    resampled); common random numbers across m, root by Brent's method."""
    from scipy.optimize import brentq
    from scipy.special import betaincinv

    rng = np.random.default_rng(seed)
    means = rng.choice(np.asarray(mean_think, float), n_draws)
    think = np.rint(means * np.exp(length_sigma * rng.standard_normal(n_draws) - 0.5 * length_sigma**2))
    u = rng.random(n_draws)

    def saving(m: float) -> float:
        settle = np.rint(betaincinv(m * concentration, (1 - m) * concentration, u) * think)
        return 1.0 - oracle_exit(think, settle, interval, window).sum() / think.sum() - target

    return float(brentq(saving, 0.01, 0.99, xtol=1e-4))


def saving(used: np.ndarray, full: np.ndarray) -> tuple[float, float]:
    """Share of tokens saved over a dataset, ``1 - Σ used / Σ full``, with its delta-method SE over problems."""
    used, full = np.asarray(used, float), np.asarray(full, float)
    ratio = used.sum() / full.sum()
    se = np.std(used - ratio * full, ddof=1) / (np.sqrt(len(full)) * full.mean()) if len(full) > 1 else np.nan
    return float(1.0 - ratio), float(se)


def fixed_probe_cost(frame: pd.DataFrame, probe_tokens: int) -> pd.DataFrame:
    """`frame` with every probe charged `probe_tokens` (a probe decoded to its length with no stop string:
    what the simulator's probes cost without ``probe_stop``, as its replies run on)."""
    return frame.assign(probe_tokens=[[probe_tokens] * len(x) for x in frame["positions"]])


def numbers_only(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with probe answers that are not numbers (hashed by `save`) counted as no answer (class -1):
    the agreement rule for a task whose answers are numbers (GSM8K)."""
    ids = [
        [(-1 if (a is None or str(a).startswith("h:")) else i) for a, i in zip(answers, row_ids)]
        for answers, row_ids in zip(frame["probe_answers"], frame["probe_ids"])
    ]
    return frame.assign(probe_ids=ids)


# --- the real run: numbers only -----------------------------------------------------------------
def default_path(model: str = "qwen2.5-coder-0.5b") -> Path:
    """data/dynasor/gsm8k-<model>.json in the checkout."""
    return Path(__file__).resolve().parents[2] / "data" / "dynasor" / f"gsm8k-{model}.json"


def safe_answer(answer: str | None) -> str | None:
    """`answer` as a canonical number, a short hash when it is not one (so no model text is stored)."""
    if answer is None:
        return None
    if re.fullmatch(r"h:[0-9a-f]{8}", answer):  # already a hash: saving a loaded record again keeps it
        return answer
    s = answer.replace(",", "").replace("$", "").strip()
    try:
        x = float(s)
    except ValueError:
        return "h:" + hashlib.blake2b(answer.strip().encode(), digest_size=4).hexdigest()
    if not np.isfinite(x):
        return "h:" + hashlib.blake2b(answer.strip().encode(), digest_size=4).hexdigest()
    return str(int(round(x))) if abs(x - round(x)) < 1e-9 else f"{x:g}"


def save(frame: pd.DataFrame, path: Path, meta: dict[str, Any]) -> Path:
    """Write the rows (answers as `safe_answer`) and `meta` as one JSON file."""
    out = frame.copy()
    out["answer"] = out["answer"].map(safe_answer)
    out["probe_answers"] = out["probe_answers"].map(lambda xs: [safe_answer(x) for x in xs])
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "rows": json.loads(out.to_json(orient="records"))}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path


def load(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and meta written by `save`."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.DataFrame(payload["rows"]), payload["meta"]
