"""Renamed modules keep their old import path for one release (`itslab/__init__.py::_MOVED`)."""

from __future__ import annotations

import importlib
import sys

import pytest

import itslab


@pytest.mark.parametrize("old", sorted(itslab._MOVED))
def test_an_old_path_imports_the_new_module_with_a_deprecation_warning(old):
    new = itslab._MOVED[old]
    if new.startswith("itslab.generators.hf."):
        pytest.importorskip("torch")  # the transformers engine is the optional `hf` extra
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_backend_packages_export_what_their_old_modules_did():
    from itslab.generators import http, llamacpp, simulated, vllm

    assert llamacpp.LlamaCppGenerator.__module__ == "itslab.generators.llamacpp.generator"
    assert {"OpenAIGenerator", "BackendError", "RetryPolicy"} <= set(http.__all__)
    assert vllm.VLLMGenerator.__module__ == "itslab.generators.vllm.generator"
    assert {"make_suite", "KINDS", "count_tokens", "step_oracle", "THINK_END"} <= set(simulated.__all__)
