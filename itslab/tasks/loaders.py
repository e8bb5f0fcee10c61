"""Benchmark loaders: GSM8K, MATH-500, AIME-2024, AMC-2023 as `Problem`s.

Data comes from ``ITSLAB_DATA_DIR/<name>/<split>.jsonl`` (see ``shared/data/README.md``) or,
when that is unset, from the Hugging Face hub through ``datasets`` (imported only then).
A malformed line or a row without its answer raises `DataError` naming the file and line: a
benchmark that silently loses rows gives wrong accuracies.

Sources: GSM8K (Cobbe et al. 2021); MATH-500, the subset of MATH (Hendrycks et al. 2021)
chosen by Lightman et al. 2023 ("Let's Verify Step by Step"); AIME 2024 and AMC 2023 (MAA).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from itslab import settings as config
from itslab.tasks.answers import normalize_answer
from itslab.tasks.prompts import format_messages, format_prompt, get_template, gsm8k_steps
from itslab.types import Problem


class DataError(ValueError):
    """A benchmark file or row that cannot be used; the message names the file and line."""


def read_jsonl(path: str | Path, *, limit: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` for each non-blank line of a JSON-lines file; `DataError` names bad lines."""
    path = Path(path)
    n = 0
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if limit is not None and n >= limit:
                return
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            n += 1
            yield lineno, row


def _field(row: Mapping[str, Any], names: tuple[str, ...], where: str) -> Any:
    for k in names:
        v = row.get(k)
        if v is not None and str(v).strip() != "":
            return v
    raise DataError(f"{where}: row has no {' or '.join(repr(k) for k in names)} field (fields present: {sorted(row)})")


def _problem_number(url: str) -> int | None:
    m = re.search(r"Problem_(\d+)", url or "")
    return int(m.group(1)) if m else None


def _gsm8k(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    q, rationale = _field(row, ("question",), where), str(_field(row, ("answer",), where))
    if "####" not in rationale:
        raise DataError(f"{where}: GSM8K 'answer' field has no final '#### N' line")
    steps = gsm8k_steps(rationale)
    # difficulty: number of reasoning steps, the usual proxy for GSM8K difficulty
    return dict(
        question=q,
        answer=normalize_answer(rationale.rsplit("####", 1)[1]),
        solution=steps,
        difficulty=max(1, steps.count("\n\n") + 1),
        subject="arithmetic word problem",
    )


def _math500(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    q, a = _field(row, ("problem",), where), str(_field(row, ("answer",), where)).strip()
    level = row.get("level")
    try:
        level = int(str(level).replace("Level", "").strip())
    except ValueError:
        raise DataError(f"{where}: MATH 'level' must be 1-5, got {level!r}") from None
    return dict(
        question=q,
        answer=a,
        solution=row.get("solution", ""),
        difficulty=level,
        subject=row.get("subject", ""),
        unique_id=row.get("unique_id", ""),
    )


def _competition(per_band: int) -> Callable[[Mapping[str, Any], str], dict[str, Any]]:
    def convert(row: Mapping[str, Any], where: str) -> dict[str, Any]:
        q, a = _field(row, ("problem", "question"), where), _field(row, ("answer",), where)
        num = _problem_number(str(row.get("url", "")))
        # difficulty: competition problems get harder with their number; 5 bands like MATH levels
        diff = 5 if num is None else min(5, 1 + (num - 1) // per_band)
        return dict(
            question=q,
            answer=normalize_answer(str(a)),
            solution=row.get("solution", ""),
            difficulty=diff,
            subject="competition math",
            problem_number=num,
            source_id=row.get("id"),
            url=row.get("url", ""),
        )

    return convert


@dataclass(frozen=True)
class _Spec:
    """How to read one benchmark: row converter, and where it lives on the Hugging Face hub."""

    convert: Callable[[Mapping[str, Any], str], dict[str, Any]]
    hub_repo: str
    hub_config: str | None
    hub_splits: Mapping[str, str]


BENCHMARKS: Mapping[str, _Spec] = {
    "gsm8k": _Spec(_gsm8k, "openai/gsm8k", "main", {"test": "test", "train": "train"}),
    "math500": _Spec(_math500, "HuggingFaceH4/MATH-500", None, {"test": "test"}),
    "aime24": _Spec(_competition(3), "HuggingFaceH4/aime_2024", None, {"test": "train"}),  # 15 problems per exam
    "amc23": _Spec(_competition(5), "math-ai/amc23", None, {"test": "test"}),  # 25 problems per exam
}


def load_benchmark(
    name: str,
    split: str = "test",
    *,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    template: str | None = None,
) -> list[Problem]:
    """Problems of benchmark `name` (gsm8k, math500, aime24, amc23), rendered with `template`."""
    spec = BENCHMARKS.get(name)
    if spec is None:
        raise ValueError(f"unknown benchmark {name!r}; valid: {sorted(BENCHMARKS)}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    root = Path(data_dir).expanduser() if data_dir is not None else config.data_dir()
    if root is not None:
        path = root / name / f"{split}.jsonl"
        if not path.is_file():
            have = sorted(p.stem for p in (root / name).glob("*.jsonl")) if (root / name).is_dir() else []
            raise FileNotFoundError(f"no {name} split {split!r} at {path} (splits there: {have or 'none'})")
        rows: Iterator[tuple[str, dict[str, Any]]] = ((f"{path}:{ln}", r) for ln, r in read_jsonl(path, limit=limit))
    else:
        rows = _hub_rows(name, spec, split, limit)
    t = get_template(template, name)
    out = []
    for i, (where, row) in enumerate(rows):
        meta = {
            "source": name,
            "split": split,
            "template": t.name,
            "answer_format": t.answer_format,
            **spec.convert(row, where),
        }
        answer = meta.pop("answer")
        p = Problem(id=f"{name}/{split}/{i}", prompt="", answer=answer, meta=meta)
        out.append(
            Problem(
                id=p.id,
                prompt=format_prompt(p, t, data_dir=data_dir),
                answer=answer,
                meta=meta,
                messages=format_messages(p, t, data_dir=data_dir),
            )
        )
    return out


def _hub_rows(name: str, spec: _Spec, split: str, limit: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
    if split not in spec.hub_splits:
        raise ValueError(f"{name} has no split {split!r} on the hub; valid: {sorted(spec.hub_splits)}")
    try:
        import datasets
    except ImportError:
        raise RuntimeError(
            f"cannot load {name}: ITSLAB_DATA_DIR is not set and the `datasets` package is "
            f"not installed. Set ITSLAB_DATA_DIR to a folder holding {name}/{split}.jsonl, "
            "or `pip install datasets` on a machine that reaches the Hugging Face hub."
        ) from None
    hub_split = spec.hub_splits[split]
    try:
        ds = datasets.load_dataset(spec.hub_repo, spec.hub_config, split=hub_split)
    except Exception as e:  # network, auth, renamed repo: say what was tried and how to avoid it
        raise RuntimeError(
            f"cannot load {name} from the Hugging Face hub ({spec.hub_repo}, split {hub_split!r}): "
            f"{type(e).__name__}: {e}. Set ITSLAB_DATA_DIR to use local files instead."
        ) from e
    for i, row in enumerate(ds):
        if limit is not None and i >= limit:
            return
        yield f"hf://{spec.hub_repo}[{hub_split}] row {i}", dict(row)
