"""SelfEvaluation and GenerativeVerifier with small fake generators (duck-typed)."""

import math

import numpy as np
import pytest

from itslab.types import Completion, Problem, Request
from itslab.verifiers import GenerativeVerifier, SelfEvaluation
from itslab.verifiers.judges import parse_verdict

P = Problem(id="toy/judge", prompt="What is 2 + 2?", answer="4", meta={"question": "What is 2 + 2?"})


class FakeLogprobs:
    """logprob_of: 'Yes' is likelier when the proposed solution says 4."""

    n_params = 1000.0

    def __init__(self):
        self.calls = []

    def logprob_of(self, prefix, continuation):
        self.calls.append((prefix, continuation))
        good = "Proposed solution: 4" in prefix
        p_yes = 0.8 if good else 0.3
        return math.log(p_yes if continuation == " Yes" else (1 - p_yes) / 2)

    def count_tokens(self, text):
        return len(text.split())


def test_self_evaluation_is_p_yes_renormalised():
    g = FakeLogprobs()
    v = SelfEvaluation(g)
    (a,), (b,) = v.score(P, ["4", "5"])
    assert a == pytest.approx(0.8 / (0.8 + 0.1)) and b == pytest.approx(0.3 / (0.3 + 0.35))
    assert g.calls[0][0].endswith("Is the proposed solution correct? Answer Yes or No.\nAnswer:")
    u = v.cost(P, ["4", "5"])
    n = sum(len(v.prefix(P, t).split()) + 2 for t in ["4", "5"])
    assert (u.verifier_calls, u.verifier_tokens, u.verifier_flops) == (2, n, 2 * 1000.0 * n)


def test_self_evaluation_scores_a_text_once_and_charges_every_call():
    g = FakeLogprobs()
    v = SelfEvaluation(g, cache_size=2)
    first = v.score(P, ["4", "5"])
    assert v.score(P, ["5", "4"]) == first[::-1] and len(g.calls) == 4  # the nested budget's re-score is free
    assert v.cost(P, ["4"]).verifier_calls == 1  # ... but a run is still charged as if alone
    v.score(P, ["6"])  # evicts the least recently used ("5")
    v.score(P, ["5"])
    assert len(g.calls) == 8


def test_self_evaluation_accepts_per_token_lists():
    class ListLogprobs(FakeLogprobs):
        def logprob_of(self, prefix, continuation):
            return [super().logprob_of(prefix, continuation), 0.0]

    ((a,),) = SelfEvaluation(ListLogprobs()).score(P, ["4"])
    assert a == pytest.approx(0.8 / 0.9)


def test_self_evaluation_needs_logprob_of():
    with pytest.raises(TypeError, match="logprob_of"):
        SelfEvaluation(object()).score(P, ["4"])


class FakeChat(FakeLogprobs):
    """A ChatML template (as Qwen2.5 and SmolLM2); 'Yes' likelier when the sample said 4."""

    def chat_prompt(self, messages, add_generation_prompt=True):
        body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return body + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def format_prompt(self, problem):
        return self.chat_prompt([{"role": "user", "content": problem.prompt}])

    def logprob_of(self, prefix, continuation):
        self.calls.append((prefix, continuation))
        p_yes = 0.8 if "assistant\n4<|im_end|>" in prefix else 0.3
        return math.log(p_yes if continuation == "Yes" else (1 - p_yes) / 2)


def test_self_evaluation_follow_up_extends_the_samples_own_tokens():
    g = FakeChat()
    v = SelfEvaluation(g, follow_up=True)
    (a,), (b,) = v.score(P, ["4", "5"])
    assert a == pytest.approx(0.8 / 0.9) and b == pytest.approx(0.3 / 0.65)
    # the judge prompt is the generation prompt, the sample verbatim, then the question as a user turn
    for text in ("4", " 5 \n"):
        judge = v.prefix(P, text)
        assert judge.startswith(g.format_prompt(P) + text + "<|im_end|>")
        assert judge.endswith(
            "<|im_start|>user\nIs your solution above correct? Answer Yes or No.<|im_end|>\n<|im_start|>assistant\n"
        )
    assert {c for _, c in g.calls} == {"Yes", "No"}
    # a problem's own chat messages are kept
    q = Problem(
        id="toy/msgs",
        prompt="ignored",
        answer="4",
        messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}),
    )
    assert v.prefix(q, "4").startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?")
    # the default judge is unchanged by the option's existence
    assert SelfEvaluation(g).prefix(P, "4").endswith("Answer Yes or No.\nAnswer:")


