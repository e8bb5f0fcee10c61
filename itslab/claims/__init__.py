"""The claims registry: each notebook's reproduced claims, the paper's number, ours, and the verdict.

One TOML file per notebook (``itslab/claims/<notebook>.toml``) holds its claims: the paper and
arXiv id, the number the paper reports and where (abstract, table, figure, or a secondary
source), what our number measures, and the check (within a tolerance, above or below a threshold,
between bounds, optionally by a number of standard errors). A claim measured on a recorded sample
bank names it (``bank = "..."``) and is checked once that bank is finished. A claim our setup does not reproduce
is registered with ``reproduced = false`` and the reason; its check must then keep failing, so a
change that flips it is noticed either way.

A notebook's last cell calls `check` with its measured values; the verdicts are recorded (smoke
runs under ``runs/claims/``, full runs under ``data/claims/``, which is committed) and
``itslab reproduce`` prints them. ``notebooks/README.md``'s claims table is `markdown_table`.

>>> c = Claim(notebook="nb", id="x", statement="s", paper="P", arxiv="0000.00000", check="above", threshold=0.5)
>>> from dataclasses import replace
>>> c.verdict(0.7), c.verdict((0.7, 0.15)), replace(c, n_se=2).verdict((0.7, 0.15))
(True, True, False)
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CHECKS = ("within", "above", "below", "between")
MODES = ("smoke", "full", "both")
_ROOT = Path(__file__).resolve().parent
Measured = float | tuple[float, float]


@dataclass(frozen=True)
class Claim:
    """One registered claim of a notebook and how our number is checked against it."""

    notebook: str
    id: str
    statement: str
    paper: str
    arxiv: str
    check: str
    metric: str = ""
    paper_value: float | None = None
    source: str = ""
    target: float | None = None
    tolerance: float | None = None
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    n_se: float = 0.0
    mode: str = "both"
    bank: str = ""
    reproduced: bool = True
    why: str = ""

    def __post_init__(self) -> None:
        where = f"claim {self.notebook}:{self.id}"
        if self.check not in CHECKS:
            raise ValueError(f"{where}: check must be one of {CHECKS}, got {self.check!r}")
        if self.mode not in MODES:
            raise ValueError(f"{where}: mode must be one of {MODES}, got {self.mode!r}")
        need = {
            "within": ("tolerance",),
            "above": ("threshold",),
            "below": ("threshold",),
            "between": ("low", "high"),
        }[self.check]
        missing = [k for k in need if getattr(self, k) is None]
        if self.check == "within" and self.target is None and self.paper_value is None:
            missing.append("target (or paper_value)")
        if missing:
            raise ValueError(f"{where}: check {self.check!r} needs {', '.join(missing)}")
        if self.tolerance is not None and self.tolerance < 0:
            raise ValueError(f"{where}: tolerance must be >= 0, got {self.tolerance}")
        if self.n_se < 0:
            raise ValueError(f"{where}: n_se must be >= 0, got {self.n_se}")
        if not self.reproduced and not self.why.strip():
            raise ValueError(f"{where}: reproduced = false needs a `why`")

    def applies(self, mode: str) -> bool:
        """Whether the claim is checked in `mode` ("smoke" or "full")."""
        return self.mode in ("both", mode)

    def waiting(self) -> bool:
        """True while the sample bank the claim is measured on is not finished (it is then not checked)."""
        if not self.bank:
            return False
        from itslab import banks

        folder = banks.bank_dir(self.bank)
        return not ((folder / banks.BANK_FILE).is_file() and (folder / banks.MANIFEST).is_file())

    def verdict(self, measured: Measured) -> bool:
        """Whether our number satisfies the check; ``(value, se)`` widens it by ``n_se`` SEs."""
        value, se = _value_se(measured, f"{self.notebook}:{self.id}")
        m = self.n_se * (se if math.isfinite(se) else math.inf) if self.n_se else 0.0
        if not math.isfinite(value):
            return False
        if self.check == "within":
            target = self.paper_value if self.target is None else self.target
            assert target is not None and self.tolerance is not None
            return abs(value - target) + m <= self.tolerance
        if self.check == "above":
            assert self.threshold is not None
            return value - m > self.threshold
        if self.check == "below":
            assert self.threshold is not None
            return value + m < self.threshold
        assert self.low is not None and self.high is not None
        return self.low <= value - m and value + m <= self.high

    def expectation(self) -> str:
        """The check in words, e.g. ``|ours - 0.724| <= 0.03`` or ``ours > 0 by 3 SE``."""
        by = f" by {self.n_se:g} SE" if self.n_se else ""
        if self.check == "within":
            target = self.paper_value if self.target is None else self.target
            return f"|ours - {target:g}| <= {self.tolerance:g}{by}"
        if self.check == "between":
            return f"{self.low:g} <= ours <= {self.high:g}{by}"
        return f"ours {'>' if self.check == 'above' else '<'} {self.threshold:g}{by}"


def _value_se(measured: Any, where: str) -> tuple[float, float]:
    if isinstance(measured, tuple):
        if len(measured) != 2:
            raise ValueError(f"claim {where}: a measured value is a number or (value, se), got {measured!r}")
        return float(measured[0]), float(measured[1])
    if isinstance(measured, bool) or not isinstance(measured, (int, float)) and not hasattr(measured, "__float__"):
        raise ValueError(f"claim {where}: a measured value is a number or (value, se), got {measured!r}")
    return float(measured), math.nan


def registry_dir() -> Path:
    """Where the claim files live (the package's ``claims`` folder)."""
    return _ROOT


def notebooks() -> list[str]:
    """Notebooks that registered claims, in order."""
    return sorted(p.stem for p in registry_dir().glob("*.toml"))


def load(notebook: str, path: Path | None = None) -> tuple[Claim, ...]:
    """The claims `notebook` registered (``itslab/claims/<notebook>.toml``, or `path`)."""
    path = path or registry_dir() / f"{notebook}.toml"
    if not path.is_file():
        raise LookupError(f"no claims registered for notebook {notebook!r} ({path} not found); known: {notebooks()}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a valid TOML claims file: {e}") from None
    if raw.get("notebook", notebook) != notebook:
        raise ValueError(f"{path}: says notebook = {raw['notebook']!r}, expected {notebook!r}")
    defaults = {k: raw[k] for k in ("paper", "arxiv") if k in raw}
    names = {f.name for f in fields(Claim)} - {"notebook"}
    out: list[Claim] = []
    for i, entry in enumerate(raw.get("claim", [])):
        unknown = sorted(set(entry) - names)
        if unknown:
            raise ValueError(f"{path}: claim #{i + 1} has unknown keys {unknown}; valid: {sorted(names)}")
        try:
            out.append(Claim(notebook=notebook, **{**defaults, **entry}))
        except TypeError as e:
            raise ValueError(f"{path}: claim #{i + 1}: {e}") from None
    ids = [c.id for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"{path}: duplicate claim ids {dup}")
    if not out:
        raise ValueError(f"{path}: registers no [[claim]]")
    return tuple(out)


def results_dir(mode: str) -> Path:
    """Where verdicts are recorded: ``ITSLAB_CLAIMS_DIR`` if set, else ``data/claims`` of the checkout
    for full runs (committed) and ``runs/claims`` for smoke runs."""
    env = os.environ.get("ITSLAB_CLAIMS_DIR")
    if env:
        return Path(env).expanduser()
    checkout = _ROOT.parent.parent
    return checkout / ("data" if mode == "full" else "runs") / "claims"


def evaluate(claims: tuple[Claim, ...], measured: Mapping[str, Measured], mode: str) -> list[dict[str, Any]]:
    """One row per claim checked in `mode`: the paper's value, ours, the verdict, and whether it
    matches the registration (a not-reproduced claim matches when it still fails)."""
    if mode not in ("smoke", "full"):
        raise ValueError(f"mode must be 'smoke' or 'full', got {mode!r}")
    if not claims:
        return []
    nb = claims[0].notebook
    known = {c.id for c in claims}
    unknown = sorted(set(measured) - known)
    if unknown:
        raise ValueError(
            f"notebook {nb}: measured values for unregistered claims {unknown}; registered: {sorted(known)}"
        )
    rows = []
    for c in claims:
        if not c.applies(mode):
            continue
        if c.id not in measured:
            waiting = c.waiting()
            rows.append({**_describe(c), "ours": None, "se": None, "holds": None, "as_registered": waiting})
            continue
        value, se = _value_se(measured[c.id], f"{nb}:{c.id}")
        holds = c.verdict(measured[c.id])
        rows.append(
            {
                **_describe(c),
                "ours": value,
                "se": None if math.isnan(se) else se,
                "holds": holds,
                "as_registered": holds == c.reproduced,
            }
        )
    return rows


def _describe(c: Claim) -> dict[str, Any]:
    return {
        "notebook": c.notebook,
        "id": c.id,
        "paper": c.paper,
        "arxiv": c.arxiv,
        "paper_value": c.paper_value,
        "source": c.source,
        "metric": c.metric,
        "expect": c.expectation(),
        "reproduced": c.reproduced,
        "why": c.why,
        "bank": c.bank,
    }


def check(
    notebook: str, measured: Mapping[str, Measured], mode: str | None = None, *, record: bool = True
) -> list[dict[str, Any]]:
    """Check a notebook's measured values against its registered claims, print the table, record it.

    Raises AssertionError naming every claim whose verdict differs from its registration (a
    reproduced claim that fails, a not-reproduced one that now holds) or that was not measured.
    """
    from itslab import settings

    mode = mode or settings.mode()
    rows = evaluate(load(notebook), measured, mode)
    print(format_rows(rows))
    if record:
        _record(notebook, mode, rows)
    bad = [r for r in rows if not r["as_registered"]]
    if bad:
        raise AssertionError(
            f"{notebook} ({mode}): "
            + "; ".join(
                f"{r['id']}: not measured"
                if r["ours"] is None
                else f"{r['id']}: ours {r['ours']:.4g} vs {r['expect']} -> "
                f"{'holds' if r['holds'] else 'fails'}, registered as {'' if r['reproduced'] else 'not '}reproduced"
                for r in bad
            )
        )
    return rows


def _record(notebook: str, mode: str, rows: list[dict[str, Any]]) -> Path:
    from itslab.experiments.rundir import source_state

    folder = results_dir(mode)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.{mode}.json"
    payload = {"notebook": notebook, "mode": mode, **source_state(), "claims": rows}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # never a half-written results file
    return path


def recorded(notebook: str, mode: str) -> dict[str, Any] | None:
    """The last recorded check of `notebook` in `mode`, or None if it never ran."""
    path = results_dir(mode) / f"{notebook}.{mode}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: damaged claims results ({e}); rerun the notebook") from None


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def verdict_text(r: Mapping[str, Any]) -> str:
    """A result row's verdict in words: pass / fail, registered not reproduced, UNEXPECTED, waiting."""
    if r.get("ours") is None:
        return f"waiting for bank {r['bank']}" if r.get("as_registered") and r.get("bank") else "not run"
    word = "pass" if r["holds"] else "fail"
    if not r["reproduced"]:
        word += " (registered not reproduced)"
    return word if r["as_registered"] else f"{word} — UNEXPECTED"


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A plain-text table: claim, paper value (source), ours (± SE), the check, the verdict."""
    lines = []
    for r in rows:
        ours = _fmt(r["ours"]) + (f" ± {r['se']:.2g}" if r.get("se") else "")
        paper = _fmt(r["paper_value"]) + (f" ({r['source']})" if r["source"] else "")
        lines.append(f"{r['notebook']}:{r['id']}: paper {paper}; ours {ours}; {r['expect']}: {verdict_text(r)}")
    return "\n".join(lines)


def table(notebook: str | None = None, mode: str = "full") -> list[dict[str, Any]]:
    """Rows for every registered claim (of `notebook`, or all), with the last recorded result in `mode`."""
    out = []
    for nb in [notebook] if notebook else notebooks():
        last = recorded(nb, mode) or {"claims": []}
        by_id = {r["id"]: r for r in last["claims"]}
        for c in load(nb):
            if not c.applies(mode):
                continue
            r = by_id.get(c.id)
            row = {**_describe(c), "ours": None, "se": None, "holds": None, "as_registered": c.waiting()}
            if r is not None and r.get("ours") is not None:
                holds = c.verdict(r["ours"] if r.get("se") is None else (r["ours"], r["se"]))
                row.update(ours=r["ours"], se=r.get("se"), holds=holds, as_registered=holds == c.reproduced)
            out.append(row)
    return out


def markdown_table(mode: str = "full") -> str:
    """notebooks/README.md's claims table: every claim, the paper's number and where, ours, the verdict.

    Verdicts are recomputed from the recorded values against the registry as it is now, so a
    changed tolerance shows here without rerunning the notebook.
    """
    head = (
        "| notebook | claim | paper (arXiv) | paper's value (where) | ours | check | verdict |\n"
        "|---|---|---|---|---|---|---|"
    )
    body = []
    for r in table(mode=mode):
        ours = _fmt(r["ours"]) + (f" ± {r['se']:.2g}" if r.get("se") else "")
        paper = _fmt(r["paper_value"]) + (f" ({r['source']})" if r["source"] else "")
        verdict = verdict_text(r) + (f": {r['why']}" if not r["reproduced"] else "")
        body.append(
            f"| {r['notebook']} | {r['id']} | {r['paper']} ({r['arxiv']}) | {paper} | {ours} | "
            f"{r['expect']} | {verdict} |"
        )
    return "\n".join([head, *body])


__all__ = [
    "CHECKS",
    "Claim",
    "check",
    "evaluate",
    "verdict_text",
    "format_rows",
    "load",
    "markdown_table",
    "notebooks",
    "recorded",
    "registry_dir",
    "results_dir",
    "table",
]
