"""Run model-written Python against tests in a confined subprocess.

Each run gets a fresh temporary directory (also ``HOME`` and ``TMPDIR``), its own process group
(SIGKILLed afterwards), resource limits, no network (an empty network namespace where the kernel
allows, and a PEP 578 audit hook), and an audit hook that refuses process creation, signals,
foreign functions and writes outside its directory. It passes only on a result line carrying a
per-run nonce, written after the tests ran. Audit hooks are not a security boundary and a root
child stays root: this contains accidents and ordinary model code, not code written to escape
(run that in a container or VM as a non-root user). The full list: docs/methods.md.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

_CHILD = Path(__file__).with_name("_sandbox_child.py")


@dataclass(frozen=True)
class ExecutionResult:
    """Outcome of one sandboxed run: pass/fail, a one-line reason, captured output, timing."""

    passed: bool
    reason: str
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    network_isolation: str = ""
    pid: int = 0
    """The child's pid, which is also its process group id (all of it is killed before returning)."""


def _read_tail(path: Path, limit: int) -> str:
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - limit))
        return f.read().decode("utf-8", "replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_reason(rc: int) -> str:
    sig = -rc
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = str(sig)
    why = {
        "SIGXCPU": " (CPU time limit)",
        "SIGXFSZ": " (file size limit)",
        "SIGKILL": "",
        "SIGSEGV": " (crash; often the memory limit)",
    }.get(name, "")
    return f"killed by {name}{why}"


def run_python(
    code: str,
    tests: str | Sequence[str] = (),
    *,
    timeout: float = 5.0,
    memory_mb: int = 1024,
    file_mb: int = 16,
    max_processes: int = 64,
    output_limit: int = 64_000,
) -> ExecutionResult:
    """Run `code`, then each test (assert statements), in a confined child process.

    A test is a string of Python; a single string is one test. Returns an `ExecutionResult`
    whose reason is ``"passed"``, ``"timeout after Ns"``, ``"memory limit exceeded"``,
    ``"failed test: assert ..."``, ``"forbidden: socket.__new__"``, etc. Never raises for
    anything the code does; `ValueError` for bad limits.
    """
    if timeout <= 0 or memory_mb <= 0 or file_mb <= 0:
        raise ValueError(f"timeout, memory_mb and file_mb must be > 0, got {timeout}, {memory_mb}, {file_mb}")
    tests = [tests] if isinstance(tests, str) else list(tests)
    nonce = secrets.token_hex(16)
    job = {
        "code": code,
        "tests": tests,
        "nonce": nonce,
        "memory_bytes": memory_mb << 20,
        "cpu_seconds": int(timeout) + 2,
        "file_bytes": file_mb << 20,
        "max_processes": max_processes,
    }
    with (
        tempfile.TemporaryDirectory(prefix="itslab-sandbox-") as box,
        tempfile.TemporaryDirectory(prefix="itslab-sandbox-io-") as io_dir,
    ):
        out_path, err_path = Path(io_dir, "stdout"), Path(io_dir, "stderr")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": box,
            "TMPDIR": box,
            "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        t0 = time.monotonic()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(_CHILD)],
                cwd=box,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                proc.communicate(json.dumps(job).encode(), timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)  # the child leads its own session: its group id is its pid
                proc.wait()
        duration = time.monotonic() - t0
        stdout, stderr = _read_tail(out_path, output_limit), _read_tail(err_path, output_limit)
    result = None
    for line in reversed(stdout.splitlines()):
        if line.startswith(nonce + " "):
            result = json.loads(line[len(nonce) + 1 :])
            stdout = stdout[: stdout.rfind("\n" + line)]
            break
    if timed_out:
        return ExecutionResult(False, f"timeout after {timeout:g}s", stdout, stderr, duration, pid=proc.pid)
    if result is None:
        reason = (
            _signal_reason(proc.returncode)
            if proc.returncode < 0
            else f"exited with code {proc.returncode} before the tests finished"
        )
        if "MemoryError" in stderr:
            reason = "memory limit exceeded"
        return ExecutionResult(False, reason, stdout, stderr, duration, pid=proc.pid)
    return ExecutionResult(
        result["status"] == "pass", result["reason"], stdout, stderr, duration, result.get("network", ""), proc.pid
    )
