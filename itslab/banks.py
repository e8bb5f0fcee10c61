"""Sample banks: real generations recorded once with the project's runner, shipped in ``data/banks/``.

A bank holds what repeated sampling (Brown et al. 2024, arXiv:2407.21787) needs from a real model:
n samples per problem at one sampling setting, with answers, grades, token counts, mean token
log-probabilities and, where recorded, the model's P("Yes") self-evaluation (Kadavath et al. 2022,
arXiv:2207.05221). Rows name problems by ``Problem.id``, never by question text. `record` writes
each chunk of problems as its own Parquet part, so a stopped recording resumes at the next missing
one; `load` returns a `Bank`, `replay` a generator serving its samples. Specs are YAML
(``data/banks/specs/``); columns in ``data/banks/README.md``; recording details in docs/methods.md.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from itslab.types import Completion, Problem, Request

SPEC_KEYS = {
    "name": True,
    "task": True,
    "model": True,
    "sampling": True,
    "seed": False,
    "self_evaluation": False,
    "chunk": False,
    "title": False,
}
SAMPLING_KEYS = {"n": True, "temperature": True, "max_tokens": True, "top_p": False, "top_k": False}
BANK_FILE, MANIFEST, PARTS, SPEC_FILE = "bank.parquet", "manifest.json", "parts", "spec.json"
COLUMNS = (
    "problem_id",
    "problem_index",
    "task",
    "model_id",
    "model_sha256",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
    "sample_index",
    "text",
    "generated_tokens",
    "prompt_tokens",
    "finish_reason",
    "logprob_sum",
    "logprob_mean",
    "answer",
    "correct",
    "self_eval",
    "wall_time_s",
    "self_eval_time_s",
)


class BankError(ValueError):
    """A bank spec or bank file that is missing, malformed or inconsistent; the message names it."""


def default_root() -> Path:
    """``data/banks`` of the checkout holding itslab (where the shipped banks live)."""
    return Path(__file__).resolve().parent.parent / "data" / "banks"


@dataclass(frozen=True)
class BankSpec:
    """What to record: task, model, sampling setting, seed, self-evaluation, chunk size."""

    name: str
    task: Mapping[str, Any]
    model: Mapping[str, Any]
    sampling: Mapping[str, Any]
    seed: int = 0
    self_evaluation: bool = False
    chunk: int = 4
    title: str | None = None
    source: str = field(default="<dict>", compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain data (written beside the parts and in the manifest)."""
        return {
            "name": self.name,
            "task": dict(self.task),
            "model": dict(self.model),
            "sampling": dict(self.sampling),
            "seed": self.seed,
            "self_evaluation": self.self_evaluation,
            "chunk": self.chunk,
            "title": self.title,
        }

    def recording_key(self) -> dict[str, Any]:
        """What the samples depend on (the model's run-time options, e.g. threads, do not count)."""
        d = self.as_dict()
        d["model"] = {k: v for k, v in d["model"].items() if k != "options"}
        d.pop("title")
        return d


def _need(cond: Any, where: str, msg: str) -> None:
    if not cond:
        raise BankError(f"{where}: {msg}")


