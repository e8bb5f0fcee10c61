"""The llama.cpp in-process backend: sampler, slot cache, and the real engine on the embedded
SmolLM2-135M GGUF (accounting, logprobs, prefix reuse); what every backend must do (seeds, stop
strings, bad requests) is checked in tests/generators/test_generator_contract.py."""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest

from itslab.generators.llamacpp.kv import SeqSlots, common_prefix
from itslab.generators.llamacpp.sampling import RowSampling, sample_rows
from itslab.types import Problem, Request

# ---------------------------------------------------------------- sampler and slots (no model)


def test_inverse_cdf_sampler_matches_softmax():
    # 20k rows from one logit vector: frequencies within 4 binomial sd of softmax(z / T)
    z = np.array([2.0, 1.0, 0.0, -1.0, -3.0], dtype=np.float32)
    n = 20_000
    u = np.random.default_rng(0).random(n)
    tok, lp = sample_rows(np.tile(z, (n, 1)), [RowSampling(0.7, 1.0, 0)] * n, u)
    want = np.exp(z / 0.7) / np.exp(z / 0.7).sum()
    got = np.bincount(tok, minlength=5) / n
    assert np.all(np.abs(got - want) <= 4 * np.sqrt(want * (1 - want) / n))
    # reported logprobs are the raw (T = 1) log-softmax of the chosen token
    raw = z - np.log(np.exp(z).sum())
    assert np.allclose(lp, raw[tok], atol=1e-6)


def test_top_k_top_p_and_greedy_restrict_support():
    z = np.array([3.0, 2.9, 1.0, 0.5, 0.0] + [-5.0] * 300, dtype=np.float32)
    n = 2000
    u = np.random.default_rng(1).random(n)
    tok, _ = sample_rows(np.tile(z, (n, 1)), [RowSampling(1.0, 1.0, 2)] * n, u)
    assert set(tok.tolist()) == {0, 1}
    # token 0 holds ~0.44 of the mass, tokens 0-1 ~0.84: top-p 0.5 keeps exactly those two
    tok, _ = sample_rows(np.tile(z, (n, 1)), [RowSampling(1.0, 0.5, 0)] * n, u)
    assert set(tok.tolist()) == {0, 1}
    tok, _ = sample_rows(np.tile(z, (n, 1)), [RowSampling(1.0, 0.999, 0)] * n, u)
    assert 4 in set(tok.tolist()) and max(tok) < 305  # the nucleus grows past the first 64 tokens
    tok, _ = sample_rows(np.tile(z, (4, 1)), [RowSampling(0.0, 1.0, 0)] * 4, u[:4])
    assert set(tok.tolist()) == {0}


class _FakeLib:
    """Records the llama_memory calls SeqSlots makes."""

    def __init__(self):
        self.calls = []

    def llama_memory_seq_cp(self, mem, src, dst, p0, p1):
        self.calls.append(("cp", src, dst, p0, p1))

    def llama_memory_seq_rm(self, mem, seq, p0, p1):
        self.calls.append(("rm", seq))


def test_seq_slots_match_dedupe_and_lru_eviction():
    lib = _FakeLib()
    s = SeqSlots(lib, None, n_slots=3)
    a, b = s.acquire(), s.acquire()
    s.keep(a, [1, 2, 3])
    s.keep(b, [1, 2, 3, 4, 5])  # a is a prefix of b: a is dropped at once
    assert set(s.entries) == {b} and ("rm", a) in lib.calls
    assert s.match(np.array([1, 2, 3, 9], np.int32), limit=10) == (b, 3)
    assert s.match(np.array([1, 2, 3, 4, 5], np.int32), limit=4) == (b, 4)
    c = s.acquire()
    s.keep(c, [1, 2])  # a prefix of an existing entry: not kept
    assert set(s.entries) == {b} and c in s.free
    x, y = s.acquire(), s.acquire()
    s.keep(x, [7, 8])
    s.keep(y, [9])
    s.match(np.array([7, 8], np.int32), limit=5)  # x is now more recent than b and y
    z = s.acquire()  # no slot free: the least recently used entry goes
    assert z == b and set(s.entries) == {x, y} and s.evictions == 1
    assert common_prefix(np.array([1, 2]), np.array([1, 2, 3])) == 2 and common_prefix(np.array([]), np.array([1])) == 0


