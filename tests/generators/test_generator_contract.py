"""The generator contract (architecture.md, "Backends") on every backend a CPU runs: each simulator,
replay from a sample store, a recorded bank, the transformers engine and llama.cpp on the embedded
SmolLM2-135M (and, marked `gpu`, the transformers engine on a CUDA device). One list of n samples per request, in order; the same request and seed give the same
samples and the first k of n do not depend on n; ``max_tokens == 0`` gives the shared empty samples;
stop strings cut where the first one completes; bad requests raise the shared one-line error; token
counts and finish reasons keep to the rules.

A bank serves its recordings as they were (one temperature and max_tokens, stop strings ignored) and
checks nothing, so the rules on limits and errors are skipped for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from itslab.generators.common import empty_completions, find_stop
from itslab.protocols import Generator
from itslab.types import Completion, Request

STOPS = (".", "\n")  # one character each: a stop lies in the first max_tokens tokens iff the free text holds it
SEEDS = (11, 12)
STOP_VARIANTS = ((), STOPS, ("",))


@dataclass
class Backend:
    """A generator with two prefixes it can continue and the sampling it is checked under."""

    gen: Any
    prefixes: tuple[str, str]
    max_tokens: int
    temperature: float = 0.8
    reset: Callable[[], None] = lambda: None  # forget cached prefixes (llama.cpp repeats exactly then)
    limits: bool = True  # honours max_tokens == 0 and stop strings
    validates: bool = True  # raises the shared errors
    seen: dict[Request, list[Completion]] = field(default_factory=dict)


def req(b: Backend, prefix: str, **over: Any) -> Request:
    """The contract's request: 3 samples at seed 11 unless `over` says otherwise."""
    kw: dict[str, Any] = dict(n=3, max_tokens=b.max_tokens, temperature=b.temperature, seed=11)
    return Request(prefix, **{**kw, **over})


def sample(b: Backend, r: Request) -> list[Completion]:
    """The samples of `r`, generated once per backend (real models decode every token; the
    reproducibility test generates again)."""
    if r not in b.seen:
        b.reset()
        b.seen[r] = b.gen.generate([r])[0]
    return b.seen[r]


def texts(b: Backend, r: Request) -> list[str]:
    return [c.text for c in sample(b, r)]


# ---------------------------------------------------------------- the backends


def _simulated(kind: str) -> Backend:
    from itslab.generators.simulated import make_suite

    problems, gen = make_suite(2, seed=3, kind=kind)
    return Backend(gen, (problems[0].prompt, problems[1].prompt), max_tokens=256)


@pytest.fixture(scope="module")
def replay_backend(tmp_path_factory):
    from itslab.generators.replay import ReplayGenerator
    from itslab.generators.store import Cached, SampleStore

    sim = _simulated("stepwise")
    store = SampleStore(tmp_path_factory.mktemp("store") / "samples.db")
    Cached(sim.gen, store).generate(
        [req(sim, p, seed=s, stop=stop) for p in sim.prefixes for s in SEEDS for stop in STOP_VARIANTS]
    )
    yield Backend(ReplayGenerator(store, sim.gen.model_id), sim.prefixes, max_tokens=sim.max_tokens)
    store.close()


@pytest.fixture(scope="module")
def bank_backend(tmp_path_factory) -> Backend:
    from itslab import banks, tasks

    spec = {
        "name": "contract",
        "task": {"name": "arithmetic", "limit": 2, "difficulty": 1},
        "model": {"backend": "simulated", "name": "outcome"},
        "sampling": {"n": 4, "temperature": 0.7, "max_tokens": 256},
        "chunk": 2,
    }
    root = tmp_path_factory.mktemp("banks")
    banks.record(banks.parse_spec(spec), root=root, progress=False)
    gen = banks.BankReplay(banks.load("contract", root))
    p0, p1 = (gen.format_prompt(p) for p in tasks.load("arithmetic", limit=2, difficulty=1))
    return Backend(gen, (p0, p1), max_tokens=256, temperature=0.7, limits=False, validates=False)


