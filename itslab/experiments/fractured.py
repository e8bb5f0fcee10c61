"""Notebook 15's simulations: truncated, fractured and anytime reasoning on a calibrated simulator.

`calibrate` fits `AnytimeSimGenerator` to the pass@k curves of Liao et al. 2025 (Fractured CoT,
arXiv:2505.12992, figure 4: DeepSeek-R1-Distill-Qwen-1.5B on MATH500 level 5, one axis at a time):
a difficulty mixture (a share of problems every trace solves, the rest Beta) to the n axis, the
re-derivation rate to the H axis, the slip to the m axis, at an assumed commit point (Liu & Wang
2025, arXiv:2506.02536: answers converge after about 60 % of the reasoning). The population's
closed forms (`coverage`, `anytime`) give the three axes, the (n, m, H) grid for the optimiser
(`itslab.scaling.fractured`) and the anytime curve; `run_configs` runs the registered
`fractured_sampling` strategy on simulated problems to check them; `budget_curves` compares
truncate-and-answer with a chain of thought cut at the same budget (the paper's figure 2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special

from itslab.budget import Budget
from itslab.generators.simulated import AnytimeSimGenerator, make_problems
from itslab.generators.simulated.anytime import anytime_accuracy, commit_pmf, p_no_correct
from itslab.rng import problem_rng
from itslab.scaling.fractured import belief_depths, fractured_tokens, grid, paper_depths
from itslab.tasks.checking import check_answer
from itslab.types import Problem

PAPER: dict[str, Any] = {
    "n_axis": (0.708, 0.774, 0.822, 0.859, 0.888),  # pass@k, k = 1..5 trajectories
    "H_axis": (0.708, 0.733, 0.758, 0.794, 0.814),  # one trajectory, answers at h = 1..5 of 16 depths
    "m_axis": (0.708, 0.708, 0.708, 0.710),  # one trajectory, m = 1..4 answers after its whole thinking
    "trace_ktokens": 8.79,  # one trajectory (thinking + solution), thousands of tokens
    "answer_ktokens": 0.66,  # one more solution
}
SOURCE = (
    "figure 4 (pass@k along one axis; DeepSeek-R1-Distill-Qwen-1.5B, MATH500 level 5), read off the "
    "authors' copy figs/passk_single_dim.png in github.com/BaohaoLiao/frac-cot to about 0.3 points"
)
TRAINED: dict[
    str, tuple[float, float, str]
] = {  # length-trained models: (share of the baseline's tokens, share of its accuracy kept), where quoted
    "CoT-Valve (QwQ-32B, GSM8K)": (225 / 741, 94.92 / 95.07, "Ma et al. 2025, arXiv:2502.09601, abstract"),
    "Arora & Zanette (7B)": (
        0.50,
        0.95,
        "arXiv:2502.04463; secondary: papernotes' summary, 'a 50% reduction in token "
        "usage with less than 5% accuracy degradation'",
    ),
    "O1-Pruner (QwQ / Marco-o1)": (
        0.63,
        1.02,
        "arXiv:2501.12570; secondary: alphaXiv overview, 'reduce solution length "
        "by 34-40%' while 'improving accuracy by 1.1-3.4%'",
    ),
}
COMMIT_MEAN = 0.6  # Liu & Wang 2025 (arXiv:2506.02536, abstract): answers converge after ~60 % of the steps
K = 16  # segments: the paper's 16 depths
SCALE = 100  # simulated tokens per thousand paper tokens (a simulated trace is ~880 toy tokens)


@dataclass(frozen=True)
class Calibration:
    """A fitted population: P(p = 1) = `easy`, else p ~ Beta(a, b); the simulator's answer model."""

    easy: float
    a: float
    b: float
    rederive: float
    slip: float
    commit_mean: float = COMMIT_MEAN
    commit_concentration: float = 4.0
    n_segments: int = K

    @property
    def pmf(self) -> np.ndarray:
        """P(commit at segment k), k = 1..K."""
        return commit_pmf(self.n_segments, self.commit_mean, self.commit_concentration)

    def nodes(self, n_nodes: int = 48) -> tuple[np.ndarray, np.ndarray]:
        """Quadrature over the population: (p values, weights) of the Beta part plus the point mass at 1."""
        x, w = special.roots_jacobi(n_nodes, self.b - 1.0, self.a - 1.0)
        return np.append((1.0 + x) / 2.0, 1.0), np.append(w / w.sum() * (1.0 - self.easy), self.easy)

    def generator_kwargs(self) -> dict[str, Any]:
        """`AnytimeSimGenerator` keywords for this calibration (tokens scaled by `SCALE`)."""
        return dict(
            n_segments=self.n_segments,
            commit_mean=self.commit_mean,
            commit_concentration=self.commit_concentration,
            rederive=self.rederive,
            slip=self.slip,
            mean_think_tokens=SCALE * (PAPER["trace_ktokens"] - PAPER["answer_ktokens"]),
            mean_answer_tokens=SCALE * PAPER["answer_ktokens"] - 6,  # the answer line adds ~6 tokens
            length_difficulty=0.0,
        )