def test_seq_slots_raise_when_every_slot_is_busy():
    s = SeqSlots(_FakeLib(), None, n_slots=1)
    s.acquire()
    with pytest.raises(RuntimeError, match="slots are busy"):
        s.acquire()


def test_seq_slots_cache_token_budget_evicts_least_recently_used():
    lib = _FakeLib()
    s = SeqSlots(lib, None, n_slots=6, cache_tokens=10)
    a, b, c = s.acquire(), s.acquire(), s.acquire()
    s.keep(a, [1, 2, 3, 4])
    s.keep(b, [5, 6, 7, 8])
    assert s.n_cached_tokens == 8 and s.evictions == 0
    s.match(np.array([1, 2, 9], np.int32), limit=5)  # a is now more recent than b
    s.keep(c, [9, 9, 9, 9])  # 12 > 10 tokens: the least recently used entry (b) goes
    assert set(s.entries) == {a, c} and s.n_cached_tokens == 8 and s.evictions == 1 and ("rm", b) in lib.calls
    # room for a batch: entries shrink to what is asked, oldest first; the held count follows every drop
    assert s.make_room(4) == 1 and set(s.entries) == {c} and s.n_cached_tokens == 4
    assert s.make_room(100) == 0 and s.make_room(0) == 1 and s.n_cached_tokens == 0 and not s.entries
    d = s.acquire()
    s.keep(d, list(range(11)))  # longer than the whole budget: not kept
    assert not s.entries and s.n_cached_tokens == 0 and d in s.free
    with pytest.raises(ValueError, match="cache_tokens"):
        SeqSlots(lib, None, n_slots=2, cache_tokens=-1)


def test_seq_slots_with_decode_rows_keep_rows_apart_and_copy_whole_streams():
    """Per-sequence streams: ids below `rows` are decode rows (lowest first), the cache lives above
    them, a copy is a whole-stream copy cut back to the prefix, and `move` packs a row lower."""
    lib = _FakeLib()
    s = SeqSlots(lib, None, n_slots=6, rows=2)
    assert [s.acquire_row(), s.acquire_row()] == [0, 1] and s.acquire() == 2
    with pytest.raises(RuntimeError, match="decode rows are busy"):
        s.acquire_row()
    s.copy(2, 0, 5)
    assert lib.calls[-2:] == [("cp", 2, 0, -1, -1), ("rm", 0)]  # whole stream, then cut back to 5 tokens
    s.release(0)
    assert s.free_rows == {0} and 0 not in s.free
    s.move(1, 0)
    assert lib.calls[-2:] == [("cp", 1, 0, -1, -1), ("rm", 1)] and s.free_rows == {1} and 0 in s.busy
    s.keep(2, [1, 2, 3])
    assert s.acquire() == 3 and set(s.entries) == {2}  # the cache never hands out a row id
    unified = SeqSlots(_FakeLib(), None, n_slots=3)
    assert unified.acquire_row() == 0 and unified.acquire() == 1  # one pool when rows == 0
    unified.copy(0, 1, 4)
    assert unified.lib.calls == [("cp", 0, 1, 0, 4)]
    with pytest.raises(ValueError, match="rows"):
        SeqSlots(lib, None, n_slots=2, rows=2)


def test_seq_slots_band_hands_out_consecutive_ids_between_rows_and_cache():
    """The band (ids rows .. rows+band-1) is handed out lowest first, never as a row or a cache id,
    and a row moved into it frees its row id; a full band says so (None) rather than raising."""
    lib = _FakeLib()
    s = SeqSlots(lib, None, n_slots=7, rows=2, band=2)
    assert s.acquire_row() == 0 and s.acquire() == 4  # the cache starts above the band
    a = s.acquire_band()
    s.move(0, a)
    assert a == 2 and s.free_rows == {0, 1} and 2 in s.busy and lib.calls[-2:] == [("cp", 0, 2, -1, -1), ("rm", 0)]
    assert s.acquire_band() == 3 and s.acquire_band() is None
    s.release(2)
    s.release(3)
    assert s.free_band == {2, 3} and 2 not in s.free and s.acquire_band() == 2
    for bad in ({"rows": 0, "band": 1}, {"rows": 2, "band": 5}):
        with pytest.raises(ValueError, match="band"):
            SeqSlots(lib, None, n_slots=7, **bad)