def test_self_evaluation_follow_up_needs_chat_prompt():
    with pytest.raises(TypeError, match="chat_prompt"):
        SelfEvaluation(FakeLogprobs(), follow_up=True)


class FakeEngine(FakeChat):
    """FakeChat with the llama.cpp engine's follow-up hook and one-token answers."""

    def __init__(self):
        super().__init__()
        self.hook = None

    def encode_plain(self, text):
        return {"Yes": [1], "No": [2]}.get(text, [3, 4])

    def attach_follow_up(self, hook):
        self.hook = hook


def test_self_evaluation_in_batch_keeps_what_the_engine_read():
    g = FakeEngine()
    v = SelfEvaluation(g, follow_up=True, in_batch=True)
    assert g.hook is v
    # the engine's prompt (request prefix + sample + the template's tail) is the prompt score renders
    prompt = v.follow_up_prompt(g.format_prompt(P), "4")
    assert prompt == v.prefix(P, "4")
    lp = np.log(np.array([0.1, 0.6, 0.2, 0.1]))  # P(Yes) = 0.6 / 0.8 renormalised over Yes and No
    v.take(prompt, lp)
    ((a,),) = v.score(P, ["4"])
    assert a == pytest.approx(0.75) and v.kept == 1
    assert g.calls == []  # kept in the batch: the judge read nothing again
    ((b,),) = v.score(P, ["5"])  # never read in a batch: read the usual way
    assert b == pytest.approx(0.3 / 0.65) and {c for _, c in g.calls} == {"Yes", "No"}


def test_self_evaluation_in_batch_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="follow_up=True"):
        SelfEvaluation(FakeEngine(), in_batch=True)
    with pytest.raises(TypeError, match="attach_follow_up"):
        SelfEvaluation(FakeChat(), follow_up=True, in_batch=True)
    with pytest.raises(ValueError, match="one token each"):
        SelfEvaluation(FakeEngine(), follow_up=True, in_batch=True, yes="Yes indeed")


class FakeSampler:
    """generate: each rationale votes Yes with prob 0.9 if the solution says 4, else 0.2 (seeded per request)."""

    n_params = 10.0

    def __init__(self):
        self.requests = []

    def generate(self, requests):
        out = []
        for r in requests:
            self.requests.append(r)
            rng = np.random.default_rng(r.seed)
            p = 0.9 if "Proposed solution: 4" in r.prefix else 0.2
            out.append(
                [
                    Completion(
                        text=f"checking...\nVerdict: {'Yes' if rng.random() < p else 'No'}",
                        n_tokens=7,
                        n_prompt_tokens=20,
                        n_cached_tokens=20 if j else 0,
                        seed=r.seed,
                    )
                    for j in range(r.n)
                ]
            )
        return out


def test_generative_verifier_votes_and_is_deterministic():
    g = FakeSampler()
    v = GenerativeVerifier(g, k=32, seed=1)
    (good,), (bad,) = v.score(P, ["4", "5"])
    assert good > 0.7 and bad < 0.4
    assert all(isinstance(r, Request) and r.n == 32 for r in g.requests)
    again = GenerativeVerifier(FakeSampler(), k=32, seed=1).score(P, ["5", "4"])
    assert again == [(bad,), (good,)]


def test_generative_verifier_cost_equals_spend_and_is_memoised():
    g = FakeSampler()
    v = GenerativeVerifier(g, k=4)
    u = v.cost(P, ["4", "5"])
    assert len(g.requests) == 2
    v.score(P, ["4", "5"])
    assert len(g.requests) == 2  # score reused the generations that cost ran
    per_text = 20 + 4 * 7  # one uncached prompt, then cached prompts; 4 rationales of 7 tokens
    assert (u.verifier_calls, u.verifier_tokens, u.verifier_flops) == (2, 2 * per_text, 2 * 10.0 * 2 * per_text)


@pytest.mark.parametrize(
    "text,verdict",
    [
        ("Verdict: Yes", True),
        ("verdict: no.", False),
        ("**Verdict:** Yes", True),
        ("Verdict: No\nWait. Verdict: Yes", True),
        ("I think yes", None),
    ],
)
def test_parse_verdict(text, verdict):
    assert parse_verdict(text) is verdict
