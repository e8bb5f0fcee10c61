"""Known-answer tests for probe-based early exit (Dynasor-CoT, arXiv:2412.20993) and its probe hook.

Hand-built cases: Certaindex's agreement rule on answer lists written out by hand (the reference
code's check has been reported to pass lists that disagree; ours must not); Dynasor's probe parse;
a scripted generator whose probe replies are fixed per position, where the exit point of every
window is derived by hand; with an interval at least `max_tokens` the strategy draws exactly
`majority_vote`'s samples; with a window longer than the number of probes it never exits. On the
transformers engine (embedded SmolLM2-135M, slow) every probe is charged to the budget and a window
longer than the probes never exits.
"""

from __future__ import annotations

import pytest

from itslab import Budget, strategies
from itslab.generators.simulated import make_suite
from itslab.protocols import GeneratorWrapper
from itslab.rng import problem_rng
from itslab.strategies.probes import DYNASOR_PROBE, is_hesitant, probe_answer, probes_agree
from itslab.types import Completion, Problem, Request

PROBE = DYNASOR_PROBE
EE = "probe_early_exit"


# --- the agreement rule and the probe parse ------------------------------------------------------
@pytest.mark.parametrize(
    "answers, hesitant, window, agree",
    [
        (["42", "42", "42"], [False] * 3, 3, True),
        (["42", "41", "42"], [False] * 3, 3, False),  # one disagreeing probe in the window
        (["7", "42", "42"], [False] * 3, 2, True),  # only the last `window` count
        (["42", "42"], [False] * 2, 3, False),  # fewer probes than the window
        (["42", None, "42"], [False] * 3, 3, False),  # a probe that stated nothing
        (["", "", ""], [False] * 3, 3, False),  # empty answers never agree (Dynasor: count_not_empty)
        (["42", "42", "42"], [False, True, False], 3, False),  # a hesitant probe
        (["42", "42.0", "84/2"], [False] * 3, 3, True),  # one answer, three spellings
        (["1/2", "0.5", "\\frac{1}{2}"], [False] * 3, 3, True),
        (["a", "b", "c"], [False] * 3, 1, True),  # window 1: any stated answer
    ],
)
def test_probes_agree_hand_built(answers, hesitant, window, agree):
    assert probes_agree(answers, hesitant, window) is agree


def test_probes_agree_checks_its_input():
    with pytest.raises(ValueError, match="window must be >= 1"):
        probes_agree(["1"], [False], 0)
    with pytest.raises(ValueError, match="2 answers but 1 hesitation"):
        probes_agree(["1", "1"], [False], 1)


@pytest.mark.parametrize(
    "reply, answer",
    [
        ("18} \\]", "18"),
        ("\\frac{1}{2}} \\]\n\nso", "\\frac{1}{2}"),  # nested braces: the first unmatched one closes
        ("18", None),  # never closed: no answer (the model was cut)
        ("} then", None),  # an empty box
        ("  x + 1 }", "x + 1"),
    ],
)
def test_probe_answer_dynasor_rule(reply, answer):
    assert probe_answer(reply, PROBE) == answer


def test_probe_answer_without_a_box_uses_the_extraction_rule():
    assert probe_answer("42\n\nbecause", "\n#### ") == "42"
    assert probe_answer("no idea", "\n#### ") is None


def test_hesitation_is_matched_on_whole_words():
    assert is_hesitant("18} Wait, let me check")
    assert is_hesitant("Hmm} 18")
    assert not is_hesitant("18} I know the note")  # Dynasor's substring test would flag "no" here
    assert not is_hesitant("Wait", words=())


# --- a scripted generator: every exit point by hand ------------------------------------------------
class Scripted:
    """Traces of one-word tokens (`length` of them, then " #### 5"); probe replies fixed by position."""

    model_id, n_params = "scripted", 0.0

    def __init__(self, prompt: str, length: int, replies: dict[int, str]) -> None:
        self.prompt, self.length, self.replies = prompt, length, replies
        self.requests: list[Request] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, requests):
        out = []
        for r in requests:
            self.requests.append(r)
            body = r.prefix[len(self.prompt) :]
            if body.endswith(PROBE):
                pos = len(body[: -len(PROBE)].split())
                reply = self.replies.get(pos, "nothing")
                n = min(len(reply.split()), r.max_tokens)
                out.append([Completion(reply, n_tokens=n, n_prompt_tokens=self.count_tokens(r.prefix), seed=r.seed)])
                continue
            have = len(body.split())
            k = min(r.max_tokens, self.length - have)
            done = have + k == self.length
            text = " w" * k + (" #### 5" if done else "")
            c = Completion(
                text,
                n_tokens=k + 2 * done,
                n_prompt_tokens=self.count_tokens(r.prefix),
                seed=r.seed,
                finish_reason="stop" if done else "length",
            )
            out.append([c])
        return out