@pytest.fixture(scope="module")
def hf_backend() -> Backend:
    pytest.importorskip("torch")  # the transformers engine is the optional `hf` extra
    pytest.importorskip("transformers")
    from itslab import models

    gen = models.load("smollm2-135m", device="cpu", cache_bytes=64 << 20, num_threads=1)
    return Backend(gen, _chat_prompts(gen), max_tokens=12, reset=gen.prefix_cache.clear)


@pytest.fixture(scope="module")
def hf_cuda_backend() -> Backend:
    """The transformers engine on a CUDA device, on a seeded random model (gpu_model.py): runs with
    ``-m gpu`` on a GPU machine (tools/gpu_check.sh)."""
    from gpu_model import cuda_device, embedded_tokenizer, random_llama

    from itslab.generators.hf import HFGenerator

    device, tok = cuda_device(), embedded_tokenizer()
    gen = HFGenerator(random_llama(tok).to(device), tokenizer=tok, cache_bytes=64 << 20)
    return Backend(gen, _chat_prompts(gen), max_tokens=12, reset=gen.prefix_cache.clear)


@pytest.fixture(scope="module")
def llamacpp_backend():
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    gen = LlamaCppGenerator("smollm2-135m", n_ctx=4096, max_batch=16)
    yield Backend(gen, _chat_prompts(gen), max_tokens=12, reset=gen.clear_cache)
    gen.close()


@pytest.fixture(scope="module")
def llamacpp_streams_backend():
    """llama.cpp with a KV stream per sequence (`kv_streams=True`): rows packed, whole-stream copies."""
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    gen = LlamaCppGenerator("smollm2-135m", n_ctx=512, max_batch=16, n_seq_max=32, kv_streams=True)
    yield Backend(gen, _chat_prompts(gen), max_tokens=12, reset=gen.clear_cache)
    gen.close()


def _chat_prompts(gen: Any) -> tuple[str, str]:
    ask = ("What is 12 + 7? Think step by step.", "Name a colour and say why you like it.")
    p0, p1 = (gen.chat_prompt([{"role": "user", "content": q}]) for q in ask)
    return p0, p1


def _mixture() -> Backend:
    """Two simulated models (one 1 logit stronger, at its own temperature) in proportions 1:2."""
    from itslab.generators.mixture import MixtureConfig, MixtureGenerator
    from itslab.generators.simulated import SimulatedGenerator
    from itslab.pools import shift_skill

    sim = _simulated("outcome")
    strong = SimulatedGenerator(shift_skill(sim.gen.problems, 1.0), seed=4)
    configs = [MixtureConfig("weak", sim.gen), MixtureConfig("strong", strong, temperature=0.5)]
    return Backend(MixtureGenerator(configs, [1, 2]), sim.prefixes, max_tokens=sim.max_tokens)


BUILT = {
    "mixture": _mixture,
    "sim-outcome": lambda: _simulated("outcome"),
    "sim-stepwise": lambda: _simulated("stepwise"),
    "sim-sequential": lambda: _simulated("sequential"),
    "sim-thinking": lambda: _simulated("thinking"),
    "sim-anytime": lambda: _simulated("anytime"),
}
FIXTURES = {
    "replay": "replay_backend",
    "bank": "bank_backend",
    "hf": "hf_backend",
    "llamacpp": "llamacpp_backend",
    "llamacpp-streams": "llamacpp_streams_backend",
    "hf-cuda": "hf_cuda_backend",
}
GPU = {"hf-cuda"}


@pytest.fixture(
    scope="module", params=[pytest.param(k, marks=[pytest.mark.gpu] if k in GPU else []) for k in [*BUILT, *FIXTURES]]
)
def backend(request) -> Backend:
    if request.param in BUILT:
        return BUILT[request.param]()
    return request.getfixturevalue(FIXTURES[request.param])


# ---------------------------------------------------------------- the contract


