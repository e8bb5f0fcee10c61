"""Step-level search against sampling on the step-wise simulator, by difficulty bin (notebook 07).

Snell et al. 2024 ("Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling
Model Parameters", arXiv:2408.03314, §5, Fig. 3) compare best-of-N, beam search and lookahead
search with a PRM per difficulty level (quintiles of the model's pass@1); Wu et al. 2024
("An Empirical Analysis of Compute-Optimal Inference for LLM Problem-Solving", REBASE,
arXiv:2408.00724) compare REBASE with sampling + weighted voting at matched compute.

- `shifted_suite`: step-wise problems and a fresh generator for a model `shift` logits stronger
  (the generator caches per-problem step error rates, so a shifted model needs its own);
- `calibrate_shift`: the shift at which a monotone accuracy hits a target (bisection);
- `search_specs`: the strategies compared, with short labels;
- `run_by_level`: `experiments.run` over rollout budgets with Snell's difficulty level per row.
- `record_real`: weighted best-of-N against beam search on Qwen2.5-Coder-0.5B with the exact step PRM
  or a noisy copy of it of set step AUC (`verifiers.step_rules.LengthBiasedPRM`);
  `final_answer_form` / `fragments_as_wrong`: its rows read strictly (a correct answer must be a
  number, not a sentence fragment that the grader's last-number fallback happens to match).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from itslab.experiments.grid import StrategySpec
from itslab.experiments.runner import run
from itslab.protocols import Verifier
from itslab.types import Problem

STEP_LIMITS: dict[str, int] = {"max_steps": 10, "max_step_tokens": 100, "max_tokens": 600}


def shifted_suite(n_problems: int, *, seed: int, shift: float = 0.0, **sim: Any) -> tuple[list[Problem], Any]:
    """(problems, StepwiseSimGenerator): `make_suite(kind="stepwise")` with every p_correct moved by
    `shift` logits (`pools.shift_skill`: the same problems, a stronger or weaker model)."""
    from itslab.generators.simulated import StepwiseSimGenerator, make_suite
    from itslab.pools import shift_skill

    base, _ = make_suite(n_problems, seed=seed, kind="stepwise", **sim)
    problems = shift_skill(base, shift) if shift else base
    params = {k: v for k, v in sim.items() if k != "n_steps"}
    return problems, StepwiseSimGenerator(problems, seed=seed, **params)


def calibrate_shift(
    evaluate: Callable[[float], float], target: float, *, lo: float = -4.0, hi: float = 2.0, n_iter: int = 8
) -> tuple[float, float]:
    """(shift, value): bisection for the shift where `evaluate(shift)` (increasing in it) is `target`.

    `evaluate` is a seeded simulation: increasing on average but noisy, so the answer is the
    evaluated shift whose value came nearest the target, with that value.
    """
    seen = {lo: evaluate(lo), hi: evaluate(hi)}
    if seen[lo] > target or seen[hi] < target:
        raise ValueError(
            f"calibrate_shift: target {target} not bracketed by [{lo}, {hi}] ({seen[lo]:.3f}, {seen[hi]:.3f})"
        )
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        seen[mid] = evaluate(mid)
        lo, hi = (mid, hi) if seen[mid] < target else (lo, mid)
    shift = min(seen, key=lambda s: abs(seen[s] - target))
    return shift, seen[shift]


def search_specs(
    names: Sequence[str] = ("best_of_n", "beam_search", "lookahead", "dvts", "rebase"),
    *,
    beam_width: int = 4,
    lookahead: int = 2,
    limits: Mapping[str, int] = STEP_LIMITS,
) -> list[StrategySpec]:
    """The compared strategies, labelled by `names`: ``best_of_n`` is weighted best-of-N (PRM scores
    summed per answer, Snell et al.'s and REBASE's sampling baseline); ``lookahead`` is beam search
    with a `lookahead`-step rollout (Snell et al. §5). Sized by an N-rollout budget (`Rollouts`)."""
    lim = dict(limits)
    table = {
        "best_of_n": StrategySpec("weighted_best_of_n", {"max_tokens": lim["max_tokens"]}, "best_of_n"),
        "beam_search": StrategySpec("beam_search", {"beam_width": beam_width, **lim}, "beam_search"),
        "lookahead": StrategySpec(
            "beam_search", {"beam_width": beam_width, "lookahead": lookahead, **lim}, "lookahead"
        ),
        "dvts": StrategySpec("dvts", {"beam_width": beam_width, **lim}, "dvts"),
        "rebase": StrategySpec("rebase", dict(lim), "rebase"),
    }
    unknown = sorted(set(names) - set(table))
    if unknown:
        raise ValueError(f"search_specs: unknown {unknown}; known: {sorted(table)}")
    return [table[n] for n in names]


def equal_token_specs(limits: Mapping[str, int] = STEP_LIMITS) -> list[StrategySpec]:
    """φ-Decoding (Xu et al. 2025, arXiv:2503.13288: M = 4 beams, N = 2 rollouts, its log-prob foresight
    value) against PRM beam search (n = 8, M = 2), both under one generated-token budget."""
    lim = dict(limits)
    return [
        StrategySpec("phi_decoding", {"n_beams": 4, "n_rollouts": 2, **lim}, "phi_decoding"),
        StrategySpec("beam_search", {"n": 8, "beam_width": 2, **lim}, "beam_search"),
    ]


def run_by_level(
    problems: Sequence[Problem],
    specs: Sequence[StrategySpec],
    budgets: Sequence[int],
    generator: Any,
    verifier: Verifier,
    *,
    seeds: Sequence[int] = (0,),
    n_levels: int = 5,
) -> pd.DataFrame:
    """`experiments.run` with N-rollout budgets, plus ``level`` 1 (easiest) … `n_levels` (hardest):
    quantile bins of the problems' pass@1 as Snell et al. bin MATH (their levels from 2048 samples,
    ours from the simulator's exact p)."""
    from itslab.scaling.frontiers import difficulty_bins

    df = run(
        problems, list(specs), list(budgets), list(seeds), generator, verifier, budget_axis="rollouts", progress=False
    )
    return df.assign(level=difficulty_bins(df, column="difficulty", n_bins=n_levels))


