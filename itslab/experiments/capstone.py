"""One harness, many strategies, many tasks (notebook 18): every registered strategy on every task it can run.

Parashar et al. 2025 (Sys2Bench, arXiv:2502.12521) run the same inference-time techniques over
eleven tasks and find that no technique does well on all of them. Here a `Task` is a set of
problems with a generator and its verifiers: the calibrated step-wise simulators of notebooks
07-08 (`simulated_tasks`) and the recorded real-model banks of ``data/banks`` (`bank_tasks`,
finished ones and those still landing). `probe` tries every registered strategy on one problem
of a task and keeps the reason when it cannot run (a bank replays whole samples only; a
constrained strategy needs a constraint); `sweep` runs the ones that can through
`experiments.run` with N-rollout budgets (`Rollouts`), one row per problem × strategy × budget ×
verifier; `scaling.task_grid` reads the resulting frame (the strategy × task table, the
cross-fitted all-rounder test). `pool_of` gives a task's whole samples to the pool estimators.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from itslab.experiments.grid import Rollouts, StrategySpec
from itslab.types import Problem

EXTRA_HYPER: dict[str, dict[str, Any]] = {"phi_decoding": {"n_rollouts": 2}}  # notebook 07's equal-token setting
NO_VERIFIER = "-"


@dataclass(frozen=True)
class Task:
    """A task of the harness: problems, the generator that serves them, its verifiers (the first is
    the task's primary one), the sampling settings every strategy must use (`hyper`), a `family`
    (task and model: banks of one family share problems), and a note (calibration, partial bank)."""

    name: str
    problems: tuple[Problem, ...]
    generator: Any
    verifiers: Mapping[str, Any]
    hyper: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "simulator"
    family: str = ""
    temperature: float | None = None
    note: str = ""

    def head(self, n: int | None) -> "Task":
        """The same task on its first `n` problems (all when None)."""
        return replace(self, problems=self.problems[:n])


class ConfidenceScores:
    """A bank's recorded exp(mean token log-probability) as a verifier score in (0, 1]: the
    length-normalised sequence probability (`Bank.pool`'s confidence), so score-weighted votes and
    thresholds read it as a probability (`BankScores` returns the log)."""

    def __init__(self, bank: Any) -> None:
        from itslab.banks import BankScores

        self._inner = BankScores(bank, "logprob_mean")
        self.name = "bank:exp(logprob_mean)"

    def score(self, problem: Problem, texts: Sequence[str]) -> list[tuple[float, ...]]:
        """exp of each text's recorded mean token logprob."""
        return [(float(np.exp(s[0])),) for s in self._inner.score(problem, texts)]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Any:
        """One verifier call per text, as the recorded scores cost."""
        return self._inner.cost(problem, texts)


def simulated_tasks(n_problems: int, *, seed: int = 0, which: Sequence[str] | None = None) -> list[Task]:
    """The calibrated step-wise simulators of notebooks 07-08 as tasks, each with its simulated PRM.

    ``math-rebase``: REBASE at 32 rollouts solves 46.8% (Wu et al. 2024, table 1; notebook 07);
    ``math500``: exact pass@1 70.0% at T = 0.8 (Qwen2.5-Math-1.5B, Puri et al. 2025 fig. 1;
    notebook 08) with a PRM of per-step AUC 0.70; ``math500-weak-prm``: the same problems with a
    PRM of AUC 0.60; ``one-distractor``: every wrong path lands on one wrong answer (yes/no-like
    tasks, where voting cannot outvote a popular mistake), pass@1 ~ Beta(2, 2).
    """
    from itslab.experiments import particle_scaling, step_search
    from itslab.generators.simulated import make_suite

    lim = dict(step_search.STEP_LIMITS)
    builders = {
        "math-rebase": lambda: (
            *step_search.shifted_suite(n_problems, seed=seed, shift=-3.75, a=1.0, b=1.0),
            step_search.simulated_prm(0.75, 0.5, seed=seed),
            "notebook 07: REBASE@32 = 46.8% (Wu et al. 2024, table 1); PRM AUC 0.75, shared errors 0.5",
        ),
        "math500": lambda: (
            *particle_scaling.calibrated_suite(n_problems, 0.70, seed=seed + 2024, n_steps=(3, 8)),
            particle_scaling.prm(4.0, seed=seed),
            "notebook 08: pass@1 70.0% (Puri et al. 2025, fig. 1); PRM noise 4 (per-step AUC 0.70)",
        ),
        "math500-weak-prm": lambda: (
            *particle_scaling.calibrated_suite(n_problems, 0.70, seed=seed + 2024, n_steps=(3, 8)),
            particle_scaling.prm(8.0, seed=seed),
            "as math500, PRM noise 8 (per-step AUC 0.60)",
        ),
        "one-distractor": lambda: (
            *make_suite(n_problems, seed=seed + 7, kind="stepwise", a=2.0, b=2.0, n_distractors=1),
            particle_scaling.prm(4.0, seed=seed),
            "pass@1 ~ Beta(2, 2), one wrong answer per problem; PRM noise 4",
        ),
    }
    names = list(builders) if which is None else list(which)
    unknown = sorted(set(names) - set(builders))
    if unknown:
        raise ValueError(f"simulated_tasks: unknown {unknown}; known: {sorted(builders)}")
    out = []
    for name in names:
        problems, gen, prm, note = builders[name]()
        out.append(Task(name, tuple(problems), gen, {"PRM": prm}, lim, "simulator", name, None, note))
    return out


def bank_tasks(*, root: Any = None, partial: bool = True, limit: int | None = None) -> list[Task]:
    """Every finished bank under `root` (default ``data/banks``) as a task, and with `partial` every
    bank still being recorded (its committed parts; noted ``partial``). Verifiers: the model's own
    P("Yes") where recorded, and exp(mean token logprob) always. `limit` keeps the first problems.
    A bank whose problems cannot be rebuilt here (a benchmark's text not available offline) becomes
    a task without problems, noted why: its pool (`pool_of`) still serves the sample-level analyses."""
    from itslab import banks

    names = [(b["name"], False) for b in banks.list_banks(root) if b["verified"]]
    names += [(n, True) for n in banks.in_progress(root)] if partial else []
    out = []
    for name, part in names:
        b = banks.load_parts(name, root) if part else banks.load(name, root)
        spec = b.manifest["spec"]
        s = spec["sampling"]
        verifiers: dict[str, Any] = {}
        if np.isfinite(b.self_eval).all():
            verifiers["P(Yes)"] = banks.BankScores(b, "self_eval")
        verifiers["exp(logprob)"] = ConfidenceScores(b)
        n_total = spec["task"].get("limit")
        note = f"partial: {len(b.problem_ids)} of {n_total} problems recorded" if part else "finished"
        try:
            problems = banks.problems(b)[:limit]
        except (RuntimeError, OSError, ValueError) as e:  # e.g. GSM8K's text not available offline
            problems, note = [], f"{note}; strategies not run: {str(e).splitlines()[0][:120]}"
        out.append(
            Task(
                name=name,
                problems=tuple(problems),
                generator=banks.BankReplay(b),
                verifiers=verifiers,
                hyper={"temperature": s["temperature"], "max_tokens": s["max_tokens"], "top_p": s["top_p"]},
                kind="bank",
                family=f"{spec['task']['name']} · {spec['model']['name']}",
                temperature=float(s["temperature"]),
                note=note,
            )
        )
    return out


def hyper_for(name: str, task: Task) -> dict[str, Any]:
    """The task's sampling settings a strategy accepts, plus its `EXTRA_HYPER`."""
    from itslab import strategies

    accepted = strategies.info(name).defaults()
    return {**{k: v for k, v in task.hyper.items() if k in accepted}, **EXTRA_HYPER.get(name, {})}


def probe(task: Task, names: Sequence[str] | None = None, *, n: int = 4) -> pd.DataFrame:
    """Can each registered strategy run on `task`, and with which verifiers? It is run on the task's
    first problem with `n` rollouts under each of the task's verifiers: a run that calls no verifier
    makes it verifier-free (one row, verifier "-"); one that does gets a row per verifier that works.
    With no verifier working it is tried without one; ``reason`` keeps the last error otherwise."""
    from itslab import experiments, strategies

    rows: list[dict[str, Any]] = []
    for name in (strategies.names() if names is None else names) if task.problems else []:
        spec, errors, found = StrategySpec(name, hyper_for(name, task)), [], list[str]()
        for vname, ver in [*task.verifiers.items(), (NO_VERIFIER, None)]:
            if vname == NO_VERIFIER and found:
                break
            try:
                df = experiments.run(task.problems[:1], [spec], [Rollouts(n)], [0], task.generator, ver, progress=False)
            except Exception as e:  # noqa: BLE001 - any failure means "cannot run here"; the reason is kept
                errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:160]}")
                continue
            if ver is not None and not df["verifier_calls"].sum():
                found = [NO_VERIFIER]  # ran without asking the verifier: verifier-free
                break
            found.append(vname)
        rows += [{"task": task.name, "strategy": name, "verifier": v, "runs": True, "reason": ""} for v in found]
        if not found:
            rows.append({"task": task.name, "strategy": name, "verifier": "", "runs": False, "reason": errors[-1]})
    return pd.DataFrame(rows, columns=["task", "strategy", "verifier", "runs", "reason"])


