"""Run a validated config end to end: build, sweep, save, report (what `itslab run` does)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from itslab import configs, experiments, report, runs


def run_config(cfg: configs.RunConfig, *, out: str | None = None, store: Any = None, progress: bool = True) -> Path:
    """Sweep `cfg`, write results, manifest, plot and report into its output directory; return it."""
    started = time.time()
    problems = configs.build_problems(cfg)
    gen = configs.build_generator(cfg, problems)
    ver = configs.build_verifier(cfg, gen)
    specs = [experiments.StrategySpec(s["name"], dict(s.get("hyper", {})), s.get("label")) for s in cfg.strategies]
    df = experiments.run(problems, specs, cfg.budgets, cfg.seeds, gen, ver, store=store,
                         budget_axis=cfg.budget_axis, progress=progress)
    gen_tokens, wall = float(df["generated_tokens"].sum()), time.time() - started
    man = runs.manifest(model=gen.model_id, config=cfg.as_dict(), seeds=cfg.seeds, started=started,
                        extra={"n_problems": len(problems), "n_rows": len(df),
                               "tokens_per_second_reported": round(gen_tokens / max(wall, 1e-9), 2)})
    d = runs.save(df, out or cfg.out, man)
    report.write_report(d, title=cfg.title)
    return d
