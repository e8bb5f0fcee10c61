"""Experiment configs for `itslab run CONFIG.yaml`: read, validate, build the objects, run them.

A config names a task, a model/backend, a verifier, strategies with hyper-parameters, budgets,
seeds and an output directory::

    task: {name: gsm8k, limit: 50}                 # or {name: arithmetic, limit: 20, difficulty: 1}
    model: {backend: hf, name: qwen2.5-coder-0.5b}  # backends: itslab.generators.names()
    verifier: {name: self_evaluation}               # itslab.verifiers.names()
    strategies:
      - {name: majority_vote, hyper: {max_tokens: 256, temperature: 0.8}}
      - {name: best_of_n, hyper: {max_tokens: 256}}
    budgets: [1, 2, 4, 8]                           # limits on budget_axis (default samples)
    batch_units: 10                                 # optional: problems run together, one engine batch
    seeds: [0]
    out: runs/gsm8k_qwen05

Errors name the key, the value and what is allowed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

TOP_KEYS = {
    "task": True,
    "model": True,
    "verifier": False,
    "strategies": True,
    "budgets": True,
    "budget_axis": False,
    "seeds": False,
    "out": False,
    "title": False,
    "batch_units": False,
}


class ConfigError(ValueError):
    """A config value that is missing, unknown or of the wrong type; the message names the key."""


@dataclass(frozen=True)
class RunConfig:
    """A validated experiment config."""

    task: Mapping[str, Any]
    model: Mapping[str, Any]
    verifier: Mapping[str, Any]
    strategies: tuple[Any, ...]
    budgets: tuple[float, ...]
    budget_axis: str = "samples"
    seeds: tuple[int, ...] = (0,)
    out: str = "runs/run"
    title: str | None = None
    batch_units: int = 1
    source: str = field(default="<dict>", compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The config as plain data (for the manifest)."""
        return {
            "task": dict(self.task),
            "model": dict(self.model),
            "verifier": dict(self.verifier),
            "strategies": [dict(s) for s in self.strategies],
            "budgets": list(self.budgets),
            "budget_axis": self.budget_axis,
            "seeds": list(self.seeds),
            "out": self.out,
            "title": self.title,
            "batch_units": self.batch_units,
        }


def _need(cond: Any, where: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{where}: {msg}")


def parse(data: Mapping[str, Any], *, source: str = "<dict>") -> RunConfig:
    """Validate a config mapping (as read from YAML) into a `RunConfig`."""
    from itslab import strategies as registry
    from itslab.budget import BUDGET_AXES

    _need(isinstance(data, Mapping), source, f"a config is a mapping of keys, got {type(data).__name__}")
    for k in data:
        _need(k in TOP_KEYS, source, f"unknown key {k!r}; allowed: {', '.join(TOP_KEYS)}")
    for k, required in TOP_KEYS.items():
        _need(not required or k in data, source, f"missing required key {k!r}")
    task = data["task"]
    _need(isinstance(task, Mapping) and "name" in task, f"{source}: task", "needs a mapping with 'name'")
    model = data["model"]
    _need(isinstance(model, Mapping), f"{source}: model", "needs a mapping with 'backend' and 'name'")
    from itslab import generators, verifiers

    _need(
        model.get("backend", "hf") in generators.names(),
        f"{source}: model.backend",
        f"{model.get('backend')!r} is not one of {', '.join(generators.names())}",
    )
    verifier = data.get("verifier") or {"name": "none"}
    if isinstance(verifier, str):
        verifier = {"name": verifier}
    _need(
        isinstance(verifier, Mapping),
        f"{source}: verifier",
        f"needs a verifier name or a mapping with 'name', got {verifier!r}",
    )
    _need(
        verifier.get("name") in verifiers.names(),
        f"{source}: verifier.name",
        f"{verifier.get('name')!r} is not one of {', '.join(verifiers.names())}",
    )
    specs = []
    strat = data["strategies"]
    _need(isinstance(strat, list) and strat, f"{source}: strategies", "needs a non-empty list")
    valid = registry.names()
    for i, s in enumerate(strat):
        s = {"name": s} if isinstance(s, str) else s
        where = f"{source}: strategies[{i}]"
        _need(isinstance(s, Mapping) and "name" in s, where, "needs a name")
        _need(s["name"] in valid, f"{where}.name", f"{s['name']!r} is not a strategy; valid: {', '.join(valid)}")
        extra = set(s) - {"name", "hyper", "label"}
        _need(not extra, where, f"unknown keys {sorted(extra)}; allowed: name, hyper, label")
        _need(isinstance(s.get("hyper", {}), Mapping), f"{where}.hyper", "needs a mapping")
        known = set(registry.info(s["name"]).defaults())
        for k in s.get("hyper", {}):
            _need(
                k in known,
                f"{where}.hyper",
                f"{k!r} is not a hyper-parameter of {s['name']}; valid: {', '.join(sorted(known))}",
            )
        specs.append(dict(s))
    budgets = data["budgets"]
    _need(
        isinstance(budgets, list)
        and budgets
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) and b > 0 for b in budgets)
        and len(set(budgets)) == len(budgets),
        f"{source}: budgets",
        f"needs a non-empty list of distinct positive numbers, got {budgets!r}",
    )
    axis = data.get("budget_axis", "samples")
    _need(
        axis in BUDGET_AXES + ("rollouts",),
        f"{source}: budget_axis",
        f"{axis!r} is not one of {', '.join(BUDGET_AXES + ('rollouts',))}",
    )
    seeds = data.get("seeds", [0])
    _need(
        isinstance(seeds, list)
        and seeds
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        and len(set(seeds)) == len(seeds),
        f"{source}: seeds",
        f"needs a non-empty list of distinct non-negative integers, got {seeds!r}",
    )
    batch_units = data.get("batch_units", 1)
    _need(
        isinstance(batch_units, int) and not isinstance(batch_units, bool) and batch_units >= 1,
        f"{source}: batch_units",
        f"needs a positive integer (problems run together), got {batch_units!r}",
    )
    return RunConfig(
        task=dict(task),
        model=dict(model),
        verifier=dict(verifier),
        strategies=tuple(specs),
        budgets=tuple(budgets),
        budget_axis=axis,
        seeds=tuple(seeds),
        out=str(data.get("out") or f"runs/{Path(source).stem}"),
        title=data.get("title"),
        batch_units=batch_units,
        source=source,
    )


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """The data in a YAML file; a one-line error naming the file when it is missing, binary or not YAML."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p} not found")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (a YAML {what} is expected)") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {' '.join(str(e).split())}") from None


def load(path: str | Path) -> RunConfig:
    """Read and validate a YAML config file."""
    return parse(read_yaml(path), source=str(path))


def build_problems(cfg: RunConfig) -> list:
    """The task's problems."""
    from itslab import tasks

    opts = {k: v for k, v in cfg.task.items() if k != "name"}
    try:
        return tasks.load(cfg.task["name"], **opts)
    except TypeError as e:
        raise ConfigError(f"{cfg.source}: task: {e}") from None


