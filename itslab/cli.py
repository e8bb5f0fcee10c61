"""The `itslab` command: ``demo``, ``models`` (list / install / verify), and later ``run`` / ``report``."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _cmd_models(args: argparse.Namespace) -> int:
    from itslab.generators import models

    if args.action == "list":
        print(models.format_registry())
    elif args.action == "install":
        for name in args.names or ["smollm2-135m"]:
            path = models.install(name)
            print(f"{name}: {path}")
    elif args.action == "verify":
        for name in args.names or ["smollm2-135m"]:
            print(f"{name}: {models.verify(name)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from itslab.demo import main as demo_main

    return demo_main(out_dir=args.out, quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `itslab` command."""
    p = argparse.ArgumentParser(prog="itslab", description="inference-time-scaling lab")
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("models", help="list, install or verify the known models")
    m.add_argument("action", nargs="?", default="list", choices=["list", "install", "verify"])
    m.add_argument("names", nargs="*", help="model names (default: smollm2-135m)")
    m.set_defaults(fn=_cmd_models)
    d = sub.add_parser("demo", help="run the main job: a scaling sweep on the embedded model and the simulator")
    d.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    d.add_argument("--quick", action="store_true", help="smaller sizes (what the tests run)")
    d.set_defaults(fn=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `itslab` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (ValueError, FileNotFoundError) as e:
        print(f"itslab {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
