"""The `itslab` command: ``demo``, ``models`` (list / install / verify), ``run``, ``report`` and ``bank``."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _cmd_models(args: argparse.Namespace) -> int:
    from itslab import models

    if args.action == "list":
        print(models.format_registry())
    elif args.action == "install":
        for name in args.names or ["smollm2-135m"]:
            path = models.install(name, convert=not args.no_convert)
            print(f"{name}: {path}")
    elif args.action == "verify":
        for name in args.names or ["smollm2-135m"]:
            print(f"{name}: {models.verify(name)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from itslab.experiments.demo import main as demo_main

    return demo_main(out_dir=args.out, quick=args.quick)


def _cmd_run(args: argparse.Namespace) -> int:
    from itslab.experiments import config as configs
    from itslab.experiments import report
    from itslab.experiments.config import run_config

    cfg = configs.load(args.config)
    store = None
    if args.store:
        from itslab.generators.store import SampleStore

        store = SampleStore(args.store)
    from itslab.experiments import rundir as runs

    d = run_config(cfg, out=args.out, store=store)
    df, man = runs.load(d)
    # every cell with its 95% Wilson interval (0 of 5 reads [0.00, 0.43], never "se 0")
    print(report.wide_table(df).to_string(index=False))
    if "engine_generated_tokens" in man:
        print(
            f"\nengine: {man['engine_generated_tokens']} tokens generated in {man['engine_seconds']} s "
            f"({man['engine_tokens_per_s']} tok/s inside generate; "
            f"{man['sweep_generated_tokens_per_s']} tok/s over the whole sweep, scoring included)"
        )
    print(f"\nwrote {d}/results.parquet, manifest.json, scaling.png, report.md")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from itslab.experiments import report

    path = report.write_report(args.run_dir)
    print(path.read_text())
    print(f"wrote {path} and {path.parent / 'scaling.png'}")
    return 0


def _cmd_bank(args: argparse.Namespace) -> int:
    from itslab import banks

    if args.action == "list":
        rows = banks.list_banks(args.root)
        if not rows:
            print(f"no banks under {args.root or banks.default_root()}")
        for b in rows:
            print(
                f"{b['name']}: {b['task']} × {b['model']} T={b['temperature']}, {b['problems']} problems × "
                f"{b['samples_per_problem']} samples, {b['bytes']} bytes, sha256 {b['sha256']} "
                f"{'ok' if b['verified'] else 'MISMATCH'}"
            )
        return 0 if all(b["verified"] for b in rows) else 1
    if args.action == "table":
        print(banks.summary_table(args.root))
        return 0
    if not args.spec:
        raise ValueError("itslab bank record needs a SPEC (a YAML bank spec)")
    spec = banks.read_spec(args.spec)
    folder = banks.record(spec, root=args.root, store=args.store, limit_chunks=args.chunks)
    done = (folder / banks.MANIFEST).is_file()
    print(f"{folder}: {'finished' if done else 'partly recorded (run the same command again to resume)'}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from itslab import claims

    if args.markdown:
        print(claims.markdown_table(args.mode))
        return 0
    rows = claims.table(args.notebook, args.mode)
    print(claims.format_rows(rows))
    ran = [r for r in rows if r["ours"] is not None]
    print(
        f"{len(rows)} claims ({args.mode} mode): {len(ran)} with recorded results, "
        f"{sum(r['as_registered'] for r in ran)} as registered, {len(rows) - len(ran)} not run"
    )
    return 0 if all(r["as_registered"] for r in ran) else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `itslab` command."""
    p = argparse.ArgumentParser(prog="itslab", description="inference-time-scaling lab")
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("models", help="list, install or verify the known models")
    m.add_argument("action", nargs="?", default="list", choices=["list", "install", "verify"])
    m.add_argument("names", nargs="*", help="model names (default: smollm2-135m)")
    m.add_argument("--no-convert", action="store_true", help="install the GGUF only (llama.cpp), no transformers copy")
    m.set_defaults(fn=_cmd_models)
    d = sub.add_parser("demo", help="run the main job: a scaling sweep on the embedded model and the simulator")
    d.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    d.add_argument("--quick", action="store_true", help="smaller sizes (what the tests run)")
    d.set_defaults(fn=_cmd_demo)
    r = sub.add_parser("run", help="run the sweep a YAML config describes")
    r.add_argument("config", help="path to the YAML config")
    r.add_argument("--out", default=None, help="output directory (default: the config's out)")
    r.add_argument("--store", default=None, help="SQLite sample store: makes the sweep resumable")
    r.set_defaults(fn=_cmd_run)
    rp = sub.add_parser("report", help="write scaling.png and report.md for a run directory")
    rp.add_argument("run_dir")
    rp.set_defaults(fn=_cmd_report)
    b = sub.add_parser(
        "bank", help="record a sample bank from a spec, list the banks with their sha256, or print their results table"
    )
    b.add_argument("action", choices=["record", "list", "table"])
    b.add_argument("spec", nargs="?", help="YAML bank spec (for record)")
    b.add_argument("--root", default=None, help="banks folder (default: data/banks of the checkout)")
    b.add_argument("--store", default=None, help="SQLite sample store caching samples of unfinished parts")
    b.add_argument("--chunks", type=int, default=None, help="stop after this many new parts")
    b.set_defaults(fn=_cmd_bank)
    rr = sub.add_parser(
        "reproduce", help="print the notebooks' registered claims: the paper's value, ours (last run), the verdict"
    )
    rr.add_argument("notebook", nargs="?", default=None, help="one notebook, e.g. 01_repeated_sampling (default: all)")
    rr.add_argument("--mode", default="full", choices=["smoke", "full"], help="whose results to show (default full)")
    rr.add_argument("--markdown", action="store_true", help="the claims table of notebooks/README.md")
    rr.set_defaults(fn=_cmd_reproduce)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `itslab` console script: every failure is one line naming what was wrong
    (``--debug`` shows the traceback); exit code 2."""
    parser = build_parser()
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    args = parser.parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        print(f"itslab {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the command line shows one line, not a traceback
        if args.debug:
            raise
        kind = "" if isinstance(e, (ValueError, FileNotFoundError, LookupError)) else f"{type(e).__name__}: "
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"itslab {args.command}: error: {kind}{msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