def test_default_threads_counts_physical_cores_and_reads_the_override(monkeypatch, tmp_path):
    from itslab.generators.llamacpp import model

    # four logical CPUs on two cores (2-way SMT): two threads; without SMT: one per CPU
    for cpu, siblings in {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"}.items():
        (tmp_path / f"cpu{cpu}" / "topology").mkdir(parents=True)
        (tmp_path / f"cpu{cpu}" / "topology" / "thread_siblings_list").write_text(siblings + "\n")
    monkeypatch.setattr(model, "CPU_SYSFS", tmp_path)
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.delenv("ITSLAB_LLAMA_THREADS", raising=False)
    assert model.default_threads() == 2
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert model.default_threads() == 2
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {0, 2}, raising=False)
    assert model.default_threads() == 1
    monkeypatch.setattr(model, "CPU_SYSFS", tmp_path / "absent")  # no topology: half the logical CPUs
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    assert model.default_threads() == 3
    monkeypatch.setenv("ITSLAB_LLAMA_THREADS", "5")
    assert model.default_threads() == 5
    for bad in ("0", "two"):
        monkeypatch.setenv("ITSLAB_LLAMA_THREADS", bad)
        with pytest.raises(ValueError, match="ITSLAB_LLAMA_THREADS"):
            model.default_threads()


# ---------------------------------------------------------------- the real engine (SmolLM2-135M GGUF)


@pytest.fixture(scope="module")
def gen():
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    g = LlamaCppGenerator("smollm2-135m", n_ctx=4096, max_batch=16)
    yield g
    g.close()


@pytest.fixture(scope="module")
def prompt(gen):
    return gen.chat_prompt([{"role": "user", "content": "What is 12 + 7? Think step by step."}])


def test_chat_prompt_and_token_counts(gen, prompt):
    assert prompt.startswith("<|im_start|>") and prompt.endswith("<|im_start|>assistant\n")
    ids = gen.encode(prompt)
    assert gen.count_tokens(prompt) == len(ids) and ids[0] == gen.encode("<|im_start|>")[0]
    assert gen.model_id == "smollm2-135m" and 1e8 < gen.n_params < 2e8
    assert gen.encode("") and gen.detokenize(gen.encode_plain(" hello world")) == " hello world"


def test_batched_samples_accounting_logprobs_and_seeds(gen, prompt):
    gen.clear_cache()
    req = Request(prompt, n=4, max_tokens=12, temperature=0.8, seed=11, logprobs=True)
    outs = gen.generate([req])[0]
    n_prompt = gen.count_tokens(prompt)
    # the prompt was read once for all four samples
    assert [c.n_cached_tokens for c in outs] == [0, n_prompt, n_prompt, n_prompt]
    for c in outs:
        assert 1 <= c.n_tokens <= 12 and c.n_tokens == len(c.token_ids) == len(c.logprobs)
        assert c.n_prompt_tokens == n_prompt and c.seed == 11
        assert c.finish_reason == ("length" if c.n_tokens == 12 else "stop")
        assert all(lp <= 1e-6 for lp in c.logprobs)
        # the sampled tokens' logprobs equal an independent scoring of the whole sequence
        # (tolerance 0.05 nats: llama.cpp's kernels differ slightly between batch shapes)
        assert abs(c.logprob - gen.logprob_of(prompt, c.token_ids)) < 0.05
    assert len({c.token_ids for c in outs}) > 1
    # same seed, same samples; the first 2 of n=2 are the first 2 of n=4; the prompt is now cached
    again = gen.generate([dataclasses.replace(req, n=2)])[0]
    assert [c.token_ids for c in again] == [c.token_ids for c in outs[:2]]
    assert again[0].n_cached_tokens == n_prompt - 1


def test_engine_stats_count_sampled_and_prompt_tokens(gen, prompt):
    """`stats()`: every sampled token once, every prompt token read or served, time in steps and prefills."""
    gen.clear_cache()
    before = gen.stats()
    reqs = [Request(prompt, n=3, max_tokens=8, seed=2), Request(prompt + "Let", n=2, max_tokens=5, seed=3)]
    outs = gen.generate(reqs)
    d = gen.stats() - before
    assert d.sampled_tokens == sum(c.n_tokens for o in outs for c in o)
    assert d.prompt_tokens_read + d.prompt_tokens_served == sum(gen.count_tokens(r.prefix) for r in reqs)
    assert d.prompt_tokens_read >= gen.count_tokens(prompt) and d.follow_up_tokens == 0
    assert 1 <= d.steps <= 8 and 1.0 <= d.mean_rows <= 5.0 and d.step_s > 0 and d.prefill_s > 0
    again = gen.stats()
    gen.generate([Request(prompt, n=1, max_tokens=2, seed=4)])
    d2 = gen.stats() - again
    assert (d2.prompt_tokens_read, d2.prompt_tokens_served) == (1, gen.count_tokens(prompt) - 1)


