"""Run directories: results as Parquet plus a JSON manifest that says how they were made.

A run directory holds ``results.parquet`` (the tidy frame of `experiments.run`),
``manifest.json`` (itslab version, git commit, model, config, seeds, machine, timings) and,
after `itslab report`, ``scaling.png`` and ``report.md``. Files are written to a temporary name
and renamed, so an interrupted write never leaves a half-written result behind.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping


def _git(path: str | Path, *args: str) -> str | None:
    """Standard output of ``git args`` run in `path` (None when git fails or is missing)."""
    try:
        out = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit(path: str | Path = ".") -> str | None:
    """The current git commit of the checkout at `path` (None outside a repository)."""
    return (_git(path, "rev-parse", "HEAD") or "").strip() or None


def source_state(path: str | Path | None = None) -> dict[str, Any]:
    """The code a run starts from: ``git_commit`` and ``git_dirty`` (uncommitted changes to tracked
    files) of the checkout holding itslab (both None outside a repository).

    Read when a run starts, not when its manifest is written: a sweep can take hours, and the
    checkout may move on meanwhile (the code already imported does not).
    """
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    commit = git_commit(where)
    status = _git(where, "status", "--porcelain", "--untracked-files=no") if commit is not None else None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status.strip())}


def machine() -> dict[str, Any]:
    """Facts about this machine for the manifest (no torch import unless already loaded)."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "hostname": platform.node(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        info["cuda"] = bool(torch.cuda.is_available())
    return info


def manifest(
    *,
    model: str | None,
    config: Mapping[str, Any],
    seeds: Any,
    started: float,
    extra: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest dict of a run; `source` is `source_state()` taken when the run started (read now if None)."""
    from itslab import __version__

    m = {
        "itslab_version": __version__,
        **(source if source is not None else source_state()),
        "model": model,
        "config": dict(config),
        "seeds": list(seeds),
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 3),
    }
    m.update(extra or {})
    return m


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def claim(out_dir: str | Path, config: Mapping[str, Any]) -> Path:
    """Check, before any compute, that `out_dir` can take this run's results; returns it (created).

    Refuses a directory that cannot be written, and one holding another run's results (a
    manifest with a different config): two configs that share a default ``out`` never overwrite
    each other. Re-running the same config into its own directory is allowed.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".itslab-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"output directory {out}: cannot write there ({e.strerror or e})") from None
    man = out / "manifest.json"
    if man.is_file():
        try:
            old = json.loads(man.read_text()).get("config")
        except (OSError, ValueError):
            raise ValueError(f"{man}: exists but is not a readable manifest; choose another --out") from None
        if old is not None and json.loads(json.dumps(old, default=str)) != json.loads(
            json.dumps(dict(config), default=str)
        ):
            raise ValueError(
                f"output directory {out} holds the results of another config; choose another --out (or delete it)"
            )
    return out


class PartialResults:
    """Rows of a sweep written as it goes: ``results.partial.parquet`` in the run directory, rewritten
    atomically at most every `every_s` seconds, so a sweep that dies leaves what it finished
    (resume it with the same ``--store``: the finished units' samples are read back, not regenerated).
    `save` writes the final results; `discard` then removes the partial file."""

    NAME = "results.partial.parquet"

    def __init__(self, out_dir: str | Path, every_s: float = 30.0) -> None:
        self.path, self.every_s = Path(out_dir) / self.NAME, float(every_s)
        self.rows: list[dict[str, Any]] = []
        self._last = time.monotonic()

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Take one finished unit's rows; write the file when `every_s` has passed since the last write."""
        self.rows.extend(rows)
        if time.monotonic() - self._last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        """Write every row so far (atomically)."""
        import pandas as pd

        df = pd.DataFrame(self.rows)
        _atomic_write(self.path, lambda p: df.to_parquet(p, index=False))
        self._last = time.monotonic()

    def discard(self) -> None:
        """Remove the partial file (the final results are written)."""
        self.path.unlink(missing_ok=True)


def save(df: Any, out_dir: str | Path, man: Mapping[str, Any]) -> Path:
    """Write ``results.parquet`` and ``manifest.json`` into `out_dir` (created); returns the directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / "results.parquet", lambda p: df.to_parquet(p, index=False))
    _atomic_write(out / "manifest.json", lambda p: p.write_text(json.dumps(man, indent=2, default=str) + "\n"))
    return out


def load(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """(results frame, manifest) of a run directory; a clear error when either file is missing."""
    import pandas as pd

    d = Path(run_dir)
    for name in ("results.parquet", "manifest.json"):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name} not found: is {d} a run directory written by `itslab run`?")
    try:
        man = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{d / 'manifest.json'}: not a readable manifest ({type(e).__name__})") from None
    try:
        df = pd.read_parquet(d / "results.parquet")
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise ValueError(f"{d / 'results.parquet'}: not a readable Parquet file ({type(e).__name__})") from None
    return df, man
