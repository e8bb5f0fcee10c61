"""`import itslab` time in a fresh interpreter, against a baseline measured in the same run.

The package must import in under a second without torch (issue: architecture, acceptance): heavy
backends load lazily. Each import runs in a new process (a second import in one process is free);
the best of several runs is printed beside the baseline, `import numpy` (which itslab needs anyway),
and their ratio. A timing, so it lives here and not in the tests, which check only that no heavy
module is imported.

    .venv/bin/python benchmarks/bench_import.py
"""

from __future__ import annotations

import subprocess
import sys

REPS = 7
TARGET_S = 1.0


def import_time(module: str, reps: int = REPS) -> float:
    """Best wall time of `import module` over `reps` fresh interpreters."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(reps)
    )


def main() -> None:
    base, ours = import_time("numpy"), import_time("itslab")
    print(f"import numpy (baseline): {base:.3f} s")
    print(f"import itslab:           {ours:.3f} s  = {ours / base:.1f}x the baseline; target < {TARGET_S} s")
    print("PASS" if ours < TARGET_S else "FAIL")


if __name__ == "__main__":
    main()