def test_stop_strings_are_kept_and_the_next_step_reuses_the_prefix(gen):
    gen.clear_cache()
    prefix = "Count: 1, 2, 3,"
    step = gen.generate([Request(prefix, n=3, max_tokens=24, temperature=0.0, stop=(",",), seed=0)])[0]
    for c in step:
        assert c.finish_reason == "stop" and c.text.endswith(",") and c.meta["stop"] == ","
        assert c.text.count(",") == 1
    # the next step's prefix extends this one: only the new tokens are read
    nxt = prefix + step[0].text
    out = gen.generate([Request(nxt, n=1, max_tokens=4, temperature=0.0, seed=0)])[0][0]
    n_old = gen.count_tokens(prefix)
    assert out.n_cached_tokens >= n_old and out.n_cached_tokens == out.n_prompt_tokens - 1


def test_a_follow_up_judge_reads_only_the_question_turn(gen, prompt):
    """SelfEvaluation(follow_up=True) on a cached sample: the sample's tokens come from the cache."""
    from itslab.verifiers import SelfEvaluation

    gen.clear_cache()
    problem = Problem(id="t/judge", prompt="What is 12 + 7? Think step by step.", answer="19")
    assert gen.format_prompt(problem) == prompt
    [sample] = gen.generate([Request(prompt, n=1, max_tokens=24, temperature=0.8, seed=3)])[0]
    judge = SelfEvaluation(gen, follow_up=True)
    served = gen.slots.served
    ((p_yes,),) = judge.score(problem, [sample.text])
    assert 0.0 < p_yes < 1.0
    n_judge = gen.count_tokens(judge.prefix(problem, sample.text))
    # the first call found the prompt and (all but the last of) the sample's tokens cached; the second the judge prompt
    first = gen.slots.served - served - (n_judge - 1)
    assert first >= gen.count_tokens(prompt) + sample.n_tokens - 2
    assert n_judge - first <= 24  # the question turn (and a token or two at the seam) was read


def test_an_in_batch_judge_reads_each_sample_once(gen, prompt, monkeypatch):
    """SelfEvaluation(in_batch=True): the follow-up turn is read while each row is in the batch,
    runs repeat exactly, and `score` reads nothing again."""
    from itslab.verifiers import SelfEvaluation

    problem = Problem(id="t/judge", prompt="What is 12 + 7? Think step by step.", answer="19")
    req = Request(prompt, n=6, max_tokens=24, temperature=0.8, seed=5)
    runs = []
    for _ in range(2):
        gen.clear_cache()
        judge = SelfEvaluation(gen, follow_up=True, in_batch=True)
        before = gen.stats()
        try:
            out = gen.generate([req])[0]
        finally:
            gen.attach_follow_up(None)
        assert judge.kept == req.n
        # the follow-up turns were read in the decode steps: at least a token each, at most its reserve
        assert req.n <= (gen.stats() - before).follow_up_tokens <= req.n * judge.reserve
        with monkeypatch.context() as m:
            m.setattr(gen, "logprob_of", lambda *a: pytest.fail("an in-batch score was read again"))
            runs.append(([c.text for c in out], judge.score(problem, [c.text for c in out])))
    assert runs[0] == runs[1]


def test_an_in_batch_judge_reads_what_a_separate_read_would(gen, prompt):
    """One row: the follow-up is read alone in its decode step, as `next_token_logprobs` reads it
    from the cached sample, so the two log-softmax vectors are the same bit for bit. (With other rows
    in the batch they agree only up to llama.cpp's CPU kernels, whose rounding depends on the batch's
    size; for the same reason samples drawn beside an in-batch judge are not bitwise those of a run
    without it.)"""
    req = Request(prompt, n=1, max_tokens=24, temperature=0.8, seed=7)
    gen.clear_cache()
    judge, seen = _judge_keeping_what_it_takes(gen)
    try:
        [with_judge] = gen.generate([req])[0]
    finally:
        gen.attach_follow_up(None)
    gen.clear_cache()
    [alone] = gen.generate([req])[0]
    assert alone.text == with_judge.text
    [(judged, lp)] = seen.items()
    assert judged == judge.follow_up_prompt(prompt, alone.text)
    assert np.array_equal(gen.next_token_logprobs(judged), lp)


