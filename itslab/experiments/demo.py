"""The main job (`make demo` = `itslab demo`): inference-time scaling on real generations, end to end.

1. **Live**: the embedded SmolLM2-135M-Instruct on CPU, no network, on easy synthetic arithmetic
   with three worked examples in the chat (pass@1 ≈ 0.35 measured here), 16 samples per problem:
   coverage (Brown et al. 2024, arXiv:2407.21787), majority vote (Wang et al. 2023,
   arXiv:2203.11171) and best-of-N ranked by the model's own P("Yes") (Kadavath et al. 2022,
   arXiv:2207.05221), sharing one sample pool per problem, at 1…16 samples.
2. **Real models, replayed**: every finished sample bank in ``data/banks/`` (Qwen2.5-Coder and
   SmolLM2 on arithmetic and GSM8K): coverage, majority vote and best-of-N at every k
   (`itslab.experiments.bank_curves`), in seconds.
3. **Simulator at scale**: majority vote, best-of-N and weighted best-of-N with a noisy PRM
   (per-step ROC AUC 0.86), particle filtering and beam search on 300 stepwise-simulated problems.

Each part writes a run directory (results.parquet, manifest.json, scaling.png, report.md); the
demo's own report.md and scaling.png lead with one computed sentence per part. Every accuracy is
printed with its 95% Wilson interval, differences are paired over problems.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from itslab import experiments
from itslab.experiments import StrategySpec, report
from itslab.experiments import rundir as runs

# sized for < 10 minutes of `make demo` on 2 CPU cores, installation included (see README.md)
SIZES: dict[str, dict[str, Any]] = {
    "full": {"live_problems": 32, "live_budgets": [1, 2, 4, 8, 16], "sim_problems": 300, "sim_budgets": 6},
    "quick": {"live_problems": 6, "live_budgets": [1, 2, 4], "sim_problems": 60, "sim_budgets": 4},
}
LIVE_TASK: dict[str, Any] = {"task": "arithmetic", "difficulty": 1, "n_shots": 3, "max_tokens": 40, "temperature": 0.7}


@dataclass(frozen=True)
class Part:
    """One part of the demo: its name, run directory, rows and what its report says."""

    name: str
    title: str
    run_dir: Path
    frame: Any
    summary: report.RunSummary
    label: str = ""  # the panel title in the demo's scaling.png


def _save(
    df: Any, out: Path, *, name: str, title: str, label: str, model: str, config: dict, started: float, source: dict
) -> Part:
    seeds = sorted(df["seed"].unique().tolist())
    man = runs.manifest(model=model, config={**config, "title": title}, seeds=seeds, started=started, source=source)
    d = runs.save(df, out, man)
    summary = report.summarise(df, name=name)
    report.write_report(d, title=title, summary=summary)
    return Part(name, title, d, df, summary, label)


def live_problems(n: int, *, difficulty: int, n_shots: int, seed: int = 0) -> list[Any]:
    """`n` synthetic arithmetic problems whose chat carries `n_shots` worked examples of the same
    task (drawn from another seed, none equal to a test question), so a 135M model answers in the
    task's short format instead of rambling past its token limit."""
    from itslab import tasks
    from itslab.tasks import prompts

    shots = tasks.load("arithmetic", limit=n_shots, difficulty=difficulty, seed=seed + 1)
    seen = {s.prompt for s in shots}
    pool = [p for p in tasks.load("arithmetic", limit=2 * n + n_shots, difficulty=difficulty, seed=seed)]
    chosen = [p for p in pool if p.prompt not in seen][:n]
    template = prompts.PromptTemplate(f"few_shot_hash_{n_shots}", "hash", n_shots=n_shots)
    return [prompts.with_template(p, template, shots=shots) for p in chosen]