REPLIES = {10: "nothing here", 20: "8} sure", 30: "8} wait", 40: "8}", 50: "8}"}


@pytest.mark.parametrize(
    "window, exit_at, answer, n_probes",
    [
        (1, 20, "8", 2),  # the first probe that states an answer (the one at 10 states none)
        (2, 50, "8", 5),  # 20 and 30 agree, but 30 hesitates; 40 and 50 agree
        (3, None, "5", 5),  # never three clean agreeing probes: the trace finishes and answers itself
        (100, None, "5", 5),  # a window longer than the probes: never exits
    ],
)
def test_exit_points_by_hand(window, exit_at, answer, n_probes):
    p = Problem(id="s", prompt="Q: what? ", answer="8")
    gen = Scripted(p.prompt, 60, REPLIES)
    r = strategies.get(EE)(
        p, gen, None, Budget(samples=100), problem_rng(0, "s"), probe_interval=10, window=window, max_tokens=100
    )
    info = r.trace[-1].info
    assert r.answer == answer and info["exited"] == (exit_at is not None,)
    assert info["trace_tokens"] == ((exit_at if exit_at is not None else 62),)
    assert [pos for pos, _, _ in info["probes"][0]] == [10 * (i + 1) for i in range(n_probes)]
    probes = [s for s in r.trace if s.kind == "probe"]
    chunks = [s for s in r.trace if s.kind == "chunk"]
    assert len(probes) == n_probes and r.usage.samples == len(probes) + len(chunks)
    # every probe's decoded tokens and every re-read prefix are on the ledger
    assert r.usage.generated_tokens == sum(s.usage.generated_tokens for s in chunks + probes)
    assert sum(s.usage.generated_tokens for s in probes) == sum(
        len(REPLIES.get(10 * (i + 1), "x y").split()) for i in range(n_probes)
    )
    assert r.usage.prompt_tokens == sum(gen.count_tokens(q.prefix) for q in gen.requests)


def test_probe_requests_are_greedy_and_short():
    p = Problem(id="s", prompt="Q: what? ", answer="8")
    gen = Scripted(p.prompt, 60, REPLIES)
    strategies.get(EE)(
        p,
        gen,
        None,
        Budget(samples=100),
        problem_rng(0, "s"),
        probe_interval=10,
        window=2,
        max_tokens=100,
        probe_tokens=7,
    )
    probes = [q for q in gen.requests if q.prefix.endswith(PROBE)]
    assert probes and all(q.temperature == 0.0 and q.max_tokens == 7 for q in probes)
    chunks = [q for q in gen.requests if not q.prefix.endswith(PROBE)]
    assert all(q.temperature == 0.6 and q.max_tokens == 10 for q in chunks)


def test_budget_stops_the_probes():
    p = Problem(id="s", prompt="Q: what? ", answer="8")
    r = strategies.get(EE)(
        p,
        Scripted(p.prompt, 60, REPLIES),
        None,
        Budget(samples=3),
        problem_rng(0, "s"),
        probe_interval=10,
        window=3,
        max_tokens=100,
    )
    assert r.usage.samples == 3 and r.trace[-1].info["trace_tokens"] == (20,)


# --- plain sampling and the simulators ---------------------------------------------------------------
@pytest.mark.parametrize("kind", ["outcome", "thinking"])
@pytest.mark.parametrize("n", [1, 3])
def test_interval_past_max_tokens_is_plain_sampling(kind, n):
    problems, gen = make_suite(4, seed=2, kind=kind, **({"mean_think_tokens": 100.0} if kind == "thinking" else {}))
    for p in problems:
        kw = dict(n=n, max_tokens=120, temperature=0.8, top_p=1.0)
        mv = strategies.get("majority_vote")(p, gen, None, Budget(samples=n), problem_rng(5, p.id), **kw)
        ee = strategies.get(EE)(p, gen, None, Budget(samples=n), problem_rng(5, p.id), probe_interval=120, **kw)
        assert ee.answer == mv.answer and ee.candidates == mv.candidates and ee.usage == mv.usage
        assert not any(s.kind == "probe" for s in ee.trace)


def test_window_one_exits_at_the_first_probe_on_the_thinking_simulator():
    problems, gen = make_suite(6, seed=1, kind="thinking", mean_think_tokens=400.0)
    for p in problems:
        r = strategies.get(EE)(
            p, gen, None, Budget(samples=1000), problem_rng(0, p.id), probe_interval=32, window=1, max_tokens=4000
        )
        info = r.trace[-1].info
        assert info["exited"] == (True,) and info["trace_tokens"] == (32,)  # every simulated probe answers
        assert r.answer == info["probes"][0][0][1]