def test_a_request_past_the_kv_cache_is_refused(gen):
    with pytest.raises(ValueError, match="n_ctx"):
        gen.generate([Request("abc", max_tokens=10_000)])


def test_a_batch_gets_room_before_it_decodes_and_the_cache_stays_in_budget():
    """A full cache is trimmed before a batch decodes (the old engine let llama_decode fail, then
    evicted one entry per retry), and cached sequences never hold more than `cache_tokens`."""
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    g = LlamaCppGenerator("smollm2-135m", n_ctx=512, max_batch=4, cache_tokens=512)
    full = []
    decode = g.llm.decode

    def spy(n, on_full):  # records every decode that found the KV cache full
        return decode(n, lambda: full.append(n) or on_full())

    g.llm.decode = spy
    for k in range(8):  # eight cached prompt + sample sequences of ~40 tokens fill most of the cache
        g.generate([Request(f"Item {k}: the colour of the sky is", n=1, max_tokens=32, seed=k)], ignore_eos=True)
    assert g.slots.n_cached_tokens > 512 - 4 * 64
    out = g.generate([Request("A list of fruits:", n=4, max_tokens=64, seed=0)], ignore_eos=True)[0]
    assert [c.n_tokens for c in out] == [64] * 4 and full == [] and g.slots.evictions > 0
    g.close()
    with pytest.raises(ValueError, match="cache_tokens"):
        LlamaCppGenerator("smollm2-135m", n_ctx=256, cache_tokens=1000)
    small = LlamaCppGenerator("smollm2-135m", n_ctx=1024, max_batch=2, cache_tokens=40)
    for k in range(4):
        small.generate([Request(f"Item {k}: the sky is", n=2, max_tokens=8, seed=k)])
        assert small.slots.n_cached_tokens <= 40
    assert LlamaCppGenerator("smollm2-135m", n_ctx=1024, max_batch=1).slots.cache_tokens == 512
    small.close()


@pytest.mark.slow
def test_small_kv_cache_evicts_and_still_answers():
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    g = LlamaCppGenerator("smollm2-135m", n_ctx=256, max_batch=4)
    reqs = [Request(f"Item {k}: the colour of the sky is", n=4, max_tokens=16, seed=k) for k in range(6)]
    outs = g.generate(reqs)
    assert all(len(o) == 4 and all(c.n_tokens >= 1 for c in o) for o in outs)
    assert g.slots.evictions > 0
    # greedy steps read through an evicting cache equal those of a fresh generator
    greedy = [Request(f"Item {k}: the colour of the sky is", n=1, max_tokens=12, temperature=0.0) for k in range(6)]
    got = g.generate(greedy)
    fresh = LlamaCppGenerator("smollm2-135m", n_ctx=1024, max_batch=1).generate(greedy)
    assert [o[0].token_ids for o in got] == [o[0].token_ids for o in fresh]
    g.close()


def test_prefix_reuse_with_two_slots_matches_fresh_reads(gen):
    """Step-wise extension on the tightest slot budget (max_batch=1: two sequence slots), where
    every acquisition evicts: cached reads give the same greedy steps as reading from scratch."""
    from itslab.generators.llamacpp import LlamaCppGenerator

    tight = LlamaCppGenerator("smollm2-135m", n_ctx=1024, max_batch=1, n_seq_max=2)
    prefix, cached = "The planets of the solar system are", []
    for _ in range(4):
        req = Request(prefix, n=1, max_tokens=6, temperature=0.0, stop=(",",))
        got = tight.generate([req])[0][0]
        gen.clear_cache()
        fresh = gen.generate([req])[0][0]
        assert got.token_ids == fresh.token_ids and fresh.n_cached_tokens == 0
        cached.append(got.n_cached_tokens)
        prefix += got.text
    assert cached[0] == 0 and all(c > 0 for c in cached[1:])
    tight.close()