def live_part(out: Path, *, n_problems: int, budgets: Sequence[int], batch_units: int = 6) -> Part:
    """Coverage, majority vote and best-of-N (self-evaluation) on the embedded SmolLM2-135M."""
    from itslab import models
    from itslab.verifiers import SelfEvaluation

    started, source = time.time(), runs.source_state()
    gen = models.load("smollm2-135m")
    t = LIVE_TASK
    problems = live_problems(n_problems, difficulty=t["difficulty"], n_shots=t["n_shots"])
    common = {"temperature": t["temperature"], "max_tokens": t["max_tokens"]}
    # identical requests: the three share one pool of samples per problem (common random numbers)
    specs = [
        StrategySpec("oracle_pass_at_n", common, label="oracle_pass_at_n"),
        StrategySpec("majority_vote", common, label="majority_vote"),
        StrategySpec("best_of_n", common, label="best_of_n(self_eval)"),
    ]
    judge = SelfEvaluation(gen)
    df = experiments.run(
        problems,
        specs,
        list(budgets),
        [0],
        gen,
        judge,
        budget_axis="rollouts",
        batch_units=batch_units,
        keep_results=True,
    )
    p1, se = sample_pass_at_1(df, problems)
    cfg = {"part": "live", **t, "n_problems": n_problems, "budgets": list(budgets), "verifier": "SelfEvaluation"}
    cfg["pass_at_1_all_samples"] = {"mean": round(p1, 4), "se": round(se, 4)}
    top = max(budgets)
    return _save(
        df.assign(budget_axis="samples"),  # one rollout of these strategies is one sample
        out,
        name=f"Live, SmolLM2-135M on {n_problems} easy arithmetic problems (pass@1 {p1:.2f} ± {se:.2f} "
        f"over all {top} samples of each)",
        title=f"SmolLM2-135M-Instruct (CPU, live): accuracy vs samples on easy arithmetic, {t['n_shots']}-shot",
        label=f"Live: SmolLM2-135M, {n_problems} arithmetic problems",
        model=gen.model_id,
        config=cfg,
        started=started,
        source=source,
    )


def sample_pass_at_1(df: Any, problems: Sequence[Any]) -> tuple[float, float]:
    """pass@1 as the mean over every sample the largest-budget coverage run drew per problem (the
    unbiased estimator of Chen et al. 2021, far less noisy than the one sample of a budget-1 cell),
    and its standard error over problems; pops the results `experiments.run(keep_results=True)` kept."""
    import numpy as np

    from itslab.tasks import check_answer

    results = df.attrs.pop("results")
    by_id = {p.id: p for p in problems}
    top = (df["strategy_name"] == "oracle_pass_at_n") & (df["budget"] == df["budget"].max())
    rates = [
        np.mean([bool(check_answer(by_id[pid], c.answer)) for c in results[i].candidates])
        for i, pid in zip(np.flatnonzero(top.to_numpy()), df.loc[top, "problem_id"])
    ]
    return float(np.mean(rates)), float(np.std(rates, ddof=1) / np.sqrt(len(rates))) if len(rates) > 1 else float("nan")


def bank_parts(out: Path, *, root: str | Path | None = None) -> tuple[list[Part], list[str]]:
    """One part per finished bank (replayed from its samples), and the names of unfinished ones."""
    import numpy as np

    from itslab import banks
    from itslab.experiments.bank_curves import bank_frame

    root = Path(root or banks.default_root())
    parts = []
    for entry in banks.list_banks(root):
        started, source = time.time(), runs.source_state()
        b = banks.load(entry["name"], root)
        df = bank_frame(b, rng=np.random.default_rng(0))
        spec = b.manifest.get("spec", {})
        what = f"{spec.get('model', {}).get('name')} on {spec.get('task', {}).get('name')}"
        what += f", T = {spec.get('sampling', {}).get('temperature')}"
        cfg = {"part": "bank", "bank": b.name, "bank_sha256": b.manifest.get("sha256"), "spec": spec}
        parts.append(
            _save(
                df,
                out / b.name,
                name=f"Bank {b.name} ({what}, {len(b.problem_ids)} problems × {b.n} samples)",
                title=f"Recorded bank {b.name}: {what}",
                label=f"Bank {b.name}",
                model=str(spec.get("model", {}).get("name")),
                config=cfg,
                started=started,
                source=source,
            )
        )
    done = {p.run_dir.name for p in parts}
    pending = sorted(d.name for d in root.iterdir() if (d / banks.SPEC_FILE).is_file() and d.name not in done)
    return parts, pending


