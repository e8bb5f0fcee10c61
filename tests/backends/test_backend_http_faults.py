"""The HTTP backend's retries, errors, timeouts, accounting and key handling, against a scripted
fake server (the faults a real server cannot produce on demand). Fast: no model is loaded."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from fake_openai import FakeOpenAI

from itslab.generators.http import BackendError, OpenAIGenerator, RetryPolicy
from itslab.generators.http.wire import parse_choice, restore_stop, sample_seed
from itslab.types import Request

FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)


def _gen(fake: FakeOpenAI, **kw) -> OpenAIGenerator:
    kw.setdefault("retry", FAST)
    return OpenAIGenerator(fake.base_url, "fake-model", **kw)


def test_500_then_200_is_retried_once_and_succeeds():
    with FakeOpenAI([500, 200]) as fake:
        gen = _gen(fake)
        out = gen.generate([Request("2 + 2 =", n=1, max_tokens=4, seed=5)])
    assert len(fake.requests) == 2 and gen.stats.retries == 1
    c = out[0][0]
    assert c.text == " 4" and c.n_prompt_tokens == 7 and c.n_cached_tokens == 3 and c.n_tokens == 2
    # the retried request is the same request: same body, same per-sample seed
    assert fake.requests[0] == fake.requests[1] and fake.requests[0]["seed"] == sample_seed(5, 0)


def test_400_is_not_retried_and_names_endpoint_and_status():
    with FakeOpenAI([400]) as fake:
        gen = _gen(fake)
        with pytest.raises(BackendError) as e:
            gen.generate([Request("x", n=1, max_tokens=4)])
    assert len(fake.requests) == 1 and gen.stats.retries == 0
    assert e.value.status == 400 and e.value.endpoint == f"{fake.base_url}/completions"
    assert "/v1/completions" in str(e.value) and "HTTP 400" in str(e.value) and "not retried" in str(e.value)


def test_429_and_503_are_retried_until_success():
    with FakeOpenAI([429, 503, 200]) as fake:
        gen = _gen(fake)
        gen.generate([Request("x", n=1, max_tokens=4)])
    assert len(fake.requests) == 3 and gen.stats.statuses == {429: 1, 503: 1, 200: 1}


def test_persistent_5xx_gives_up_after_max_retries():
    with FakeOpenAI([502]) as fake:
        gen = _gen(fake)
        with pytest.raises(BackendError, match=r"after 3 attempt\(s\) \(HTTP 502\)"):
            gen.generate([Request("x", n=1, max_tokens=4)])
    assert len(fake.requests) == 3


def test_slow_reply_past_timeout_is_retried_then_raises():
    with FakeOpenAI([("sleep", 1.5)]) as fake:
        gen = _gen(fake, timeout=0.2, retry=RetryPolicy(max_retries=1, base_delay=0.01))
        t0 = time.perf_counter()
        with pytest.raises(BackendError, match="timed out after 0.2 s") as e:
            gen.generate([Request("x", n=1, max_tokens=4)])
        took = time.perf_counter() - t0
    assert e.value.status is None and e.value.attempts == 2
    assert len(fake.requests) == 2 and took < 1.4  # it did not wait for the slow replies


def test_connection_refused_is_retried_then_raises():
    with FakeOpenAI([200]) as fake:
        url = fake.base_url
    gen = OpenAIGenerator(url, "fake-model", retry=FAST)  # the server is gone: nothing listens
    with pytest.raises(BackendError, match="connection failed") as e:
        gen.generate([Request("x", n=2, max_tokens=4)])
    assert e.value.attempts == 3 and gen.stats.answered == 0


def test_one_failing_sample_fails_the_whole_batch():
    # sample 1 of 3 hits a 400: generate raises instead of returning two samples
    with FakeOpenAI([200, 400, 200]) as fake:
        gen = _gen(fake, max_concurrency=1)
        with pytest.raises(BackendError):
            gen.generate([Request("x", n=3, max_tokens=4)])


def test_api_key_from_env_is_sent_and_never_shown(monkeypatch, caplog):
    monkeypatch.setenv("ITSLAB_TEST_KEY", "sk-very-secret")
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI([500, 200, 400]) as fake:
        gen = _gen(fake, api_key_env="ITSLAB_TEST_KEY")
        gen.generate([Request("x", n=1, max_tokens=4)])
        with pytest.raises(BackendError) as e:
            gen.generate([Request("y", n=1, max_tokens=4)])
    assert all(h.get("Authorization") == "Bearer sk-very-secret" for h in fake.headers)
    shown = repr(gen) + str(e.value) + caplog.text + repr(vars(gen))
    assert "sk-very-secret" not in shown


def test_per_sample_requests_carry_derived_seeds_and_indices():
    with FakeOpenAI([200]) as fake:
        gen = _gen(fake, max_concurrency=3)
        out = gen.generate([Request("a", n=3, max_tokens=4, seed=9, logprobs=True), Request("b", n=0)])
    assert sorted(b["seed"] for b in fake.requests) == sorted(sample_seed(9, j) for j in range(3))
    assert all(b["n"] == 1 and b["prompt"] == "a" for b in fake.requests)
    assert [c.meta["index"] for c in out[0]] == [0, 1, 2] and out[1] == []
    assert out[0][0].logprobs == (-0.5, -0.5)
    assert len({sample_seed(9, j) for j in range(50)}) == 50 and sample_seed(9, 0) == sample_seed(9, 0)


def test_server_mode_sends_n_and_counts_the_prompt_once():
    with FakeOpenAI([200]) as fake:
        gen = _gen(fake, samples="server")
        out = gen.generate([Request("a", n=4, max_tokens=4, seed=9)])[0]
    assert len(fake.requests) == 1 and fake.requests[0]["n"] == 4 and fake.requests[0]["seed"] == 9
    assert [c.n_cached_tokens for c in out] == [3, 7, 7, 7] and all(c.n_tokens == 2 for c in out)


def test_logprobs_off_never_asks_for_them_and_counts_from_usage():
    # llama-cpp-python's server sorts the whole vocabulary in Python per returned logprob: a
    # strategy that does not read them can switch them off; counts then come from `usage`
    with FakeOpenAI([200]) as fake:
        gen = _gen(fake, logprobs=False)
        out = gen.generate([Request("a", n=2, max_tokens=4, seed=9, logprobs=True, stop=("\n",))])[0]
    assert len(fake.requests) == 2 and all("logprobs" not in b for b in fake.requests)
    assert all(c.logprobs is None and c.n_tokens == 2 for c in out)
    with pytest.raises(ValueError, match="logprobs"):
        OpenAIGenerator("http://127.0.0.1:9/v1", "m", samples="server", logprobs=False)


def test_stop_string_is_restored_from_stop_reason_or_tokens():
    with FakeOpenAI([200], stop_reason="\n\n") as fake:
        out = _gen(fake).generate([Request("a", n=1, max_tokens=4, stop=("\n\n",))])[0][0]
    assert out.text == " 4\n\n" and out.meta["stop_source"] == "stop_reason"
    assert fake.requests[0]["logprobs"] == 1 and fake.requests[0]["stop"] == ["\n\n"]
    # tokens run past the cut text into the stop string; nothing after the text means EOS
    assert restore_stop("ab", "stop", ["\n", "."], tokens=["a", "b.", "x"])[:2] == ("ab.", ".")
    assert restore_stop("ab", "stop", ["\n"], tokens=["a", "b"]) == ("ab", None, "tokens")
    assert restore_stop("ab", "stop", ["\n"], None, None) == ("ab", None, "stop_reason")  # vLLM: None = EOS
    assert restore_stop("ab", "length", ["\n"]) == ("ab", None, "none")
    # llama-server lists EOS (as "") but leaves the stop's tokens out of the list it counted
    assert restore_stop("ab", "stop", [","], tokens=["a", "b"], n_generated=3) == ("ab,", ",", "trimmed")
    assert restore_stop("ab", "stop", [","], tokens=["a", "b", ""], n_generated=3) == ("ab", None, "tokens")
    assert restore_stop("ab", "stop", ["\n"]) == ("ab\n", "\n", "assumed")


def test_retry_delays_grow_and_are_deterministic():
    p = RetryPolicy(base_delay=1.0, max_delay=10.0)
    d = [p.delay(k, np.random.default_rng(0)) for k in range(6)]
    assert all(0.5 * min(10, 2**k) <= x <= min(10, 2**k) for k, x in enumerate(d))
    assert d == [p.delay(k, np.random.default_rng(0)) for k in range(6)]
    assert p.delay(0, np.random.default_rng(0), retry_after=5.0) == 5.0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="api"):
        OpenAIGenerator("http://127.0.0.1:9/v1", "m", api="edits")
    with pytest.raises(ValueError, match="samples"):
        OpenAIGenerator("http://127.0.0.1:9/v1", "m", samples="all")
    with pytest.raises(BackendError, match="/v1/models"):
        OpenAIGenerator("http://127.0.0.1:9/v1", retry=FAST, timeout=0.5)  # model discovery fails clearly


def test_reply_formats_of_completions_and_chat():
    oai = {"text": "hi", "logprobs": {"tokens": ["h", "i"], "token_logprobs": [-1.0, -2.0]}}
    llama_server = {
        "text": "hi",
        "logprobs": {"content": [{"token": "h", "logprob": -1.0}, {"token": "i", "logprob": -2.0}]},
    }
    chat = {
        "message": {"content": "hi"},
        "logprobs": {"content": [{"token": "h", "logprob": -1.0}, {"token": "i", "logprob": -2.0}]},
    }
    want = ("hi", ["h", "i"], [-1.0, -2.0])
    assert (
        parse_choice(oai, "completions")
        == parse_choice(llama_server, "completions")
        == parse_choice(chat, "chat")
        == want
    )
    assert parse_choice({"text": "x"}, "completions") == ("x", None, None)


def test_generate_works_inside_a_running_event_loop():
    # Jupyter runs an event loop in the main thread; generate must not call asyncio.run in it
    import asyncio

    async def inside(gen):
        return gen.generate([Request("x", n=2, max_tokens=4)]), await gen.agenerate([Request("y", n=1, max_tokens=4)])

    with FakeOpenAI([200]) as fake:
        sync_out, async_out = asyncio.run(inside(_gen(fake)))
    assert len(sync_out[0]) == 2 and len(async_out[0]) == 1 and len(fake.requests) == 3