def _passk_mixture(easy: float, a: float, b: float, k: int) -> float:
    return easy + (1.0 - easy) * (1.0 - np.exp(special.betaln(a, b + k) - special.betaln(a, b)))


def coverage(cal: Calibration, n: int, m: int, depths: Sequence[int], rederive: float | None = None) -> float:
    """P(some right answer) among n trajectories × m answers at each depth (complete segments), own answer at K."""
    p, w = cal.nodes()
    r = cal.rederive if rederive is None else rederive
    return float(w @ (1.0 - p_no_correct(p, r * p, cal.slip, cal.pmf, depths, m) ** n))


def anytime(cal: Calibration, depth: int) -> float:
    """Population accuracy of one forced answer after `depth` of `n_segments` segments (depth K: forced, not own)."""
    p, w = cal.nodes()
    return float(w @ anytime_accuracy(p, cal.rederive * p, cal.slip, cal.pmf, depth))


def calibrate(commit_mean: float = COMMIT_MEAN, commit_concentration: float = 4.0) -> Calibration:
    """Fit the population to the paper's n axis, the re-derivation rate to its H axis and the slip to its m axis."""

    def sig(x: float) -> float:
        return float(1.0 / (1.0 + np.exp(-x)))

    n_fit = optimize.least_squares(
        lambda x: [
            _passk_mixture(sig(x[0]), np.exp(x[1]), np.exp(x[2]), k) - v for k, v in enumerate(PAPER["n_axis"], 1)
        ],
        [0.0, 0.0, 0.0],
    )
    base = Calibration(
        sig(n_fit.x[0]),
        float(np.exp(n_fit.x[1])),
        float(np.exp(n_fit.x[2])),
        rederive=0.5,
        slip=0.0,
        commit_mean=commit_mean,
        commit_concentration=commit_concentration,
    )
    h_fit = optimize.least_squares(
        lambda x: [coverage(base, 1, 1, paper_depths(h), sig(x[0])) - v for h, v in enumerate(PAPER["H_axis"], 1)],
        [0.0],
    )
    base = dataclasses.replace(base, rederive=sig(h_fit.x[0]))
    m_fit = optimize.least_squares(
        lambda x: [
            coverage(dataclasses.replace(base, slip=float(x[0])), 1, mm, [K]) - v
            for mm, v in enumerate(PAPER["m_axis"], 1)
        ],
        [0.01],
        bounds=([0.0], [1.0]),
    )
    return dataclasses.replace(base, slip=float(m_fit.x[0]))


def axis_curves(cal: Calibration) -> pd.DataFrame:
    """The three axes as the paper plots them (k = 1..5, m = 1..4), ours beside the paper's, with tokens (thousands)."""
    tr, an = PAPER["trace_ktokens"], PAPER["answer_ktokens"]
    rows = []
    for k, v in enumerate(PAPER["n_axis"], 1):
        rows.append(("n", k, k * tr, v, coverage(cal, k, 1, [K])))
    for h, v in enumerate(PAPER["H_axis"], 1):
        rows.append(("H", h, tr + (h - 1) * an, v, coverage(cal, 1, 1, paper_depths(h))))
    for mm, v in enumerate(PAPER["m_axis"], 1):
        rows.append(("m", mm, tr + (mm - 1) * an, v, coverage(cal, 1, mm, [K])))
    return pd.DataFrame(rows, columns=["axis", "k", "ktokens", "paper", "ours"])


def config_grid(cal: Calibration, *, n_max: int = 8, m_max: int = 4, H_max: int = 16) -> pd.DataFrame:
    """Closed-form coverage and expected tokens (thousands, the paper's units) of every (n, m, H)."""
    return grid(
        lambda n, m, H: coverage(cal, n, m, belief_depths(H, cal.n_segments)),
        lambda n, m, H: fractured_tokens(n, m, H, trace=PAPER["trace_ktokens"], answer=PAPER["answer_ktokens"]),
        n_max=n_max,
        m_max=m_max,
        H_max=H_max,
    )


def suite(cal: Calibration, n_problems: int, seed: int = 0) -> tuple[list[Problem], AnytimeSimGenerator]:
    """Simulated problems drawn from the calibrated population and the calibrated simulator for them."""
    base = make_problems(n_problems, seed=seed, a=cal.a, b=cal.b)
    problems = []
    for pr in base:
        if problem_rng(seed, pr.id, "easy").random() < cal.easy:
            pr = dataclasses.replace(pr, meta={**pr.meta, "p_correct": 1.0, "difficulty": 0.0, "level": 1})
        problems.append(pr)
    return problems, AnytimeSimGenerator(problems, seed=seed, a=cal.a, b=cal.b, **cal.generator_kwargs())


