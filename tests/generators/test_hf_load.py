"""An unknown model fails at once, in one line naming it, instead of after transformers' hub retries."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("transformers")

from itslab.generators.hf import load as hf_load  # noqa: E402


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("[Errno -2] Name or service not known")

    def never(*args, **kwargs):
        raise AssertionError("transformers was asked to fetch a model the hub cannot serve")

    import transformers

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", never)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_unknown_model_offline_is_one_line_naming_it(offline):
    import torch

    with pytest.raises(FileNotFoundError, match=r"model 'no-such/model-xyz': not a local folder, .*cannot be reached"):
        hf_load.load_pretrained("no-such/model-xyz", gguf_file=None, device=torch.device("cpu"), dtype=torch.float32)


def test_offline_flag_is_named(offline, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE is set"):
        hf_load.hub_reachable_or_raise("no-such/model-xyz")


def test_local_folder_reads_local_files_only(offline, tmp_path):
    assert hf_load.hub_reachable_or_raise(tmp_path) is True


def test_unknown_model_in_a_config_is_one_cli_line(offline, tmp_path, capsys):
    from itslab.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "task: {name: arithmetic, limit: 2}\nmodel: {backend: hf, name: no-such/model-xyz}\n"
        f"strategies: [majority_vote]\nbudgets: [1]\nout: {tmp_path / 'out'}\n"
    )
    assert main(["run", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such/model-xyz" in err[0] and "cannot be reached" in err[0], err
    assert not (tmp_path / "out").exists()  # nothing half-made left behind
