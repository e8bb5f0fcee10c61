"""Fixtures for the serving-backend tests: the embedded model in-process (llama.cpp) and behind a
real llama.cpp server (``python -m llama_cpp.server`` on 127.0.0.1), started once per module."""

from __future__ import annotations

import pytest

from itslab.types import Problem

ARITH = [("add", "What is 12 + 7?", "19"), ("mul", "What is 6 * 7?", "42"), ("sub", "What is 30 - 4?", "26")]


@pytest.fixture(scope="session")
def problems():
    """Three small arithmetic problems with gold answers (written here, not from any dataset)."""
    return [Problem(id=f"arith/{k}", prompt=f"Question: {q}\nAnswer step by step.\n\n", answer=a) for k, q, a in ARITH]


@pytest.fixture(scope="module")
def llama_gen():
    """The embedded SmolLM2-135M GGUF in-process (llama.cpp)."""
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    g = LlamaCppGenerator("smollm2-135m", n_ctx=8192, max_batch=16)
    yield g
    g.close()


@pytest.fixture(scope="module")
def llama_http_server():
    """A real llama-cpp-python OpenAI server with the embedded GGUF, stopped after the module."""
    pytest.importorskip("llama_cpp.server.app")
    from itslab.generators.http.servers import llama_cpp_python_server

    with llama_cpp_python_server("smollm2-135m", n_ctx=2048) as srv:
        yield srv


@pytest.fixture(scope="module")
def http_gen(llama_http_server):
    """An `OpenAIGenerator` on the real llama.cpp server (token counts from its tokenize endpoint)."""
    from itslab.generators.http import RetryPolicy

    return llama_http_server.generator(
        max_concurrency=2, timeout=60.0, retry=RetryPolicy(max_retries=2, base_delay=0.05)
    )