def probe_all(tasks: Sequence[Task], *, n_sim: int = 2, n_bank: int = 4) -> pd.DataFrame:
    """`probe` every task (`n_bank` rollouts on a bank: a refinement is asked for only after a few);
    simulator tasks sharing a generator class and verifier classes can run the same strategies,
    so they are probed once and the rows reused."""
    seen: dict[tuple[str, ...], pd.DataFrame] = {}
    frames = []
    for t in tasks:
        key = (type(t.generator).__name__, *(type(v).__name__ for v in t.verifiers.values()))
        if t.kind == "simulator" and key in seen:
            frames.append(seen[key].assign(task=t.name))
            continue
        frames.append(probe(t, n=n_sim if t.kind == "simulator" else n_bank))
        if t.kind == "simulator":
            seen[key] = frames[-1]
    return pd.concat(frames, ignore_index=True)


def sweep(
    tasks: Sequence[Task],
    budgets: Sequence[int],
    *,
    probes: pd.DataFrame,
    seeds: Sequence[int] = (0,),
    skip: Sequence[str] = (),
    variants: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Every strategy that `probes` says runs, on each task, at N-rollout `budgets`.

    One `experiments.run` row per problem × strategy × budget × seed, plus ``task``, ``kind``,
    ``family``, ``temperature`` (the bank's), ``verifier`` and ``config`` (strategy · verifier ·
    variant, the label the tables use). `variants` (label → hyper) reruns every strategy with
    those hyper-parameters overridden (e.g. temperatures); `skip` leaves strategies out. A probe
    runs one problem with two rollouts; a strategy that fails later (a bank holds no refinement of
    the sample it chose) is dropped from that task and listed in ``frame.attrs["failed"]``.
    """
    frames, failed = [], []
    for task in tasks:
        ok = probes[(probes["task"] == task.name) & probes["runs"] & ~probes["strategy"].isin(list(skip))]
        for vname in dict.fromkeys(ok["verifier"]):
            specs = []
            for name in ok[ok["verifier"] == vname]["strategy"]:
                for vlabel, over in (variants or {"": {}}).items():
                    label = " · ".join(x for x in (name, "" if vname == NO_VERIFIER else vname, vlabel) if x)
                    specs.append(StrategySpec(name, {**hyper_for(name, task), **dict(over)}, label))
            df, bad = _run_all(task, specs, budgets, seeds, task.verifiers.get(vname))
            failed += [{"task": task.name, "config": k, "reason": r} for k, r in bad]
            if df is not None:
                extra = dict(task=task.name, kind=task.kind, family=task.family, temperature=task.temperature)
                frames.append(df.rename(columns={"strategy": "config"}).assign(**extra, verifier=vname))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out.attrs["failed"] = pd.DataFrame(failed, columns=["task", "config", "reason"])
    return out


def _run_all(
    task: Task, specs: list[StrategySpec], budgets: Sequence[int], seeds: Sequence[int], verifier: Any
) -> tuple[pd.DataFrame | None, list[tuple[str, str]]]:
    """All `specs` in one run (they share each problem's sample pool); on a failure, one run each."""
    from itslab import experiments

    def go(ss: list[StrategySpec]) -> pd.DataFrame:
        budgets_ = [Rollouts(b) for b in budgets]
        return experiments.run(list(task.problems), ss, budgets_, list(seeds), task.generator, verifier, progress=False)

    try:
        return (go(specs) if specs else None), []
    except Exception:  # noqa: BLE001 - find which spec fails, keep the others
        pass
    frames, bad = [], []
    for spec in specs:
        try:
            frames.append(go([spec]))
        except Exception as e:  # noqa: BLE001 - reported, not raised: the harness runs what can run
            bad.append((spec.key, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"))
    return (pd.concat(frames, ignore_index=True) if frames else None), bad


def pool_of(task: Task, n: int, *, seed: int = 0, temperature: float = 0.8) -> Any:
    """`n` whole samples per problem of `task` as a `pools.Pool`: a bank's first `n` recorded samples,
    or fresh simulator samples at `temperature` (the strategies' default) within the task's limits."""
    from itslab import pools

    if task.kind == "bank":
        bank = task.generator.bank
        rows = [bank.problem_ids.index(p.id) for p in task.problems] or list(range(len(bank.problem_ids)))
        full = bank.pool(n)
        return pools.Pool(
            problem_ids=tuple(full.problem_ids[i] for i in rows),
            correct=full.correct[rows],
            answers=full.answers[rows],
            tokens=full.tokens[rows],
            confidence=full.confidence[rows],
            params=full.params,
        )
    max_tokens = int(task.hyper.get("max_tokens", 1024))
    return pools.draw_pool(
        task.generator, list(task.problems), n, seed=seed, temperature=temperature, max_tokens=max_tokens
    )