def parse_spec(data: Mapping[str, Any], *, source: str = "<dict>") -> BankSpec:
    """Validate a bank spec mapping (as read from YAML)."""
    _need(isinstance(data, Mapping), source, f"a bank spec is a mapping, got {type(data).__name__}")
    for k in data:
        _need(k in SPEC_KEYS, source, f"unknown key {k!r}; allowed: {', '.join(SPEC_KEYS)}")
    for k, required in SPEC_KEYS.items():
        _need(not required or k in data, source, f"missing required key {k!r}")
    name = data["name"]
    _need(
        isinstance(name, str) and name and all(c.isalnum() or c in "-_." for c in name),
        f"{source}: name",
        f"needs letters, digits, '-', '_' or '.', got {name!r}",
    )
    _need(
        isinstance(data["task"], Mapping) and "name" in data["task"], f"{source}: task", "needs a mapping with 'name'"
    )
    _need(
        isinstance(data["model"], Mapping) and "name" in data["model"],
        f"{source}: model",
        "needs a mapping with 'backend' and 'name'",
    )
    s = data["sampling"]
    _need(isinstance(s, Mapping), f"{source}: sampling", "needs a mapping with n, temperature, max_tokens")
    for k in s:
        _need(k in SAMPLING_KEYS, f"{source}: sampling", f"unknown key {k!r}; allowed: {', '.join(SAMPLING_KEYS)}")
    for k, required in SAMPLING_KEYS.items():
        _need(not required or k in s, f"{source}: sampling", f"missing required key {k!r}")
    _need(isinstance(s["n"], int) and s["n"] >= 1, f"{source}: sampling.n", f"needs a positive integer, got {s['n']!r}")
    _need(
        isinstance(s["max_tokens"], int) and s["max_tokens"] >= 1,
        f"{source}: sampling.max_tokens",
        f"needs a positive integer, got {s['max_tokens']!r}",
    )
    _need(
        isinstance(s["temperature"], (int, float)) and s["temperature"] >= 0,
        f"{source}: sampling.temperature",
        f"needs a number >= 0, got {s['temperature']!r}",
    )
    seed, chunk = data.get("seed", 0), data.get("chunk", 4)
    _need(
        isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0,
        f"{source}: seed",
        f"needs a non-negative integer, got {seed!r}",
    )
    _need(
        isinstance(chunk, int) and not isinstance(chunk, bool) and chunk >= 1,
        f"{source}: chunk",
        f"needs a positive integer (problems per part file), got {chunk!r}",
    )
    sampling = {
        "n": s["n"],
        "temperature": float(s["temperature"]),
        "max_tokens": s["max_tokens"],
        "top_p": float(s.get("top_p", 1.0)),
        "top_k": s.get("top_k"),
    }
    return BankSpec(
        name=name,
        task=dict(data["task"]),
        model=dict(data["model"]),
        sampling=sampling,
        seed=seed,
        self_evaluation=bool(data.get("self_evaluation", False)),
        chunk=chunk,
        title=data.get("title"),
        source=source,
    )


def read_spec(path: str | Path) -> BankSpec:
    """Read and validate a YAML bank spec."""
    from itslab.experiments.config import read_yaml

    return parse_spec(read_yaml(path, "bank spec"), source=str(path))


# --- recording ---------------------------------------------------------------------------------


