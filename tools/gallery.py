"""The notebook gallery: every notebook executed (full mode unless told otherwise) and rendered to HTML.

    python tools/gallery.py [--out runs/gallery] [--mode full] [--timeout 3600] [NOTEBOOK ...]

A NOTEBOOK is a number (``04``) or a name (``04_imperfect_verifiers``); none means every
``notebooks/NN_*.ipynb``. Each runs from a copy in memory (the notebooks in git stay output-free)
with ``ITSLAB_MODE`` set to the mode, and becomes ``<out>/<name>.html``. ``<out>/index.html``
lists the pages with each notebook's registered claims and their verdicts, read back from the
claims registry (`itslab.claims.table`) after the run; a verdict recorded before this run (the
notebook stopped before its claims cell) is marked stale and counts as a failure.

Widgets become snapshots: a slider group is replaced by its sliders' settings and the figure its
Output widget showed, as a plain image, so a page needs neither a kernel nor the internet (the
live sliders need JupyterLab: ``make lab``). Exit status 1 when a notebook fails; its page still
shows the outputs up to the failing cell.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def use_client_guard() -> None:
    """Apply notebooks/conftest.py's guard against a missed zmq wake-up (the same nbclient path)."""
    path = NOTEBOOKS / "conftest.py"
    if path.is_file() and "itslab_notebook_client_guard" not in sys.modules:
        spec = importlib.util.spec_from_file_location("itslab_notebook_client_guard", path)
        assert spec is not None and spec.loader is not None
        sys.modules[spec.name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


def select(names: list[str], folder: Path = NOTEBOOKS) -> list[Path]:
    """The notebooks named (by number or name), in series order; all when `names` is empty."""
    series = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return series
    out = []
    for name in names:
        hits = [p for p in series if p.stem == name or p.stem.split("_")[0] == name or p.name == name]
        if not hits:
            raise SystemExit(f"gallery: no notebook {name!r} in {folder}; have {[p.stem for p in series]}")
        out += [p for p in hits if p not in out]
    return sorted(out)


def execute(path: Path, mode: str, timeout: float) -> tuple[Any, str | None, float]:
    """Run `path` in its folder in `mode`; returns (the executed notebook, the error or None, seconds)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start, error = time.monotonic(), None
    try:
        client.execute(env={**os.environ, "ITSLAB_MODE": mode})  # the kernel's environment
    except CellExecutionError as e:
        at = next(
            (i for i, c in enumerate(nb.cells) if any(o.output_type == "error" for o in c.get("outputs", []))), "?"
        )
        error = f"cell {at}: {e.ename}: {e.evalue}"
        client.set_widgets_metadata()
    except (CellTimeoutError, DeadKernelError) as e:
        error = f"{type(e).__name__}: {re.sub(ANSI, '', str(e)).strip().splitlines()[-1]}"
        client.set_widgets_metadata()
    return nb, error, time.monotonic() - start


def widget_snapshots(nb: Any) -> None:
    """Replace each widget view with its sliders' settings and its Output widgets' outputs (in place)."""
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(out)
                continue
            settings, shown = _walk(state, view.get("model_id", ""))
            caption = "; ".join(settings) or "a widget"
            note = f"<p><em>Snapshot of {html.escape(caption)} — move the sliders in JupyterLab (make lab).</em></p>"
            outputs.append({"output_type": "display_data", "metadata": {}, "data": {"text/html": note}})
            outputs += shown
        cell["outputs"] = outputs


def _walk(state: dict[str, Any], model_id: str) -> tuple[list[str], list[Any]]:
    import nbformat

    model = state.get(model_id)
    if model is None:
        return [], []
    s = model.get("state", {})
    if "_options_labels" in s and "index" in s:
        return [f"{s.get('description') or 'slider'} = {s['_options_labels'][s['index']]}"], []
    if "value" in s and "Slider" in str(model.get("model_name", "")):
        return [f"{s.get('description') or 'slider'} = {s['value']}"], []
    if model.get("model_name") == "OutputModel":
        return [], [nbformat.from_dict(o) for o in s.get("outputs", [])]
    settings: list[str] = []
    shown: list[Any] = []
    for child in s.get("children", []):
        more, figs = _walk(state, str(child).removeprefix("IPY_MODEL_"))
        settings += more
        shown += figs
    return settings, shown


def render(nb: Any) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    return str(body)


def claim_rows(notebook: str, mode: str, since: float) -> tuple[list[dict[str, Any]], bool]:
    """(the notebook's claims with their last verdicts, whether they were recorded by this run)."""
    from itslab import claims

    try:
        statements = {c.id: c.statement for c in claims.load(notebook)}
    except LookupError:
        return [], True
    rows = [{**r, "statement": statements[r["id"]]} for r in claims.table(notebook, mode)]
    path = claims.results_dir(mode) / f"{notebook}.{mode}.json"
    return rows, not rows or (path.is_file() and path.stat().st_mtime >= since)


def index_page(entries: list[dict[str, Any]], mode: str) -> str:
    """The index: one section per notebook with its status and a table of its claims."""
    from itslab import claims

    parts = [
        "<!doctype html><meta charset='utf-8'><title>itslab notebook gallery</title>",
        "<style>body{font:15px sans-serif;max-width:72em;margin:2em auto}td,th{border:1px solid #ccc;"
        "padding:.3em;vertical-align:top}table{border-collapse:collapse}.pass{color:#070}.fail{color:#b00}</style>",
        f"<h1>itslab notebook gallery ({html.escape(mode)} mode)</h1>",
        f"<p>Executed {time.strftime('%Y-%m-%d %H:%M')}; each page is static (widgets as snapshots).</p>",
    ]
    for e in entries:
        ok = e["passed"]
        status = f"ran in {e['seconds']:.0f} s" if e["error"] is None else f"failed: {html.escape(e['error'])}"
        parts.append(
            f"<h2><a href='{e['name']}.html'>{html.escape(e['name'])}</a> "
            f"<span class='{'pass' if ok else 'fail'}'>{'pass' if ok else 'FAIL'}</span></h2>"
            f"<p>{html.escape(e['title'])} — {status}</p>"
        )
        if not e["claims"]:
            parts.append(f"<p>No claims registered for {html.escape(mode)} mode.</p>")
            continue
        if not e["fresh"]:
            parts.append("<p class='fail'>These verdicts were recorded before this run (stale).</p>")
        papers = sorted({f"{r['paper']} (arXiv:{r['arxiv']})" for r in e["claims"]})
        parts.append(f"<p>{'<br>'.join(html.escape(p) for p in papers)}</p>")
        parts.append(
            "<table><tr><th>claim</th><th>paper's value (where)</th><th>ours</th><th>check</th><th>verdict</th></tr>"
        )
        for r in e["claims"]:
            paper = "—" if r["paper_value"] is None else f"{r['paper_value']:.4g}"
            ours = "—" if r["ours"] is None else f"{r['ours']:.4g}" + (f" ± {r['se']:.2g}" if r.get("se") else "")
            cls = "pass" if r["as_registered"] else "fail"
            parts.append(
                f"<tr><td><b>{html.escape(r['id'])}</b><br>{html.escape(r['statement'])}"
                f"</td><td>{paper} ({html.escape(r['source'])})</td><td>{ours}</td><td>{html.escape(r['expect'])}</td>"
                f"<td class='{cls}'>{html.escape(claims.verdict_text(r))}</td></tr>"
            )
        parts.append("</table>")
    return "\n".join(parts) + "\n"


def title_of(nb: Any) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].splitlines()[0].strip()
    return ""


def build(paths: list[Path], out: Path, mode: str, timeout: float) -> list[dict[str, Any]]:
    """Execute and render `paths` into `out`; write the index; return one entry per notebook."""
    use_client_guard()
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for path in paths:
        since = time.time()
        print(f"gallery: running {path.name} ({mode} mode)", flush=True)
        nb, error, seconds = execute(path, mode, timeout)
        widget_snapshots(nb)
        (out / f"{path.stem}.html").write_text(render(nb), encoding="utf-8")
        rows, fresh = claim_rows(path.stem, mode, since)
        passed = error is None and fresh and all(r["as_registered"] for r in rows)
        entries.append(
            {"name": path.stem, "title": title_of(nb), "error": error, "seconds": seconds, "claims": rows}
            | {"fresh": fresh, "passed": passed}
        )
        print(
            f"gallery: {path.stem}: {'pass' if passed else 'FAIL'} in {seconds:.0f} s"
            + (f" ({error})" if error else "")
        )
        (out / "index.html").write_text(index_page(entries, mode), encoding="utf-8")  # readable while it runs
    return entries


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "gallery")
    ap.add_argument("--mode", choices=("full", "smoke"), default=os.environ.get("ITSLAB_MODE") or "full")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds one cell may run")
    args = ap.parse_args(argv)
    entries = build(select(args.notebooks), args.out, args.mode, args.timeout)
    print(f"gallery: {args.out / 'index.html'} ({sum(e['passed'] for e in entries)} of {len(entries)} passed)")
    return 0 if all(e["passed"] for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main())
