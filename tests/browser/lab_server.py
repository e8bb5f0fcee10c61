"""A JupyterLab server for the browser tests: loopback, a free port, a random token.

It serves a scratch folder holding copies of the notebooks (JupyterLab autosaves, and outputs
must never reach the notebooks in git), and gets its own Jupyter config, data, runtime and
settings folders, so nothing from ``~/.jupyter`` changes what the test sees. Two settings differ
from a fresh JupyterLab, both for the test's eyes only: every cell stays attached to the page
(``windowingMode = none``; the default skips rendering off-screen cells, which would hide their
prompts and outputs from the checks), and no news or update toasts cover the notebook.

Kernels inherit the server's environment, so ``env={"ITSLAB_MODE": "smoke"}`` runs every
notebook in smoke mode. Waits poll (never one long blocking call): a kernel under CPU load may
take a while to answer, and a poll that misses one answer sees the next.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHOTS = REPO / "runs" / "browser"  # screenshots, one set per notebook
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def free_port() -> int:
    """A port nothing listens on right now (the server is told not to try others)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_command(root: Path, port: int, token: str) -> list[str]:
    """``jupyter lab`` on loopback, `port`, `token`, serving `root`, no browser of its own."""
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1"]
    cmd += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    cmd += [f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI runners often run as root
    return cmd


class LabServer:
    """``jupyter lab`` serving `root`; its private folders and log live under `home`."""

    def __init__(self, root: Path, home: Path, env: dict[str, str] | None = None) -> None:
        self.root, self.home = Path(root), Path(home)
        self.env = {**os.environ, **(env or {})}
        self.token = secrets.token_hex(24)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.home / "server.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """`path` on this server, logged in by the token."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def start(self, timeout: float = 180.0) -> LabServer:
        """Start and wait until the REST API answers; a port lost to a race gets a new one."""
        settings = self.home / "settings"
        for name, values in SETTINGS.items():
            path = settings / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        for sub in ("config", "data", "runtime", "workspaces"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        env = {
            **self.env,
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_DATA_DIR": str(self.home / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
        }
        extra = [f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={self.home / 'workspaces'}"]
        for _attempt in range(3):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    lab_command(self.root, self.port, self.token) + extra,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            if self._wait_up(timeout):
                return self
        raise RuntimeError(f"JupyterLab did not start; its log ends:\n{self.log_tail()}")

    def _wait_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # e.g. the port was taken between free_port and bind: try another
            try:
                self.api("api/status")
                return True
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"JupyterLab did not answer within {timeout:.0f} s; its log ends:\n{self.log_tail()}")

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API; returns the decoded JSON (None for an empty reply)."""
        req = urllib.request.Request(
            f"{self.base}/{path.lstrip('/')}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def session(self, notebook: str) -> dict[str, Any] | None:
        """The session (and its kernel) of `notebook`, a path relative to the served root."""
        for s in self.api("api/sessions"):
            if s.get("path") == notebook:
                return dict(s)
        return None

    def shutdown_session(self, notebook: str) -> None:
        """Shut `notebook`'s kernel down, so the next notebook does not share the CPU with it."""
        try:
            s = self.session(notebook)
            if s is not None:
                self.api(f"api/sessions/{s['id']}", method="DELETE")
        except OSError:  # the server is gone: its kernels went with it
            pass

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server and its kernels (its whole process group)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout)