def simulator_part(out: Path, *, n_problems: int, budgets: list[int]) -> Part:
    """Strategies on the stepwise simulator with a noisy PRM (cheap: thousands of runs per second)."""
    from itslab.generators.simulated import make_suite, step_oracle
    from itslab.verifiers import NoisyProcessVerifier

    started, source = time.time(), runs.source_state()
    problems, gen = make_suite(n_problems, seed=0, kind="stepwise", a=1.0, b=2.0, n_steps=4)
    prm = NoisyProcessVerifier(step_oracle, noise=2.0, seed=0)
    specs = [
        StrategySpec("majority_vote", {"max_tokens": 1024}, label="majority_vote"),
        StrategySpec("best_of_n", {"max_tokens": 1024, "agg": "last"}, label="best_of_n(prm)"),
        StrategySpec("weighted_best_of_n", {"max_tokens": 1024, "agg": "last"}, label="weighted_best_of_n(prm)"),
        StrategySpec("particle_filter", {"max_steps": 12}, label="particle_filter"),
        StrategySpec("beam_search", {"beam_width": 4, "max_steps": 12}, label="beam_search(width=4)"),
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
        name=f"Simulator, {n_problems} stepwise problems with a noisy PRM",
        title="Simulator: accuracy vs rollouts (stepwise simulator, noisy PRM)",
        label=f"Simulator: {n_problems} stepwise problems, noisy PRM",
        model=gen.model_id,
        config=cfg,
        started=started,
        source=source,
    )


def write_summary(out: Path, parts: Sequence[Part], *, pending: Sequence[str] = ()) -> Path:
    """The demo's report.md (one lead sentence per part, then each part's tables) and scaling.png
    (one panel per part, 95% Wilson bands); returns the report path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from itslab import plotting

    fig, axes = plt.subplots(1, len(parts), figsize=(5.2 * len(parts), 4.2), squeeze=False)
    for ax, p in zip(axes[0], parts):
        plotting.strategy_comparison(p.frame, ax=ax)
        ax.set_title(p.label or p.name, fontsize="small")
        axis = p.frame["budget_axis"].iloc[0] if "budget_axis" in p.frame.columns else "budget"
        ax.set_xlabel(f"{axis} (log scale); bands: 95% Wilson intervals")
    fig.savefig(out / "scaling.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    lines = ["# itslab demo: what this run shows", ""]
    lines += [f"- {p.summary.lead}" for p in parts]
    if pending:
        lines += [f"- Banks still being recorded (not shown): {', '.join(pending)}."]
    lines += ["", "![accuracy vs budget, one panel per part](scaling.png)", ""]
    for p in parts:
        lines += [f"## {p.title}", "", report.markdown(report.wide_table(p.frame)), ""]
        lines += [report.markdown(p.summary.comparisons), "", f"Details: [{p.run_dir.name}/report.md]"]
        lines[-1] += f"({p.run_dir.relative_to(out)}/report.md)"
        lines += [""]
    (out / "report.md").write_text("\n".join(lines))
    return out / "report.md"


def _print_part(p: Part) -> None:
    print(f"\n== {p.title} ==")
    print(report.wide_table(p.frame).to_string(index=False))
    c = p.summary.comparisons
    if len(c):
        print("\npaired differences over problems (resolved: |z| > 2):")
        shown = c[["comparison", "accuracy_a", "accuracy_b", "difference", "se", "z", "resolved"]]
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{p.summary.lead}")


def main(out_dir: str = "runs/demo", quick: bool = False) -> int:
    """Run the three parts, print their tables and lead sentences, and write the demo's report."""
    import pandas as pd

    # before torch loads: idle OpenMP threads sleep instead of spinning, so the two threads do not
    # fight other processes for the cores (measured here under load: 598 s → 85 s for 64 samples)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    size = SIZES["quick" if quick else "full"]
    out = Path(out_dir)
    t0 = time.time()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    live = live_part(out / "live", n_problems=size["live_problems"], budgets=size["live_budgets"])
    _print_part(live)
    bank, pending = bank_parts(out / "banks")
    for p in bank:
        _print_part(p)
    if pending:
        print(f"\nbanks still being recorded (not replayed): {', '.join(pending)}")
    sim = simulator_part(
        out / "simulator", n_problems=size["sim_problems"], budgets=[2**i for i in range(size["sim_budgets"])]
    )
    _print_part(sim)
    path = write_summary(out, [live, *bank, sim], pending=pending)
    took = time.time() - t0
    print(f"\nwrote {path} and {out / 'scaling.png'} (one run directory per part under {out}/) in {took:.0f} s")
    return 0