def simulated_prm(auc: float, error_correlation: float = 0.0, *, seed: int = 0) -> Verifier:
    """The simulator's PRM: per-step ROC AUC `auc` against the latent step state (`step_oracle`),
    a share `error_correlation` of its error shared by steps reaching the same value (the bias knob:
    a wrong value it likes, it likes on every path that reaches it)."""
    from itslab.generators.simulated import step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    return NoisyProcessVerifier(step_oracle, auc=auc, noise=1.0, error_correlation=error_correlation, seed=seed)


def compare_groups(
    groups: Mapping[str, Sequence[Problem]],
    specs: Sequence[StrategySpec],
    budgets: Sequence[int],
    generator: Any,
    verifier: Verifier,
    *,
    seeds: Sequence[int] = (0,),
) -> pd.DataFrame:
    """Accuracy (and SE, mean generated tokens) per group of problems, strategy and N-rollout budget."""
    parts = []
    for name, problems in groups.items():
        df = run(list(problems), list(specs), list(budgets), list(seeds), generator, verifier, budget_axis="rollouts",
                 progress=False)  # fmt: skip
        from itslab.experiments.runner import accuracy_table

        parts.append(accuracy_table(df).assign(group=name))
    return pd.concat(parts, ignore_index=True)


REAL_LIMITS: dict[str, int] = {"max_steps": 6, "max_step_tokens": 64, "max_tokens": 320}


def real_file(name: str = "arith-qwen05-beam") -> Any:
    """Where `record_real` keeps its result in the checkout: ``data/step_search/<name>.csv``."""
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "data" / "step_search" / f"{name}.csv"


def record_real(
    path: str | Any,
    *,
    model: str = "qwen2.5-coder-0.5b",
    n_problems: int = 8,
    difficulty: int = 2,
    n: int = 4,
    beam_width: int = 2,
    temperature: float = 0.7,
    seed: int = 0,
    n_threads: int | None = 1,
    prm_auc: float | None = None,
    force: bool = False,
) -> pd.DataFrame:
    """Weighted best-of-N against PRM beam search on a real model, the PRM being the exact rule-based
    step verifier (`verifiers.step_rules.RuleStepVerifier`) on synthetic arithmetic chains, or with
    `prm_auc` its noisy copy of that per-step ROC AUC (`LengthBiasedPRM`, no length bias, seeded by
    `seed`): a PRM whose quality is set, not assumed; one row per (problem, strategy) written to
    `path` (CSV) with a ``.json`` sidecar holding the settings. A file recorded with the same
    settings is read back instead (`force` records again)."""
    import json
    from pathlib import Path

    from itslab.experiments.grid import Rollouts
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.tasks.synthetic import make
    from itslab.verifiers.step_rules import LengthBiasedPRM, RuleStepVerifier

    settings = dict(model=model, n_problems=n_problems, difficulty=difficulty, n=n, beam_width=beam_width,
                    temperature=temperature, seed=seed, limits=REAL_LIMITS)  # fmt: skip
    if prm_auc is not None:  # only then: a file recorded with the exact PRM keeps its settings
        settings["prm_auc"] = prm_auc
    path = Path(path)
    sidecar = path.with_suffix(".json")
    if not force and path.is_file() and sidecar.is_file() and json.loads(sidecar.read_text()) == settings:
        return pd.read_csv(path)
    problems = make("arithmetic", n_problems, difficulty=difficulty, seed=seed)
    gen = LlamaCppGenerator(model, n_threads=n_threads, n_ctx=4096, max_batch=max(8, n))
    specs = [
        StrategySpec("weighted_best_of_n", {"max_tokens": REAL_LIMITS["max_tokens"], "temperature": temperature},
                     "best_of_n"),
        StrategySpec("beam_search", {"beam_width": beam_width, "temperature": temperature, **REAL_LIMITS},
                     "beam_search"),
    ]  # fmt: skip
    try:
        prm = RuleStepVerifier() if prm_auc is None else LengthBiasedPRM(auc=prm_auc, seed=seed)
        df = run(problems, specs, [Rollouts(n)], [seed], gen, prm, progress=False)
    finally:
        gen.close()
    keep = ["problem_id", "strategy", "budget", "seed", "correct", "answer", "gold", "samples", "generated_tokens",
            "verifier_calls"]  # fmt: skip
    out = df[keep]
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    sidecar.write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


def final_answer_form(answer: Any) -> bool:
    """Whether a recorded answer is a final answer: a number once `normalize_answer` has dropped units
    and wrappers ("2 stickers" is; "3. The remaining stickers are split equally into 2 bags:" is a
    sentence fragment, which `answers_equal` grades by the last number it finds in it)."""
    import re

    from itslab.tasks.answers import normalize_answer

    if not isinstance(answer, str):
        return False
    return re.fullmatch(r"[-+]?\d+(?:\.\d+)?(?:/\d+)?", normalize_answer(answer)) is not None


def fragments_as_wrong(df: pd.DataFrame) -> pd.DataFrame:
    """`df` (rows with ``correct`` and ``answer``) with every correct row whose answer has no
    `final_answer_form` counted wrong: a stricter reading for a report; the grading rule is unchanged."""
    return df.assign(correct=df["correct"].astype(bool) & df["answer"].map(final_answer_form))
