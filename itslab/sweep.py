"""Run a validated config end to end: build, sweep, save, report (what `itslab run` does)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from itslab import configs, experiments, report, runs


def run_config(cfg: configs.RunConfig, *, out: str | None = None, store: Any = None, progress: bool = True) -> Path:
    """Sweep `cfg`, write results, manifest, plot and report into its output directory; return it."""
    started, source = time.time(), runs.source_state()
    problems = configs.build_problems(cfg)
    gen = configs.build_generator(cfg, problems)
    ver = configs.build_verifier(cfg, gen)
    loaded = time.time()
    counted = experiments.EngineCounter(gen)
    specs = [experiments.StrategySpec(s["name"], dict(s.get("hyper", {})), s.get("label")) for s in cfg.strategies]
    df = experiments.run(problems, specs, cfg.budgets, cfg.seeds, counted, ver, store=store,
                         budget_axis=cfg.budget_axis, progress=progress, batch_units=cfg.batch_units)
    sweep_s = time.time() - loaded
    # throughput from what the engine generated (nested budgets share samples; rows would double count)
    man = runs.manifest(model=gen.model_id, config=cfg.as_dict(), seeds=cfg.seeds, started=started, source=source,
                        extra={"n_problems": len(problems), "n_rows": len(df), **counted.stats(),
                               "load_seconds": round(loaded - started, 2), "sweep_seconds": round(sweep_s, 2),
                               "sweep_generated_tokens_per_s": round(counted.generated_tokens / max(sweep_s, 1e-9), 2)})
    d = runs.save(df, out or cfg.out, man)
    report.write_report(d, title=cfg.title)
    return d