@pytest.mark.parametrize("engine", ["gen", "streams_gen"])
def test_calls_from_threads_share_the_batch_and_each_returns_when_its_rows_are_done(engine, prompt, request):
    """Continuous batching: a call made while another decodes joins its batch at the next step and
    returns as soon as its own rows end; the long call runs on, driven by its own thread (with a
    unified cache and with a KV stream per sequence, where rows are packed as they come and go)."""
    import threading
    import time

    gen = request.getfixturevalue(engine)
    gen.clear_cache()
    sizes, decode = [], gen.llm.decode

    def spy(n, on_full):  # the tokens of every decode step
        sizes.append(n)
        return decode(n, on_full)

    gen.llm.decode = spy
    done, outs = {}, {}

    def call(name, req, **kw):
        outs[name] = gen.generate([req], **kw)[0]
        done[name] = time.perf_counter()

    long = threading.Thread(
        target=call, args=("long", Request(prompt, n=2, max_tokens=160, seed=1)), kwargs={"ignore_eos": True}
    )
    try:
        long.start()
        while not gen._live:  # the long call is decoding
            time.sleep(0.001)
        call("short", Request("Count: 1, 2, 3,", n=3, max_tokens=6, temperature=0.0, seed=0))
        long.join(60)
    finally:
        gen.llm.decode = decode
    assert not long.is_alive() and done["short"] < done["long"]
    assert [c.n_tokens for c in outs["long"]] == [160, 160] and all(1 <= c.n_tokens <= 6 for c in outs["short"])
    assert 5 in sizes  # a step decoded the long call's 2 rows and the short call's 3 together
    assert not gen._live and not gen._calls and not gen._judging  # nothing left behind


def test_scoring_and_a_bad_call_from_other_threads_do_not_disturb_a_running_batch(gen, prompt):
    """`next_token_logprobs` runs between two decode steps of another thread's batch and reads what
    it reads on an idle engine (up to kernel rounding); a call refused for its size fails alone."""
    import threading
    import time

    gen.clear_cache()
    idle = gen.next_token_logprobs(prompt + "The answer is")
    outs = {}
    long = threading.Thread(
        target=lambda: outs.setdefault(
            "long", gen.generate([Request(prompt, n=4, max_tokens=96, seed=2)], ignore_eos=True)[0]
        )
    )
    long.start()
    while not gen._live:
        time.sleep(0.001)
    busy = gen.next_token_logprobs(prompt + "The answer is")
    with pytest.raises(ValueError, match=r"requests\[0\].*n_ctx"):
        gen.generate([Request("abc", max_tokens=10_000)])
    long.join(60)
    assert np.allclose(busy, idle, atol=1e-3) and int(np.argmax(busy)) == int(np.argmax(idle))
    assert [c.n_tokens for c in outs["long"]] == [96] * 4


def _judge_keeping_what_it_takes(gen):
    """An in-batch follow-up `SelfEvaluation` on `gen` and the log-softmax vector it took per judge prompt."""
    from itslab.verifiers import SelfEvaluation

    judge = SelfEvaluation(gen, follow_up=True, in_batch=True)
    seen = {}
    take = judge.take
    judge.take = lambda p, lp: (seen.setdefault(p, np.array(lp)), take(p, lp))  # type: ignore[method-assign]
    return judge, seen


@contextlib.contextmanager
def _sequence_ids_per_decode(gen):
    """The sequence ids of the entries of every ``llama_decode`` the engine makes meanwhile (a list per call)."""
    calls, put, decode = [[]], gen.llm.put, gen.llm.decode

    def spy_put(k, tok, pos, seq, want_logits):
        calls[-1].append(seq)
        return put(k, tok, pos, seq, want_logits)

    def spy_decode(n, on_full):
        calls.append([])
        return decode(n, on_full)

    gen.llm.put, gen.llm.decode = spy_put, spy_decode
    try:
        yield calls
    finally:
        gen.llm.put, gen.llm.decode = put, decode


@pytest.fixture(scope="module")
def streams_gen():
    pytest.importorskip("llama_cpp")
    from itslab.generators.llamacpp import LlamaCppGenerator

    g = LlamaCppGenerator("smollm2-135m", n_ctx=512, max_batch=8, n_seq_max=24, kv_streams=True)
    yield g
    g.close()


