"""The HTTP backend against a real llama.cpp server (llama-cpp-python's, on 127.0.0.1, with the
embedded SmolLM2-135M): samples and accounting, best-of-N and a 3-step particle filter end to
end, the chat API, an API key, and a server killed mid-run. Slow: each test decodes real tokens
and the module starts a server (~5 s)."""

from __future__ import annotations

import threading
import time

import pytest

from itslab import Budget, strategies
from itslab.generators.http import BackendError, RetryPolicy
from itslab.rng import problem_rng
from itslab.types import Request, Usage

pytestmark = pytest.mark.slow


def test_samples_accounting_logprobs_and_seeds(http_gen, llama_gen):
    prompt = llama_gen.chat_prompt([{"role": "user", "content": "Name a colour."}])
    req = Request(prompt, n=3, max_tokens=10, temperature=0.8, seed=21, logprobs=True)
    out = http_gen.generate([req])[0]
    n_prompt = llama_gen.count_tokens(prompt)
    assert http_gen.count_tokens(prompt) == n_prompt  # the server's tokenize endpoint agrees
    for j, c in enumerate(out):
        assert c.meta["index"] == j and c.seed == 21 and c.n_prompt_tokens == n_prompt
        assert 1 <= c.n_tokens <= 10 and len(c.logprobs) == c.n_tokens and all(x <= 1e-6 for x in c.logprobs)
        assert c.finish_reason == ("length" if c.n_tokens == 10 else "stop")
    # per-sample seeds: sample j is the same for n = 1 and n = 3, and the seed matters
    again = http_gen.generate([Request(prompt, n=1, max_tokens=10, temperature=0.8, seed=21, logprobs=True)])[0]
    assert again[0].text == out[0].text
    other = http_gen.generate([Request(prompt, n=3, max_tokens=10, temperature=0.8, seed=22)])[0]
    assert [c.text for c in other] != [c.text for c in out]


def test_stop_strings_come_back_in_the_text(http_gen):
    out = http_gen.generate([Request("Count: 1, 2, 3,", n=2, max_tokens=24, temperature=0.0, stop=(",",))])[0]
    for c in out:
        assert c.finish_reason == "stop" and c.text.endswith(",") and c.text.count(",") == 1
        assert c.meta["stop_source"] == "tokens"


def test_best_of_n_end_to_end(http_gen, problems):
    from itslab.verifiers import NoisyVerifier

    p = problems[1]
    r = strategies.get("best_of_n")(
        p,
        http_gen,
        NoisyVerifier(tpr=0.9, fpr=0.1, seed=0),
        Budget(samples=4),
        problem_rng(0, p.id),
        n=4,
        max_tokens=32,
    )
    assert len(r.candidates) == 4 and r.usage.samples == 4 and r.usage.verifier_calls == 4
    assert r.usage == sum((s.usage for s in r.trace), start=Usage())
    assert r.usage.prompt_tokens == 4 * http_gen.count_tokens(p.prompt)  # the server read the prompt per sample


def test_particle_filter_three_steps_end_to_end(http_gen, problems):
    from itslab.verifiers import NoisyProcessVerifier, split_steps

    p = problems[0]
    prm = NoisyProcessVerifier(lambda q, t: [True] * len(split_steps(t)), noise=1.0, seed=0)
    r = strategies.get("particle_filter")(
        p,
        http_gen,
        prm,
        Budget(samples=64),
        problem_rng(0, p.id),
        n_particles=4,
        max_steps=3,
        max_step_tokens=16,
        max_tokens=64,
    )
    steps = [s for s in r.trace if s.kind != "verify" and s.usage.samples > 0]
    assert 1 <= len(steps) <= 3 and len(r.candidates) == 4
    assert r.usage == sum((s.usage for s in r.trace), start=Usage())
    assert all(c.text for c in r.candidates)


def test_chat_api(llama_http_server):
    gen = llama_http_server.generator(api="chat", system_prompt="Answer in one word.")
    out = gen.generate([Request("What colour is the sky?", n=2, max_tokens=8, temperature=0.7, seed=1)])[0]
    assert len(out) == 2 and all(c.n_prompt_tokens > 5 and 1 <= c.n_tokens <= 8 for c in out)


def test_api_key_and_server_killed_mid_run(monkeypatch, tmp_path):
    """A keyed server: no key is a 401, not retried; then the server dies during a batch: the
    backend retries, raises naming the endpoint, and nothing of that batch is stored."""
    from itslab.generators.http.servers import llama_cpp_python_server
    from itslab.generators.store import Cached, SampleStore

    monkeypatch.setenv("ITSLAB_TEST_SERVER_KEY", "sk-test-123")
    with llama_cpp_python_server("smollm2-135m", n_ctx=1024, api_key="sk-test-123") as srv:
        anon = srv.generator(api_key_env="ITSLAB_NO_SUCH_KEY", retry=RetryPolicy(max_retries=2, base_delay=0.01))
        with pytest.raises(BackendError, match="HTTP 401") as e:
            anon.generate([Request("Hi", max_tokens=2)])
        assert e.value.attempts == 1
        gen = srv.generator(
            api_key_env="ITSLAB_TEST_SERVER_KEY", max_concurrency=1, retry=RetryPolicy(max_retries=2, base_delay=0.05)
        )
        with SampleStore(tmp_path / "s.db") as store:
            cached = Cached(gen, store)
            cached.generate([Request("The sky is", n=2, max_tokens=8, seed=0)])
            assert store.count() == 2
            answered = gen.stats.answered

            def killer():
                while gen.stats.answered < answered + 2:
                    time.sleep(0.01)
                srv.kill()

            t = threading.Thread(target=killer, daemon=True)
            t.start()
            t0 = time.perf_counter()
            with pytest.raises(BackendError) as e:
                cached.generate([Request("Once upon a time", n=12, max_tokens=24, seed=1)])
            t.join(5)
            assert not srv.alive and time.perf_counter() - t0 < 60
            assert e.value.endpoint == f"{srv.base_url}/completions" and e.value.attempts == 3
            assert "connection failed" in str(e.value)
            assert store.count() == 2  # the two answered samples of the failed batch were not stored
