"""One grading rule everywhere: strategies (`Result.correct`, the oracle), pools, verifiers and banks
grade through `itslab.tasks.check_answer` / `answer_of`, so they agree on every task.

Before this rule, `Run.finish` and `oracle_pass_at_n` compared the answer with the gold string by
math-verify: on Countdown a bare ``\\boxed{13}`` for numbers (3, 10), target 13 was graded correct
by `majority_vote` (13 "equals" the gold expression ``3+10``) and wrong by the Countdown checker.
"""

from __future__ import annotations

import numpy as np
import pytest

from itslab import Budget, strategies, tasks
from itslab.pools import draw_pool
from itslab.rng import problem_rng
from itslab.types import Completion, Problem
from itslab.verifiers import ExactAnswer

HYPER = {
    "beam_search": {"n": 2, "beam_width": 1, "max_steps": 2},
    "dvts": {"n": 2, "beam_width": 1, "max_steps": 2},
    "rebase": {"n": 2, "max_steps": 2},
    "particle_filter": {"n_particles": 2, "max_steps": 2},
    "particle_gibbs": {"n_particles": 2, "n_iterations": 1, "max_steps": 2},
    "phi_decoding": {"n_beams": 2, "n_rollouts": 1, "max_steps": 2},
    "resample_until_pass": {"max_samples": 2},
    "constrained_smc": {"constraint": "constant", "n_particles": 2, "max_tokens": 64},
    "constrained_best_of_n": {"constraint": "constant", "n": 2, "max_tokens": 64},
    "rejection_sampling": {"constraint": "constant", "max_samples": 2, "max_tokens": 64},
    "speculative_reasoning": {"max_steps": 2},
}


class TableGenerator:
    """Answers every request for a problem's prompt with that problem's fixed text (finished, 5 tokens);
    a prompt built on the problem's (a synthesis or refinement prompt) gets the same text."""

    model_id = "table"
    n_params = 1e6

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def _text(self, prefix: str) -> str:
        if prefix in self.texts:
            return self.texts[prefix]
        return self.texts[max((k for k in self.texts if prefix.startswith(k)), key=len)]

    def generate(self, requests):
        return [
            [
                Completion(
                    self._text(r.prefix),
                    n_tokens=5,
                    n_prompt_tokens=3,
                    finish_reason="stop",
                    seed=r.seed,
                    logprobs=(-0.1,) * 5,
                )
                for _ in range(r.n)
            ]
            for r in requests
        ]


class Accepts:
    """A verifier that likes every text (outcome and per-step scores of 1)."""

    name = "accepts"

    def score(self, problem, texts):
        return [(1.0,) for _ in texts]

    def cost(self, problem, texts):
        from itslab.types import Usage

        return Usage(verifier_calls=len(texts))


def countdown_problem() -> Problem:
    return Problem(
        id="countdown/x/0",
        prompt="Use 3 and 10 to make 13.",
        answer="3+10",
        meta={"numbers": (3, 10), "target": 13, "checker": "countdown"},
    )


def _run(name: str, problem: Problem, text: str):
    gen = TableGenerator({problem.prompt: text})
    return strategies.get(name)(
        problem,
        gen,
        Accepts(),
        Budget(samples=8),
        problem_rng(0, problem.id),
        **HYPER.get(name, {"n": 2, "max_tokens": 64}),
    )


@pytest.mark.parametrize("name", strategies.names())
def test_countdown_bare_target_is_wrong_in_every_strategy(name):
    r = _run(name, countdown_problem(), "So the answer is \\boxed{13}")
    assert r.correct is False, f"{name} graded the bare target 13 correct (answer {r.answer!r})"


@pytest.mark.parametrize("name", strategies.names())
def test_countdown_other_valid_expression_is_right_in_every_strategy(name):
    r = _run(name, countdown_problem(), "10 + 3 = 13, so \\boxed{10 + 3}")
    assert r.correct is True, f"{name} graded the valid expression 10 + 3 wrong (answer {r.answer!r})"


def _variants(problem: Problem, rng: np.random.Generator) -> str:
    """A model-like text for `problem`: right, wrong, equivalent, bare target, unboxed, no answer."""
    gold = problem.answer or ""
    target = str(problem.meta.get("target", gold))
    choice = int(rng.integers(9))
    wrong = str(int(rng.integers(0, 200)))
    return [
        f"\\boxed{{{gold}}}",
        f"#### {gold}",
        f"The answer is {gold}.",
        f"\\boxed{{{wrong}}}",
        f"\\boxed{{{target}}}",
        "I do not know.",
        f"{gold} = {target}",
        f"\\boxed{{{gold}.0}}",
        f"so we get {wrong}\n\\boxed{{{gold}}}",
    ][choice]


def test_verifier_pool_and_result_agree_on_1000_pairs_from_every_task():
    rng = np.random.default_rng(0)
    problems = []
    for name in sorted(tasks.synthetic.GENERATORS):
        problems += tasks.load(name, limit=250 if name != "graph" else 250, difficulty=2, seed=1)
    assert len(problems) >= 1000
    texts = {p.prompt: _variants(p, rng) for p in problems}
    problems = [p for p in problems if p.prompt in texts]
    gen = TableGenerator(texts)
    exact = ExactAnswer()
    pool = draw_pool(gen, problems, 1, seed=0, max_tokens=64)
    vote = strategies.get("majority_vote")
    disagree = []
    for i, p in enumerate(problems):
        v = exact.score(p, [texts[p.prompt]])[0][0] == 1.0
        r = vote(p, gen, None, Budget(samples=1), problem_rng(0, p.id), n=1, max_tokens=64).correct
        if not (v == bool(pool.correct[i, 0]) == r == tasks.is_correct(p, texts[p.prompt])):
            disagree.append((p.id, texts[p.prompt], v, bool(pool.correct[i, 0]), r))
    assert not disagree, disagree[:5]
    assert 0.1 < pool.correct.mean() < 0.9  # the pairs mix right and wrong texts