def test_kv_streams_draw_the_unified_cache_s_samples_and_decode_packed_rows(gen, streams_gen, prompt):
    """Per-sequence KV streams change where attention looks, not the model: greedy rows give the
    unified cache's texts, every sampled text has the same token logprobs under both (up to kernel
    rounding, which also lets a sampled row drift at a near tie, so sampled texts are not compared),
    every step decodes its rows as consecutive sequence ids from 0 (one ubatch) while rows end at
    different steps, and a second call is served from the cached prompt."""
    reqs = [
        Request(prompt, n=3, max_tokens=40, temperature=0.8, seed=3),
        Request("Count: 1, 2, 3,", n=2, max_tokens=12, temperature=0.0, seed=0),
        Request("The capital of France is", n=3, max_tokens=24, temperature=0.8, seed=5),
    ]
    gen.clear_cache()
    want = [[c.text for c in r] for r in gen.generate(reqs)]
    streams_gen.clear_cache()
    with _sequence_ids_per_decode(streams_gen) as steps:
        got = streams_gen.generate(reqs)
    assert [c.text for c in got[1]] == want[1]  # greedy
    for r, out in zip(reqs, got):
        for c in out:
            a, b = gen.token_logprobs(r.prefix, c.token_ids), streams_gen.token_logprobs(r.prefix, c.token_ids)
            assert np.allclose(a, b, atol=0.02) and np.allclose(c.logprobs, b, atol=0.02)
    row_steps = [s for s in steps if len(s) > 1 and len(set(s)) == len(s)]  # decode steps (prefills: one seq)
    assert row_steps and all(s == list(range(len(s))) for s in row_steps)
    assert any(len(s) == 8 for s in row_steps) and any(len(s) < 8 for s in row_steps)  # full, then thinning
    again = streams_gen.generate(reqs[:1])[0]
    assert all(c.n_cached_tokens >= c.n_prompt_tokens - 1 for c in again)  # the prompt came from the cache
    assert streams_gen.slots.free_rows == set(range(8)) and not streams_gen._live


def test_kv_streams_refuse_a_request_longer_than_one_stream(streams_gen):
    with pytest.raises(ValueError, match="exceeds the KV cache"):
        streams_gen.generate([Request("Hi", n=1, max_tokens=600)])


def test_kv_streams_read_waiting_follow_ups_together_in_the_band(gen, streams_gen, prompt, monkeypatch):
    """Streams with an in-batch judge: a finished row leaves its decode row for the band (ids 8..15)
    and the band's follow-ups are read together, their sequence ids consecutive, in fewer decodes
    than samples; every sample is judged, what is kept is what a separate read of the judge prompt
    gives (up to the kernels' rounding at another batch shape), and `score` reads nothing again.
    Without room for a band (n_seq_max 16) the judges are left to `score`."""
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.verifiers import SelfEvaluation

    problem = Problem(id="t/judge", prompt="What is 12 + 7? Think step by step.", answer="19")
    reqs = [Request(prompt, n=6, max_tokens=40, temperature=0.8, seed=5), Request(prompt, n=5, max_tokens=16, seed=6)]
    streams_gen.clear_cache()
    judge, seen = _judge_keeping_what_it_takes(streams_gen)
    try:
        with _sequence_ids_per_decode(streams_gen) as reads:
            out = streams_gen.generate(reqs)
    finally:
        streams_gen.attach_follow_up(None)
    assert judge.kept == 11 and len(seen) == 11
    band_reads = [sorted(set(r)) for r in reads if r and 8 <= min(r) and max(r) < 16]  # (prompts: ids >= 16)
    assert band_reads and all(ids == list(range(8, 8 + len(ids))) for ids in band_reads)
    assert len(band_reads) < 11 and max(len(ids) for ids in band_reads) > 1  # read together
    assert not streams_gen._judging and streams_gen.slots.free_band == set(range(8, 16))
    for prompt_text, lp in seen.items():
        alone = streams_gen.next_token_logprobs(prompt_text)
        assert np.allclose(alone, lp, atol=0.02) and int(np.argmax(alone)) == int(np.argmax(lp))
    with monkeypatch.context() as m:
        m.setattr(streams_gen, "logprob_of", lambda *a: pytest.fail("an in-batch score was read again"))
        judge.score(problem, [c.text for c in out[0]])
    narrow = LlamaCppGenerator("smollm2-135m", n_ctx=512, max_batch=8, n_seq_max=16, kv_streams=True)
    try:
        assert narrow.slots.band == 0
        late = SelfEvaluation(narrow, follow_up=True, in_batch=True)
        narrow.generate(reqs[:1])
        assert late.kept == 0 and len(late.score(problem, ["19"])) == 1
    finally:
        narrow.close()