def _write_parquet(df: Any, path: Path) -> None:
    """Write `df` as zstd Parquet to a temporary name, then rename: never a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        df.to_parquet(tmp, index=False, compression="zstd")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_json(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def _model_sha256(model: Mapping[str, Any]) -> str | None:
    from itslab import models

    name = model.get("name")
    return models.REGISTRY[name].sha256 if name in models.REGISTRY else None


def _score(x: Any) -> float:
    return float(x[0] if isinstance(x, (tuple, list)) else x)


def sample_rows(
    spec: BankSpec,
    problems: Sequence[tuple[int, Problem]],
    completions: Sequence[Sequence[Completion]],
    seeds: Sequence[int],
    *,
    model_id: str,
    model_sha: str | None,
    wall: float,
    self_eval: Sequence[Sequence[float]] | None,
    self_eval_wall: float,
) -> list[dict[str, Any]]:
    """One row per sample (the bank's schema, `COLUMNS`), graded by the task's checker."""
    from itslab import tasks

    n_samples = sum(len(c) for c in completions) or 1
    rows = []
    for (index, problem), comps, seed, k in zip(problems, completions, seeds, range(len(problems))):
        for j, c in enumerate(comps):
            lps = c.logprobs or ()
            answer = tasks.answer_of(problem, c.text)
            rows.append(
                {
                    "problem_id": problem.id,
                    "problem_index": index,
                    "task": spec.task["name"],
                    "model_id": model_id,
                    "model_sha256": model_sha,
                    "temperature": spec.sampling["temperature"],
                    "top_p": spec.sampling["top_p"],
                    "top_k": spec.sampling["top_k"],
                    "max_tokens": spec.sampling["max_tokens"],
                    "seed": int(seed),
                    "sample_index": j,
                    "text": c.text,
                    "generated_tokens": int(c.n_tokens),
                    "prompt_tokens": int(c.n_prompt_tokens),
                    "finish_reason": c.finish_reason,
                    "logprob_sum": float(sum(lps)) if lps else math.nan,
                    "logprob_mean": float(sum(lps) / len(lps)) if lps else math.nan,
                    "answer": answer,
                    "correct": bool(tasks.check_answer(problem, answer)),
                    "self_eval": float(self_eval[k][j]) if self_eval is not None else math.nan,
                    # one engine batch decodes all samples of a chunk together: its wall time is shared
                    "wall_time_s": wall / n_samples,
                    "self_eval_time_s": self_eval_wall / n_samples if self_eval is not None else math.nan,
                }
            )
    return rows


def bank_dir(name: str, root: str | Path | None = None) -> Path:
    """Folder of bank `name` under `root` (default `default_root()`)."""
    return Path(root) if root is not None and Path(root).name == name else Path(root or default_root()) / name


def record(
    spec: BankSpec,
    *,
    root: str | Path | None = None,
    store: str | Path | None = None,
    generator: Any = None,
    progress: bool = True,
    limit_chunks: int | None = None,
    on_part: Callable[[Path], None] | None = None,
) -> Path:
    """Record bank `spec` under `root`, resuming at the first unfinished chunk; returns the bank folder.

    `generator` overrides the spec's model (tests pass a simulator); `store` (a SQLite path) also
    caches samples inside an unfinished chunk. `limit_chunks` stops after that many new chunks.
    When every chunk is done the parts are joined by `finalize`.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from itslab.experiments import config as configs
    from itslab.experiments import rundir as runs
    from itslab.pools import request_seed
    from itslab.protocols import prompt_for

    out = bank_dir(spec.name, root)
    out.mkdir(parents=True, exist_ok=True)
    spec_file = out / SPEC_FILE
    if spec_file.is_file():
        old = json.loads(spec_file.read_text())
        have = {k: v for k, v in old.items() if k in spec.recording_key()}
        have["model"] = {k: v for k, v in old.get("model", {}).items() if k != "options"}
        if have != spec.recording_key():
            raise BankError(
                f"{out}: holds a bank recorded with another spec ({spec_file}); use another name or delete the folder"
            )
    elif (out / BANK_FILE).exists():
        raise BankError(f"{out}: holds a finished bank without {SPEC_FILE}; refusing to mix")
    else:
        _write_json(spec.as_dict(), spec_file)
    if (out / BANK_FILE).is_file() and (out / MANIFEST).is_file():
        # finished: parts restored from git (or left over) must not re-join it with replayed timings
        return out
    (out / PARTS).mkdir(exist_ok=True)
    cfg = configs.parse(
        {"task": spec.task, "model": spec.model, "strategies": ["majority_vote"], "budgets": [1]}, source=spec.source
    )
    problems = configs.build_problems(cfg)
    chunks = [list(range(i, min(i + spec.chunk, len(problems)))) for i in range(0, len(problems), spec.chunk)]
    todo = [c for c, idx in enumerate(chunks) if not (out / PARTS / f"part-{c:04d}.parquet").is_file()]
    source = runs.source_state()
    if todo:
        gen = generator if generator is not None else configs.build_generator(cfg, problems)
        if store is not None:
            from itslab.generators.store import Cached, SampleStore

            gen = Cached(gen, SampleStore(store))
        judge = None
        if spec.self_evaluation:
            from itslab.verifiers import SelfEvaluation

            judge = SelfEvaluation(gen)
        model_id = str(getattr(gen, "model_id", spec.model["name"]))
        sha = _model_sha256(spec.model)
        s = spec.sampling
        bar = tqdm(
            total=len(todo) * spec.chunk * s["n"],
            desc=f"bank {spec.name}",
            unit="sample",
            disable=not progress,
            file=sys.stderr,
        )
        for done, c in enumerate(todo):
            if limit_chunks is not None and done >= limit_chunks:
                break
            batch = [(i, problems[i]) for i in chunks[c]]
            seeds = [request_seed(spec.seed, p) for _, p in batch]
            reqs = [
                Request(
                    prefix=prompt_for(p, gen),
                    n=s["n"],
                    max_tokens=s["max_tokens"],
                    temperature=s["temperature"],
                    top_p=s["top_p"],
                    top_k=s["top_k"],
                    seed=sd,
                    logprobs=True,
                )
                for (_, p), sd in zip(batch, seeds)
            ]
            replayed, t0 = getattr(gen, "n_from_store", 0), time.perf_counter()
            comps = gen.generate(reqs)
            wall = time.perf_counter() - t0
            if getattr(gen, "n_from_store", 0) != replayed:
                wall = math.nan  # some samples came from the store: this call did not time their generation
            scores, t1 = None, time.perf_counter()
            if judge is not None:
                scores = [
                    [_score(x) for x in judge.score(p, [c_.text for c_ in cs])] for (_, p), cs in zip(batch, comps)
                ]
            rows = sample_rows(
                spec,
                batch,
                comps,
                seeds,
                model_id=model_id,
                model_sha=sha,
                wall=wall,
                self_eval=scores,
                self_eval_wall=time.perf_counter() - t1,
            )
            part = out / PARTS / f"part-{c:04d}.parquet"
            _write_parquet(pd.DataFrame(rows, columns=list(COLUMNS)), part)
            bar.update(len(rows))
            bar.set_postfix(tok_s=f"{sum(r['generated_tokens'] for r in rows) / max(wall, 1e-9):.1f}")
            if on_part is not None:
                on_part(part)
        bar.close()
    left = [c for c in range(len(chunks)) if not (out / PARTS / f"part-{c:04d}.parquet").is_file()]
    if not left:
        finalize(out, spec, command=" ".join(sys.argv), source=source)
    return out


def finalize(folder: Path, spec: BankSpec, *, command: str, source: Mapping[str, Any] | None = None) -> Path:
    """Join the parts into ``bank.parquet`` (zstd) and write ``manifest.json``; removes the parts."""
    import pandas as pd

    from itslab.experiments import rundir as runs

    parts = sorted((folder / PARTS).glob("part-*.parquet"))
    _need(bool(parts), str(folder), "no parts to join")
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    df = df.sort_values(["problem_index", "sample_index"], kind="stable").reset_index(drop=True)
    _write_parquet(df, folder / BANK_FILE)
    timed = df["wall_time_s"].notna()
    gen_time = float(df.loc[timed, "wall_time_s"].sum())
    tokens = int(df["generated_tokens"].sum())
    timed_tokens = int(df.loc[timed, "generated_tokens"].sum())
    man = {
        "name": spec.name,
        "title": spec.title,
        "spec": spec.as_dict(),
        "command": command,
        **(dict(source) if source is not None else runs.source_state()),
        "machine": runs.machine(),
        "problems": int(df["problem_id"].nunique()),
        "samples_per_problem": int(df.groupby("problem_id").size().min()),
        "samples": len(df),
        "generated_tokens": tokens,
        # samples replayed from the store after an interruption carry no timing: rates use the timed ones
        "timed_samples": int(timed.sum()),
        "generation_wall_s": round(gen_time, 3),
        "engine_tokens_per_s": round(timed_tokens / gen_time, 3) if gen_time > 0 else None,
        "self_evaluation_wall_s": (round(float(df["self_eval_time_s"].sum()), 3) if spec.self_evaluation else None),
        "cut_off_fraction": round(float((df["finish_reason"] == "length").mean()), 5),
        "pass_at_1": round(float(df["correct"].mean()), 5),
        "sha256": hashlib.sha256((folder / BANK_FILE).read_bytes()).hexdigest(),
        "bytes": (folder / BANK_FILE).stat().st_size,
    }
    _write_json(man, folder / MANIFEST)
    shutil.rmtree(folder / PARTS)
    return folder / BANK_FILE


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Bank:
    """A loaded bank: the tidy `frame` (one row per sample) and [P, n] arrays in problem order;
    `answers` holds each sample's `itslab.tasks.vote_key` (how majority voting groups it), the
    frame's ``answer`` column the answer as extracted."""

    name: str
    frame: Any
    manifest: Mapping[str, Any]
    problem_ids: tuple[str, ...]
    correct: np.ndarray
    answers: np.ndarray
    tokens: np.ndarray
    logprob_mean: np.ndarray
    self_eval: np.ndarray

    @property
    def n(self) -> int:
        """Samples per problem."""
        return int(self.correct.shape[1])

    def pool(self, k: int | None = None) -> Any:
        """The first `k` samples of each problem as an `itslab.pools.Pool` (confidence = exp(mean logprob))."""
        from itslab.pools import Pool

        k = self.n if k is None else k
        return Pool(
            problem_ids=self.problem_ids,
            correct=self.correct[:, :k].copy(),
            answers=self.answers[:, :k].copy(),
            tokens=self.tokens[:, :k].copy(),
            confidence=np.exp(self.logprob_mean[:, :k]),
            params=dict(self.manifest.get("spec", {})),
        )


def list_banks(root: str | Path | None = None) -> list[dict[str, Any]]:
    """Every finished bank under `root` with its manifest facts and whether its sha256 verifies."""
    out = []
    for man_path in sorted(Path(root or default_root()).glob(f"*/{MANIFEST}")):
        man = json.loads(man_path.read_text())
        f = man_path.parent / BANK_FILE
        got = hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None
        out.append(
            {
                "name": man_path.parent.name,
                "problems": man.get("problems"),
                "samples_per_problem": man.get("samples_per_problem"),
                "bytes": man.get("bytes"),
                "sha256": man.get("sha256"),
                "verified": got == man.get("sha256"),
                "model": man.get("spec", {}).get("model", {}).get("name"),
                "task": man.get("spec", {}).get("task", {}).get("name"),
                "temperature": man.get("spec", {}).get("sampling", {}).get("temperature"),
            }
        )
    return out


def summary(name: str, root: str | Path | None = None, ks: Sequence[int] = (1, 4, 16, 32)) -> Any:
    """Pass@k (coverage, Brown et al. 2024, arXiv:2407.21787), maj@k (Wang et al. 2023,
    arXiv:2203.11171) and best-of-k by mean token logprob and by self-evaluation (where recorded) of
    bank `name`, each with its standard error over problems; one row per (metric, k)."""
    import pandas as pd

    from itslab.scaling import best_of_k, majority_at_k, pass_at_k

    b = load(name, root)
    ks = [k for k in ks if k <= b.n]
    parts = [pass_at_k(b.correct, ks), majority_at_k(b.answers, b.correct, ks, rng=np.random.default_rng(0))]
    parts.append(best_of_k(b.logprob_mean, b.correct, ks).assign(metric="bon@k (logprob)"))
    if np.isfinite(b.self_eval).all():
        parts.append(best_of_k(b.self_eval, b.correct, ks).assign(metric="bon@k (self-eval)"))
    spec = b.manifest.get("spec", {})
    frame = pd.concat([p[["metric", "k", "value", "se"]] for p in parts], ignore_index=True)
    return frame.assign(
        bank=name,
        model=spec.get("model", {}).get("name"),
        task=spec.get("task", {}).get("name"),
        temperature=spec.get("sampling", {}).get("temperature"),
        problems=len(b.problem_ids),
        samples=b.n,
    )


def summary_table(root: str | Path | None = None, ks: Sequence[int] = (1, 4, 16, 32)) -> str:
    """A Markdown table of `summary` for every finished bank under `root` (value ± SE, in %); 16 is in
    the default ks because the Countdown banks hold 16 samples per problem."""
    rows = []
    for entry in list_banks(root):
        s = summary(entry["name"], root, ks)
        cells = {
            f"{r.metric.replace('@k', f'@{r.k}')}": f"{100 * r.value:.1f} ± {100 * r.se:.1f}" for r in s.itertuples()
        }
        first = s.iloc[0]
        rows.append(
            {
                "bank": entry["name"],
                "model": first["model"],
                "task": first["task"],
                "T": first["temperature"],
                "problems × samples": f"{first['problems']} × {first['samples']}",
                **cells,
            }
        )
    if not rows:
        return "(no finished banks)"
    cols = list(dict.fromkeys(c for r in rows for c in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "–")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def load(name: str, root: str | Path | None = None) -> Bank:
    """Bank `name` (a folder under `root`, default the shipped ``data/banks``), sha256-verified."""
    import pandas as pd

    folder = bank_dir(name, root)
    f, m = folder / BANK_FILE, folder / MANIFEST
    if not f.is_file() or not m.is_file():
        known = [b["name"] for b in list_banks(root)]
        raise BankError(f"no finished bank {name!r} under {folder.parent} (known: {', '.join(known) or 'none'})")
    try:
        man = json.loads(m.read_text())
    except ValueError as e:
        raise BankError(f"{m}: not valid JSON ({e})") from None
    got = hashlib.sha256(f.read_bytes()).hexdigest()
    if got != man.get("sha256"):
        raise BankError(f"{f}: sha256 {got} does not match its manifest's {man.get('sha256')}")
    return _from_frame(name, pd.read_parquet(f), man, str(f))


def _from_frame(name: str, df: Any, man: Mapping[str, Any], where: str) -> Bank:
    """A `Bank` from its sample rows (schema and equal sample counts checked; arrays read-only)."""
    from itslab.tasks import vote_key

    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise BankError(f"{where}: missing columns {missing}")
    df = df.sort_values(["problem_index", "sample_index"], kind="stable").reset_index(drop=True)
    counts = df.groupby("problem_index", sort=True).size()
    if counts.nunique() != 1:
        raise BankError(f"{where}: problems have different sample counts ({sorted(set(counts))})")
    P, n = len(counts), int(counts.iloc[0])

    def grid(col: str, dtype: Any = None) -> np.ndarray:
        a = df[col].to_numpy(dtype=dtype) if dtype is not None else df[col].to_numpy()
        return a.reshape(P, n)

    ids = tuple(df["problem_id"].to_numpy().reshape(P, n)[:, 0])
    # the arrays vote as the majority_vote strategy does: by `tasks.vote_key` (the stored answer is the
    # raw extraction, e.g. "   6 - 4 " and "4 - 6 = 2", or "2" and "2 marbles"; the frame keeps it)
    by_id = _task_problems(man.get("spec", {}), where, synthetic_only=True) or {}
    probs = [by_id.get(i) for i in ids]  # None: vote by the normalised answer
    raw = [None if a is None or (isinstance(a, float) and math.isnan(a)) else a for a in df["answer"]]
    answers = np.array(
        [None if a is None else vote_key(probs[k // n], a) for k, a in enumerate(raw)], dtype=object
    ).reshape(P, n)
    arrays = {
        "correct": grid("correct", bool),
        "answers": answers,
        "tokens": grid("generated_tokens", np.int64),
        "logprob_mean": grid("logprob_mean", float),
        "self_eval": grid("self_eval", float),
    }
    for a in arrays.values():
        a.setflags(write=False)
    return Bank(name=name, frame=df, manifest=man, problem_ids=ids, **arrays)


def _task_problems(spec: Mapping[str, Any], where: str, *, synthetic_only: bool = False) -> dict[str, Problem] | None:
    """The problems of the task a bank's spec names, by id (rebuilt: a bank holds no text). With
    `synthetic_only`, None for a benchmark task, so a load needs no benchmark data."""
    from itslab import tasks

    task = dict(spec.get("task", {}))
    name = task.pop("name", None)
    synthetic = name in tasks.synthetic.GENERATORS
    if synthetic_only and not synthetic:
        return None
    try:
        if synthetic:  # every load of a synthetic bank rebuilds them: generate each task once
            return dict(_synthetic_problems(name, json.dumps(task, sort_keys=True)))
        return {p.id: p for p in tasks.load(name, **task)}
    except TypeError as e:  # an option the task does not take
        raise BankError(f"{where}: task: {e}") from None


@functools.lru_cache(maxsize=16)
def _synthetic_problems(name: str, options: str) -> tuple[tuple[str, Problem], ...]:
    """A synthetic task's problems (deterministic in its options; `Problem` is frozen, so shared)."""
    from itslab import tasks

    return tuple((p.id, p) for p in tasks.load(name, **json.loads(options)))


def in_progress(root: str | Path | None = None) -> list[str]:
    """Banks under `root` still being recorded: a spec and at least one committed part, no ``bank.parquet``."""
    base = Path(root or default_root())
    folders = sorted(d for d in base.iterdir() if d.is_dir()) if base.is_dir() else []
    return [
        d.name
        for d in folders
        if (d / SPEC_FILE).is_file() and not (d / BANK_FILE).is_file() and any((d / PARTS).glob("part-*.parquet"))
    ]


def load_parts(name: str, root: str | Path | None = None) -> Bank:
    """The committed parts of bank `name`, still being recorded, as a `Bank` (no sha256 to verify).

    Its manifest is ``{"spec": <spec.json>, "partial": True, "parts": k}``: the problems recorded so
    far, in order, so analyses can show a bank while it lands and switch to `load` once it is done.
    """
    import pandas as pd

    folder = bank_dir(name, root)
    parts = sorted((folder / PARTS).glob("part-*.parquet"))
    if not (folder / SPEC_FILE).is_file() or not parts:
        raise BankError(f"{folder}: no spec.json with committed parts (bank {name!r} is not being recorded)")
    spec = json.loads((folder / SPEC_FILE).read_text())
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return _from_frame(name, df, {"spec": spec, "partial": True, "parts": len(parts)}, str(folder / PARTS))


# --- replay ------------------------------------------------------------------------------------

BANK_PREFIX = "<itslab bank {bank} problem {id}>"


class BankReplay:
    """A `Generator` that serves a bank's recorded samples of each problem (no model, no question text).

    `format_prompt(problem)` returns a marker naming the problem, so any strategy that samples
    whole solutions (majority vote, best-of-N, early stopping) runs on the real generations.
    Sample j of a request with seed s is recorded sample ``perm_s[j]``, a seeded permutation of the
    n recorded samples: a subset of i.i.d. samples is i.i.d., different seeds see different
    subsets, and the first j samples do not depend on n (the `Generator` contract). A request
    whose temperature or max_tokens differs from the recording, that stops at a string (the
    recorded samples ran to their end), or that asks for more than n samples, raises `MissingSample`.
    """

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.model_id = f"bank:{bank.name}"
        self.n_params = 0.0
        self.n_calls = 0
        spec = bank.manifest.get("spec", {}).get("sampling", {})
        self.temperature, self.max_tokens = spec.get("temperature"), spec.get("max_tokens")
        self._rows = {pid: i for i, pid in enumerate(bank.problem_ids)}
        df = bank.frame
        self._texts = df["text"].to_numpy().reshape(len(bank.problem_ids), bank.n)
        self._prompt_tokens = df["prompt_tokens"].to_numpy().reshape(len(bank.problem_ids), bank.n)
        self._finish = df["finish_reason"].to_numpy().reshape(len(bank.problem_ids), bank.n)

    def format_prompt(self, problem: Problem) -> str:
        """The marker prefix of `problem` (the bank holds no question text)."""
        if problem.id not in self._rows:
            from itslab.generators.store import MissingSample

            raise MissingSample(f"bank {self.bank.name!r} has no problem {problem.id!r}")
        return BANK_PREFIX.format(bank=self.bank.name, id=problem.id)

    def count_tokens(self, text: str) -> int:
        """Tokens of a recorded text (its recorded count), else ~4 characters per token."""
        return max(1, len(text) // 4)

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Recorded samples ``perm_seed[0..n-1]`` of each request's problem."""
        from itslab.generators.store import MissingSample

        self.n_calls += 1
        out = []
        head = f"<itslab bank {self.bank.name} problem "
        for r in requests:
            if not r.prefix.startswith(head):
                raise MissingSample(
                    f"bank {self.bank.name!r}: prefix {r.prefix[:60]!r} is not a bank marker "
                    "(build prompts with this generator's format_prompt)"
                )
            pid = r.prefix[len(head) : -1]
            if pid not in self._rows:
                raise MissingSample(f"bank {self.bank.name!r} has no problem {pid!r}")
            if (self.temperature is not None and not math.isclose(r.temperature, self.temperature)) or (
                self.max_tokens is not None and r.max_tokens != self.max_tokens
            ):
                raise MissingSample(
                    f"bank {self.bank.name!r} was recorded at temperature {self.temperature}, "
                    f"max_tokens {self.max_tokens}; the request asks temperature {r.temperature}, "
                    f"max_tokens {r.max_tokens}"
                )
            if any(r.stop):
                raise MissingSample(
                    f"bank {self.bank.name!r} holds whole samples; the request stops at {list(r.stop)!r} "
                    "(step-level search needs a live generator)"
                )
            if r.n > self.bank.n:
                raise MissingSample(
                    f"bank {self.bank.name!r} holds {self.bank.n} samples per problem; the request asks n={r.n}"
                )
            i = self._rows[pid]
            perm = np.random.default_rng(np.random.SeedSequence(int(r.seed) % 2**63)).permutation(self.bank.n)
            comps = []
            for j in perm[: r.n]:
                comps.append(
                    Completion(
                        text=str(self._texts[i, j]),
                        n_tokens=int(self.bank.tokens[i, j]),
                        n_prompt_tokens=int(self._prompt_tokens[i, j]),
                        finish_reason=str(self._finish[i, j]),
                        seed=int(r.seed),
                        meta={"bank": self.bank.name, "bank_sample": int(j)},
                    )
                )
            out.append(comps)
        return out


class BankScores:
    """A `Verifier` that returns the bank's recorded scores: ``self_eval`` (P("Yes")) or ``logprob_mean``."""

    def __init__(self, bank: Bank, column: str = "self_eval") -> None:
        if column not in ("self_eval", "logprob_mean"):
            raise BankError(f"BankScores.column must be 'self_eval' or 'logprob_mean', got {column!r}")
        values = getattr(bank, column)
        if np.isnan(values).all():
            raise BankError(f"bank {bank.name!r} recorded no {column} scores")
        self.name = f"bank:{column}"
        self._score = {
            (pid, str(t)): float(v)
            for pid, t, v in zip(bank.frame["problem_id"], bank.frame["text"], values.reshape(-1))
        }

    def score(self, problem: Problem, texts: Sequence[str]) -> list[tuple[float, ...]]:
        """The recorded score of each text."""
        try:
            return [(self._score[(problem.id, str(t))],) for t in texts]
        except KeyError:
            raise BankError(f"{self.name}: a text for problem {problem.id!r} is not in the bank") from None

    def cost(self, problem: Problem, texts: Sequence[str]) -> Any:
        """Recorded scores cost one verifier call each (no tokens are re-read)."""
        from itslab.types import Usage

        return Usage(verifier_calls=len(texts))


def problems(name: str | Bank, root: str | Path | None = None) -> list[Problem]:
    """The problems bank `name` (or a loaded `Bank`) was recorded on (rebuilt from its spec's task; the
    bank holds no text)."""
    b = name if isinstance(name, Bank) else load(name, root)
    by_id = _task_problems(b.manifest.get("spec", {}), f"bank {b.name}") or {}
    missing = [pid for pid in b.problem_ids if pid not in by_id]
    if missing:
        raise BankError(f"bank {b.name!r}: its task no longer yields problems {missing[:3]} (task data changed?)")
    return [by_id[pid] for pid in b.problem_ids]


def replay(name: str, root: str | Path | None = None) -> BankReplay:
    """A `BankReplay` generator over bank `name`."""
    return BankReplay(load(name, root))