def test_long_window_runs_the_trace_to_its_end():
    problems, gen = make_suite(6, seed=1, kind="thinking", mean_think_tokens=400.0)
    for p in problems:
        r = strategies.get(EE)(
            p, gen, None, Budget(samples=1000), problem_rng(0, p.id), probe_interval=32, window=10**6, max_tokens=4000
        )
        text = r.candidates[0].text
        plan = gen.plan(p, text[:53])
        assert text == plan.text and r.trace[-1].info["trace_tokens"] == (plan.n_tokens,)
        assert r.answer == plan.answer and r.trace[-1].info["exited"] == (False,)


def test_bad_hyper_parameters_raise_one_line_errors():
    problems, gen = make_suite(1, seed=1, kind="thinking")
    with pytest.raises(ValueError, match="probe_early_exit: window must be an int >= 1, got 0"):
        strategies.get(EE)(problems[0], gen, None, Budget(samples=9), problem_rng(0, "x"), window=0)
    with pytest.raises(ValueError, match="probe_interval must be an int >= 1"):
        strategies.get(EE)(problems[0], gen, None, Budget(samples=9), problem_rng(0, "x"), probe_interval=2.5)


# --- the transformers engine (embedded SmolLM2-135M on CPU) ------------------------------------------
class _Logged(GeneratorWrapper):
    """Passes requests to the engine and keeps each request with the completions it got."""

    def __init__(self, generator) -> None:
        super().__init__(generator)
        self.calls: list[tuple] = []

    def generate(self, requests):
        out = self.inner.generate(requests)
        self.calls += list(zip(requests, out))
        return out


@pytest.fixture(scope="module")
def hf_engine():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from itslab import models

    return models.load("smollm2-135m", device="cpu", cache_bytes=64 << 20, num_threads=1)


@pytest.mark.slow  # ~30 s of CPU decoding
def test_probe_early_exit_on_the_hf_engine(hf_engine):
    p = Problem(id="hf", prompt="What is 12 + 7? Think step by step.", answer="19")
    kw = dict(n=2, probe_interval=8, max_tokens=40, probe_tokens=6, temperature=0.7)
    n_chunks = 40 // 8
    for window in (1, 2, n_chunks):  # n_chunks > the at most n_chunks - 1 probes of a trace
        log = _Logged(hf_engine)
        budget = Budget(samples=100, generated_tokens=1000)
        r = strategies.get(EE)(p, log, None, budget, problem_rng(0, "hf"), window=window, **kw)
        info, steps = r.trace[-1].info, [s for s in r.trace if s.kind in ("chunk", "probe")]
        probe_calls = [(q, cs) for q, cs in log.calls if q.prefix.endswith(PROBE)]
        # every probe is a request on the ledger: one sample, its decoded tokens, its re-read prefix
        assert sum(s.usage.samples for s in steps if s.kind == "probe") == len(probe_calls) > 0
        assert sum(s.usage.generated_tokens for s in steps if s.kind == "probe") == sum(
            cs[0].n_tokens for _, cs in probe_calls
        )
        assert all(q.temperature == 0.0 and q.max_tokens == 6 for q, _ in probe_calls)
        assert r.usage.samples == sum(q.n for q, _ in log.calls)
        assert r.usage.generated_tokens == sum(c.n_tokens for _, cs in log.calls for c in cs)
        read = sum(q.n * hf_engine.count_tokens(q.prefix) for q, _ in log.calls)
        assert r.usage.prompt_tokens + r.usage.cached_tokens == read and budget.allows(r.usage)
        # the exit decision is Certaindex's rule on the probes the model gave, at the first agreement
        for i, probes in enumerate(info["probes"]):
            answers, hesitant = [a for _, a, _ in probes], [h for _, _, h in probes]
            agreed = [probes_agree(answers[: j + 1], hesitant[: j + 1], window, p) for j in range(len(probes))]
            assert info["exited"][i] == any(agreed) and agreed.count(True) <= 1
            if info["exited"][i]:
                assert r.candidates[i].answer == answers[-1] and info["trace_tokens"][i] == probes[-1][0]
        if window == 1:  # seeded: one trace states 19 at its second probe and exits there
            assert any(info["exited"])
        if window == n_chunks:  # a window longer than the probes: no trace exits, each runs to its end
            assert info["exited"] == (False, False)
            assert all(len(pr) == -(-t // 8) - 1 for pr, t in zip(info["probes"], info["trace_tokens"]))
    # a budget of 3 requests: the first chunk (n = 1), one probe, one more chunk; then it stops
    small = Budget(samples=3)
    r = strategies.get(EE)(p, hf_engine, None, small, problem_rng(0, "hf"), window=n_chunks, **{**kw, "n": 1})
    assert r.usage.samples == 3 and small.allows(r.usage)
    assert [s.kind for s in r.trace if s.kind in ("chunk", "probe")] == ["chunk", "probe", "chunk"]
