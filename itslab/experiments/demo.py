"""The main job (`make demo` = `itslab demo`): an inference-time-scaling sweep, end to end.

1. **Embedded model** (SmolLM2-135M-Instruct on CPU, no network): easy synthetic arithmetic,
   majority vote (Wang et al. 2023), best-of-N with the model's own P("Yes") as verifier
   (Kadavath et al. 2022) and particle filtering with the same self-evaluation as its PRM (Puri et
   al. 2025), at 1…16 rollouts. The five problems run together: their generator calls are merged
   into one batch per round (`experiments.run(batch_units=...)`), so the engine decodes 5 × N rows.
2. **Simulator at scale**: the same strategies, plus weighted best-of-N and beam search, on 500
   stepwise-simulated problems (pass@1 ~ Beta(1, 2), 4 steps) with a noisy simulated PRM (per-step
   ROC AUC 0.86, as `benchmarks/bench_strategies.py`), at 1…64 rollouts.

Each part writes a run directory (``results.parquet``, ``manifest.json``, ``scaling.png``,
``report.md`` with the fitted law) under the output folder, and the strategy tables are printed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from itslab import experiments
from itslab.experiments import StrategySpec, report
from itslab.experiments import rundir as runs


def _save(df: Any, out: Path, *, model: str, config: dict, started: float, source: dict, title: str) -> Path:
    man = runs.manifest(
        model=model, config=config, seeds=sorted(df["seed"].unique().tolist()), started=started, source=source
    )
    d = runs.save(df, out, man)
    report.write_report(d, title=title)
    return d


def simulator_part(out: Path, *, n_problems: int, budgets: list[int]) -> tuple[Path, Any]:
    """Strategies on the stepwise simulator with a noisy PRM (cheap: thousands of runs per second)."""
    from itslab.generators.simulated import make_suite, step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    started, source = time.time(), runs.source_state()
    problems, gen = make_suite(n_problems, seed=0, kind="stepwise", a=1.0, b=2.0, n_steps=4)
    prm = NoisyProcessVerifier(step_oracle, noise=2.0, seed=0)
    specs = [
        StrategySpec("majority_vote", {"max_tokens": 1024}),
        StrategySpec("best_of_n", {"max_tokens": 1024, "agg": "last"}),
        StrategySpec("weighted_best_of_n", {"max_tokens": 1024, "agg": "last"}),
        StrategySpec("particle_filter", {"max_steps": 12}),
        StrategySpec("beam_search", {"beam_width": 4, "max_steps": 12}),
    ]
    df = experiments.run(problems, specs, budgets, [0], gen, prm, budget_axis="rollouts")
    cfg = {
        "part": "simulator",
        "n_problems": n_problems,
        "budgets": budgets,
        "suite": "stepwise a=1 b=2 n_steps=4",
        "prm": "NoisyProcessVerifier(noise=2.0)",
        "strategies": [s.key for s in specs],
    }
    return _save(
        df,
        out,
        model=gen.model_id,
        config=cfg,
        started=started,
        source=source,
        title="Simulator: accuracy vs rollouts (stepwise simulator, noisy PRM)",
    ), df


def embedded_part(out: Path, *, n_problems: int, budgets: list[int], max_tokens: int) -> tuple[Path, Any]:
    """Strategies on the embedded SmolLM2-135M with self-evaluation as the verifier."""
    from itslab import models, tasks
    from itslab.verifiers import SelfEvaluation

    started, source = time.time(), runs.source_state()
    gen = models.load("smollm2-135m")
    problems = tasks.load("arithmetic", limit=n_problems, difficulty=1, seed=0)
    judge = SelfEvaluation(gen)
    common = {"temperature": 0.7}
    # majority vote and best-of-N make identical requests, so they share one pool of samples
    specs = [
        StrategySpec("majority_vote", {**common, "max_tokens": max_tokens}),
        StrategySpec("best_of_n", {**common, "max_tokens": max_tokens}),
        StrategySpec(
            "particle_filter", {**common, "max_steps": 3, "max_step_tokens": max_tokens // 2, "max_tokens": max_tokens}
        ),
    ]
    df = experiments.run(problems, specs, budgets, [0], gen, judge, budget_axis="rollouts", batch_units=len(problems))
    cfg = {
        "part": "embedded",
        "batch_units": len(problems),
        "task": "arithmetic difficulty 1",
        "n_problems": n_problems,
        "budgets": budgets,
        "verifier": "SelfEvaluation",
        "strategies": [s.key for s in specs],
    }
    return _save(
        df,
        out,
        model=gen.model_id,
        config=cfg,
        started=started,
        source=source,
        title="SmolLM2-135M-Instruct (CPU): accuracy vs rollouts on easy arithmetic",
    ), df


def main(out_dir: str = "runs/demo", quick: bool = False) -> int:
    """Run both parts, print their strategy tables and say where the files are."""
    import pandas as pd

    out = Path(out_dir)
    t0 = time.time()
    pd.set_option("display.width", 160)
    # sized for < 10 minutes on 2 CPU cores: the 135M model decodes ~10 tokens/s per row here
    emb_dir, emb = embedded_part(
        out / "embedded",
        n_problems=3 if quick else 5,
        budgets=[1, 2, 4] if quick else [1, 2, 4, 8, 16],
        max_tokens=32 if quick else 48,
    )
    print("\n== Embedded model: SmolLM2-135M-Instruct on CPU, easy arithmetic ==")
    print(report.strategy_table(emb).to_string(index=False))
    sim_dir, sim = simulator_part(
        out / "simulator", n_problems=100 if quick else 500, budgets=[1, 2, 4, 8] if quick else [1, 2, 4, 8, 16, 32, 64]
    )
    print("\n== Simulator: 500 stepwise problems, noisy PRM ==" if not quick else "\n== Simulator (quick) ==")
    print(report.strategy_table(sim).to_string(index=False))
    print(
        f"\nwrote {emb_dir}/ and {sim_dir}/ (results.parquet, manifest.json, scaling.png, report.md) "
        f"in {time.time() - t0:.0f} s"
    )
    return 0