def run_configs(
    problems: Sequence[Problem],
    gen: AnytimeSimGenerator,
    configs: Sequence[tuple[int, int, int]],
    *,
    seed: int = 0,
    select: str = "majority",
) -> pd.DataFrame:
    """`fractured_sampling` at each (n, m, H) on each problem: coverage (some answer right), the vote, tokens."""
    from itslab.strategies import get

    fs = get("fractured_sampling")
    rows = []
    for n, m, H in configs:
        for pr in problems:
            r = fs(
                pr,
                gen,
                None,
                Budget(samples=10**6),
                problem_rng(seed, pr.id, f"fs{n},{m},{H}"),
                n=n,
                m=m,
                H=H,
                max_tokens=4000,
                answer_tokens=400,
                temperature=1.0,
                select=select,
            )
            covered = any(check_answer(pr, c.answer) for c in r.candidates)
            rows.append(
                {
                    "problem_id": pr.id,
                    "strategy": label(n, m, H),
                    "budget": 0,
                    "n": n,
                    "m": m,
                    "H": H,
                    "coverage": covered,
                    "correct": bool(r.correct),
                    "p_correct": pr.meta["p_correct"],
                    "generated_tokens": r.usage.generated_tokens,
                    "total_tokens": r.usage.total_tokens,
                    "samples": r.usage.samples,
                }
            )
    return pd.DataFrame(rows)


def label(n: int, m: int, H: int) -> str:
    """A configuration's name in tables: ``n=2 m=1 H=4``."""
    return f"n={int(n)} m={int(m)} H={int(H)}"


def at_budget(table: pd.DataFrame, budget: float) -> pd.DataFrame:
    """The best configuration within `budget` (thousand tokens) on all three axes and on each one alone."""
    from itslab.scaling.fractured import allocate

    rows = {ax: allocate(table, budget, ax) for ax in ("nmH", "n", "H", "m")}
    out = pd.DataFrame(rows).T[["n", "m", "H", "tokens", "accuracy"]]
    return out.astype({"n": int, "m": int, "H": int, "tokens": float, "accuracy": float})


def same_as_best_of_n(problems: Sequence[Problem], gen: AnytimeSimGenerator, verifier: object, budget: Budget) -> float:
    """Share of problems on which ``fractured_sampling(H=1, m=1, select="best")`` gives `best_of_n`'s answer,
    verdict and usage with the same rng (the known answer: cutting at the whole trace only is plain sampling)."""
    from itslab.strategies import get

    fs, bon = get("fractured_sampling"), get("best_of_n")
    same = []
    for pr in problems:
        a = bon(pr, gen, verifier, budget, problem_rng(7, pr.id), max_tokens=4000, temperature=1.0)
        b = fs(
            pr, gen, verifier, budget, problem_rng(7, pr.id), H=1, m=1, max_tokens=4000, temperature=1.0, select="best"
        )
        same.append((a.answer, a.correct, a.usage) == (b.answer, b.correct, b.usage))
    return float(np.mean(same))


def closed_form_coverage(gen: AnytimeSimGenerator, problems: Sequence[Problem], n: int, m: int, H: int) -> np.ndarray:
    """Per-problem closed-form coverage of (n, m, H) on the simulator's own problems."""
    depths = belief_depths(H, gen.n_segments)
    return np.array([1.0 - gen.p_no_correct(pr, depths, m) ** n for pr in problems])


def budget_curves(
    problems: Sequence[Problem],
    gen: AnytimeSimGenerator,
    fractions: Sequence[float],
    *,
    seed: int = 0,
    n_samples: int = 4,
) -> pd.DataFrame:
    """Fractured CoT's figure 2 on the simulator: per token budget B (a fraction of the mean thinking), a chain of
    thought cut at B (right only if it finished) against the same chain truncated at B and answered."""
    from itslab.generators.truncation import ANSWER_PROMPTS, Cut, forced_answer, split_thinking, text_tokens, token_cut
    from itslab.types import Request

    mean_think = gen.mean_think_tokens
    rows = []
    for pr in problems:
        [pool] = gen.generate([Request(pr.prompt, n=n_samples, max_tokens=10**5, temperature=1.0, seed=seed)])
        for j, c in enumerate(pool):
            thinking, _ = split_thinking(c.text)
            n_think = text_tokens(gen, thinking)
            for f in fractions:
                b = int(f * mean_think)
                done = c.n_tokens <= b  # the whole trace and its answer fit in the budget
                cut = Cut(
                    f,
                    min(b, n_think),
                    pr.prompt + token_cut(gen, thinking, b) + ANSWER_PROMPTS["think"],
                    ANSWER_PROMPTS["think"],
                )
                [[a]] = gen.generate([Request(cut.prefix, n=1, max_tokens=10**4, temperature=1.0, seed=seed + 1 + j)])
                rows.append(
                    {
                        "problem_id": pr.id,
                        "sample": j,
                        "fraction": f,
                        "budget": b,
                        "full_cot": bool(done and check_answer(pr, c.meta["answer"])),
                        "truncated": bool(check_answer(pr, forced_answer(pr, cut, a))),
                        "think_tokens": n_think,
                    }
                )
    return pd.DataFrame(rows)


__all__ = [
    "COMMIT_MEAN",
    "Calibration",
    "K",
    "PAPER",
    "TRAINED",
    "at_budget",
    "SOURCE",
    "anytime",
    "axis_curves",
    "budget_curves",
    "calibrate",
    "closed_form_coverage",
    "config_grid",
    "coverage",
    "label",
    "run_configs",
    "same_as_best_of_n",
    "suite",
]