def build_generator(cfg: RunConfig, problems: list) -> Any:
    """The generator the config names, built by the backend registry (`itslab.generators.get`)."""
    from itslab import generators

    m = dict(cfg.model)
    backend, name = m.pop("backend", "hf"), m.pop("name", None)
    opts = m.pop("options", {}) or {}
    _need(not m, f"{cfg.source}: model", f"unknown keys {sorted(m)}; allowed: backend, name, options")
    _need(isinstance(opts, Mapping), f"{cfg.source}: model.options", f"needs a mapping, got {opts!r}")
    try:
        return generators.get(backend)(name, problems, **opts)
    except TypeError as e:  # an option the backend does not take
        raise ConfigError(f"{cfg.source}: model.options: {e}") from None
    except ValueError as e:
        raise ConfigError(f"{cfg.source}: model: {e}") from None


def build_verifier(cfg: RunConfig, generator: Any) -> Any:
    """The verifier the config names (None for ``none``), built by `itslab.verifiers.get`."""
    from itslab import verifiers

    v = dict(cfg.verifier)
    name = v.pop("name")
    try:
        return verifiers.get(name)(generator, **v)
    except TypeError as e:
        raise ConfigError(f"{cfg.source}: verifier: {e}") from None


def run_config(cfg: RunConfig, *, out: str | None = None, store: Any = None, progress: bool = True) -> Path:
    """Sweep `cfg`, write results, manifest, plot and report into its output directory; return it
    (what `itslab run` does)."""
    from itslab.experiments import rundir
    from itslab.experiments.grid import StrategySpec
    from itslab.experiments.pool_memo import EngineCounter
    from itslab.experiments.report import write_report
    from itslab.experiments.runner import run

    started, source = time.time(), rundir.source_state()
    fresh = not Path(out or cfg.out).exists()
    out_dir = rundir.claim(out or cfg.out, cfg.as_dict())  # before any compute: a bad --out fails now
    try:
        problems = build_problems(cfg)
        gen = build_generator(cfg, problems)
        ver = build_verifier(cfg, gen)
    except BaseException:
        if fresh and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a model or task that fails to load leaves no empty run directory behind
        raise
    loaded = time.time()
    counted = EngineCounter(gen)
    partial = rundir.PartialResults(out_dir)
    specs = [StrategySpec(s["name"], dict(s.get("hyper", {})), s.get("label")) for s in cfg.strategies]
    df = run(
        problems,
        specs,
        cfg.budgets,
        cfg.seeds,
        counted,
        ver,
        store=store,
        budget_axis=cfg.budget_axis,
        progress=progress,
        batch_units=cfg.batch_units,
        on_rows=partial.add,
    )
    sweep_s = time.time() - loaded
    # throughput from what the engine generated (nested budgets share samples; rows would double count)
    man = rundir.manifest(
        model=gen.model_id,
        config=cfg.as_dict(),
        seeds=cfg.seeds,
        started=started,
        source=source,
        extra={
            "n_problems": len(problems),
            "n_rows": len(df),
            **counted.stats(),
            "load_seconds": round(loaded - started, 2),
            "sweep_seconds": round(sweep_s, 2),
            "sweep_generated_tokens_per_s": round(counted.generated_tokens / max(sweep_s, 1e-9), 2),
        },
    )
    d = rundir.save(df, out_dir, man)
    partial.discard()
    write_report(d, title=cfg.title)
    return d