def test_one_list_of_n_samples_per_request_in_order(backend):
    b = backend
    assert isinstance(b.gen, Generator) and isinstance(b.gen.model_id, str)
    p0, p1 = b.prefixes
    reqs = [req(b, p0, n=3), req(b, p1, n=1), req(b, p0, n=0)]
    b.reset()
    out = b.gen.generate(reqs)
    assert [len(cs) for cs in out] == [3, 1, 0]
    for r, cs in zip(reqs, out):
        assert all(c.seed == r.seed and c.meta.get("index", j) == j for j, c in enumerate(cs))
    # each request's samples are its own: the same as when it is sent alone
    assert [c.text for c in out[0]] == texts(b, reqs[0])
    assert [c.text for c in out[1]] == texts(b, reqs[1])


def test_same_request_and_seed_same_samples_other_seed_other_samples(backend):
    b = backend
    for p in b.prefixes:
        first = texts(b, req(b, p))
        b.reset()
        assert [c.text for c in b.gen.generate([req(b, p)])[0]] == first
        assert texts(b, req(b, p, seed=SEEDS[1])) != first


def test_first_k_of_n_samples_do_not_depend_on_n(backend):
    b = backend
    for p in b.prefixes:
        assert texts(b, req(b, p, n=1)) == texts(b, req(b, p))[:1]
        assert texts(b, req(b, p, n=2)) == texts(b, req(b, p))[:2]


def test_zero_max_tokens_gives_the_shared_empty_samples(backend):
    b = backend
    if not b.limits:
        pytest.skip("a bank serves samples recorded at one max_tokens")
    r = req(b, b.prefixes[0], n=2, max_tokens=0)
    assert b.gen.generate([r, req(b, b.prefixes[1], n=0, max_tokens=0)]) == [empty_completions(r), []]


def test_stop_strings_cut_where_the_first_one_completes(backend):
    b = backend
    if not b.limits:
        pytest.skip("a bank serves recorded texts as they are")
    n_hits = 0
    for p in b.prefixes:
        free, cut = sample(b, req(b, p)), sample(b, req(b, p, stop=STOPS))
        for f, c in zip(free, cut):
            hit = find_stop(f.text, STOPS)
            if hit is None:
                assert (c.text, c.finish_reason) == (f.text, f.finish_reason)
                continue
            n_hits += 1
            assert c.text == f.text[: hit[0]] and c.finish_reason == "stop"
            assert c.meta.get("stop", hit[1]) == hit[1]
        # an empty stop string stops nothing
        assert texts(b, req(b, p, stop=("",))) == [f.text for f in free]
    assert n_hits > 0  # the check above was not vacuous


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ("not a request", TypeError, r"requests\[1\] must be an itslab Request, got str"),
        (dict(seed=-1), ValueError, r"requests\[1\]\.seed must be >= 0, got -1"),
        (dict(top_k=-1), ValueError, r"requests\[1\]\.top_k must be None or >= 0, got -1"),
    ],
)
def test_bad_requests_raise_the_shared_one_line_error(backend, bad, error, match):
    b = backend
    if not b.validates:
        pytest.skip("a bank's replay checks no requests (itslab/banks.py is not part of this contract yet)")
    p = b.prefixes[0]
    wrong = bad if isinstance(bad, str) else req(b, p, n=1, **bad)
    with pytest.raises(error, match=match) as e:
        b.gen.generate([req(b, p, n=1), wrong])
    assert "\n" not in str(e.value)


def test_token_counts_and_finish_reasons_keep_to_the_rules(backend):
    b = backend
    for p in b.prefixes:
        for stop in STOP_VARIANTS if b.limits else ((),):
            r = req(b, p, stop=stop)
            for c in sample(b, r):
                assert 0 <= c.n_tokens <= r.max_tokens and 0 <= c.n_cached_tokens <= c.n_prompt_tokens
                assert c.finish_reason in ("stop", "length")
                assert c.finish_reason == "stop" or c.n_tokens == r.max_tokens
                assert c.token_ids is None or len(c.token_ids) == c.n_tokens


@pytest.mark.parametrize(
    "field, value", [("n", -1), ("max_tokens", -1), ("temperature", -0.1), ("top_p", 0.0), ("top_p", 1.5)]
)
def test_requests_check_their_own_fields(field, value):
    with pytest.raises(ValueError, match=f"Request.{field} must be"):
        Request("x", **{field: value})
