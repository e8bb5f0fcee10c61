"""Accuracy against budget for every registered strategy on the stepwise simulator, with a noisy PRM.

Problems: ``make_suite(--problems, seed=0, kind="stepwise", a=1, b=2, n_steps=4)`` (pass@1 ~
Beta(1, 2), mean ≈ 0.33, 4-step solutions). Verifier: `NoisyProcessVerifier` on the simulator's
step oracle (``--noise``, default 2: per-step ROC AUC 0.86); outcome strategies use its last-step
score. "Budget" B is the paper's unit — B samples, beams, REBASE width or particles (particle
Gibbs: 2 iterations of B/2 particles from B = 4) — run under a non-binding sample limit, so the
table also shows what each actually generated (mean generated tokens per problem). Baseline:
``weighted_best_of_n``; the ratio table divides every accuracy by the baseline's at that budget.

Run: ``python benchmarks/bench_strategies.py [--problems 500] [--budgets 1,2,4,8,16,32,64]
[--jobs 2] [--noise 2.0] [--out runs/bench/strategies.png]``. Strategies whose hyperparameters
this script does not know, or that do not run on the stepwise simulator, are listed as skipped.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from itslab import Budget, strategies
from itslab.experiments import PoolMemo
from itslab.rng import problem_rng

BASELINE = "weighted_best_of_n"
_STATE: dict[str, Any] = {}


def hyper_for(name: str, b: int) -> dict[str, Any] | None:
    """Hyperparameters giving strategy `name` budget B (None: this script does not know it)."""
    whole = {"max_tokens": 4096}
    table: dict[str, dict[str, Any]] = {
        "best_of_n": {"n": b, **whole},
        "weighted_best_of_n": {"n": b, **whole},
        "majority_vote": {"n": b, **whole},
        "weighted_majority_vote": {"n": b, **whole},
        "oracle_pass_at_n": {"n": b, **whole},
        "resample_until_pass": {"max_samples": b, **whole},
        "beam_search": {"n": b, "beam_width": min(4, b)},
        "dvts": {"n": b, "beam_width": min(4, b)},
        "rebase": {"n": b},
        "particle_filter": {"n_particles": b},
        "particle_gibbs": (
            {"n_particles": b // 2, "n_iterations": 2} if b >= 4 else {"n_particles": b, "n_iterations": 1}
        ),
    }
    return table.get(name)


class MemoPRM:
    """A deterministic verifier with its scores memoised by text (one problem at a time).

    `NoisyProcessVerifier` scores depend only on (seed, problem, text), so re-scoring a text
    another strategy or budget already scored (the first k samples of every budget coincide) is
    waste; `cost` is the inner verifier's, so budgets and usage are charged exactly as without it.
    """

    is_process = True

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self._memo, self._pid = inner, inner.name, {}, None

    def score(self, problem: Any, texts: Any) -> list:
        if problem.id != self._pid:
            self._memo, self._pid = {}, problem.id
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        self._memo.update(zip(todo, self.inner.score(problem, todo)))
        return [self._memo[t] for t in texts]

    def cost(self, problem: Any, texts: Any) -> Any:
        return self.inner.cost(problem, texts)


def _init(n_problems: int, noise: float) -> None:
    from itslab.generators.simulated import make_suite, step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    problems, gen = make_suite(n_problems, seed=0, kind="stepwise", a=1.0, b=2.0, n_steps=4)
    prm = MemoPRM(NoisyProcessVerifier(step_oracle, noise=noise, seed=0))
    _STATE.update(problems=problems, gen=gen, prm=prm)
    # as `experiments.run` does (see `rare_full_collections`): without it, full collections
    # re-traversing every record alive take ~15% of this benchmark's CPU time
    gc.freeze()
    gc.set_threshold(gc.get_threshold()[0], gc.get_threshold()[1], 1000)


def _work(task: tuple[list[int], list[str], list[int]]) -> tuple[list[dict[str, Any]], float]:
    """Rows (one per problem × strategy × budget) and the CPU seconds this worker spent on them."""
    idx, names, budgets = task
    problems, gen, prm = _STATE["problems"], _STATE["gen"], _STATE["prm"]
    rows, cpu = [], time.process_time()
    for i in idx:
        p = problems[i]
        # the runner's per-unit pool: sample j of a request does not depend on n (the Generator
        # contract), so every smaller budget, and every strategy's identical first draw, is a hit
        pool = PoolMemo(gen)
        for name in names:
            fn = strategies.get(name)
            for b in sorted(budgets, reverse=True):
                # one stream per problem for every strategy and budget: common random numbers
                r = fn(p, pool, prm, Budget(samples=1_000_000), problem_rng(0, p.id), **hyper_for(name, b))
                rows.append(
                    {
                        "problem_id": p.id,
                        "strategy": name,
                        "budget": b,
                        "correct": bool(r.correct),
                        "generated_tokens": r.usage.generated_tokens,
                        "samples": r.usage.samples,
                        "verifier_calls": r.usage.verifier_calls,
                    }
                )
    return rows, time.process_time() - cpu


def runnable(names: list[str], noise: float) -> tuple[list[str], dict[str, str]]:
    """The strategies that run here (a smoke call at budget 2), and why the others are skipped."""
    _init(2, noise)
    ok, skipped = [], {}
    for name in names:
        if hyper_for(name, 2) is None:
            skipped[name] = "no budget mapping in this benchmark"
            continue
        try:
            _work(([0], [name], [2]))
            ok.append(name)
        except Exception as e:  # a strategy for another simulator or backend
            skipped[name] = f"{type(e).__name__}: {str(e)[:80]}"
    return ok, skipped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--budgets", default="1,2,4,8,16,32,64")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--noise", type=float, default=2.0)
    ap.add_argument("--strategies", default="", help="comma-separated subset (default: every registered one)")
    ap.add_argument("--out", default=os.path.join("runs", "bench", "strategies.png"))
    args = ap.parse_args()
    budgets = [int(x) for x in args.budgets.split(",")]
    t0 = time.perf_counter()
    names, skipped = runnable(args.strategies.split(",") if args.strategies else strategies.names(), args.noise)
    # small chunks keep the workers balanced
    chunks = [list(range(i, min(i + 5, args.problems))) for i in range(0, args.problems, 5)]
    tasks = [(c, names, budgets) for c in chunks]
    ctx = mp.get_context("fork")
    with ctx.Pool(args.jobs, initializer=_init, initargs=(args.problems, args.noise)) as pool:
        parts = list(pool.imap_unordered(_work, tasks))
    elapsed = time.perf_counter() - t0
    rows, cpu = [r for part, _ in parts for r in part], sum(c for _, c in parts)
    df = pd.DataFrame(rows)
    acc = df.pivot_table(index="strategy", columns="budget", values="correct", aggfunc="mean")
    tok = df.pivot_table(index="strategy", columns="budget", values="generated_tokens", aggfunc="mean")
    pd.set_option("display.width", 200)
    print(
        f"accuracy ({args.problems} problems, stepwise simulator, noisy PRM noise={args.noise}; "
        f"SE <= {0.5 / np.sqrt(args.problems):.3f})"
    )
    print(acc.round(3).to_string())
    print("\nmean generated tokens per problem")
    print(tok.round(0).astype(int).to_string())
    if BASELINE in acc.index:
        print(f"\naccuracy ratio to {BASELINE}")
        print((acc / acc.loc[BASELINE]).round(2).to_string())
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    _plot(df, args.out)
    print(
        f"\nplot: {args.out}\nruntime: {elapsed:.1f} s wall on {args.jobs} worker(s), {cpu:.1f} s CPU in the "
        f"workers ({len(names)} strategies x {len(budgets)} budgets x {args.problems} problems)"
    )


def _plot(df: pd.DataFrame, out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from itslab import plotting

    plotting.set_style()
    fig, ax = plotting.strategy_comparison(df, x="budget", y="correct", hue="strategy")
    fig.set_size_inches(8.5, 4.5)
    step_level = {"beam_search", "dvts", "rebase", "particle_filter", "particle_gibbs"}
    for line in ax.get_lines():  # 11 strategies outnumber the palette: dash the sampling ones
        if line.get_label() not in step_level and not line.get_label().startswith("_"):
            line.set_linestyle("--")
    budgets = sorted(df["budget"].unique())
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.set_xlabel("budget (samples / beams / REBASE width / particles)")
    ax.set_title("stepwise simulator, noisy PRM: step-level search (solid) vs sampling (dashed)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    main()
