"""Simulated generators: closed-form statistics, prefix stability, reproducibility, token accounting.

Statistical tests are seeded; tolerances are ~4 standard errors of the stated estimate.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys

import numpy as np
import pytest

from itslab.generators.simulated import (
    THINK_END,
    WAIT,
    SequentialSimGenerator,
    SimulatedGenerator,
    StepwiseSimGenerator,
    count_tokens,
    extract_boxed,
    hidden_chain,
    make_suite,
    outcome_oracle,
    step_oracle,
)
from itslab.protocols import STEP_DELIMITER
from itslab.types import Problem, Request

BIG = 100_000  # max_tokens that never truncates


def _texts(gen, req):
    return [c.text for c in gen.generate([req])[0]]


# --- SimulatedGenerator: closed forms ---------------------------------------------------------------


def test_pass_at_1_matches_beta_mean_and_closed_form():
    a, b, n = 2.0, 3.0, 40
    problems, gen = make_suite(300, seed=0, a=a, b=b)
    outs = gen.generate([Request(p.prompt, n=n, seed=1, max_tokens=BIG) for p in problems])
    correct = np.array([[c.meta["sim_correct"] for c in cs] for cs in outs])
    # Beta mean a/(a+b) = 0.4; sd of the mean over 300 problems ≈ sqrt(Var Beta / 300) ≈ 0.0115
    assert abs(correct.mean() - a / (a + b)) < 0.05
    # against the problems' own p (only binomial noise left: sd ≈ 0.0045)
    expect = np.mean([gen.p_correct(p) for p in problems])
    assert abs(correct.mean() - expect) < 0.018
    assert all(gen.p_correct(p) == pytest.approx(p.meta["p_correct"]) for p in problems)
    # the meta flag is what the text says
    for p, cs in zip(problems[:20], outs[:20]):
        assert all(outcome_oracle(p, c.text) == c.meta["sim_correct"] for c in cs)


def test_answer_frequencies_match_answer_distribution_at_several_temperatures():
    problems, gen = make_suite(3, seed=2, distractor_concentration=0.3)
    p = problems[0]
    for temp in (0.5, 1.0, 1.7):
        tab = gen.sample_table(Request(p.prompt, n=20_000, seed=3, temperature=temp))
        dist = gen.answer_distribution(p, temperature=temp)
        for ans, q in dist.items():
            freq = float(np.mean(tab["answer"] == ans))
            assert abs(freq - q) < 4 * math.sqrt(q * (1 - q) / 20_000) + 1e-9, (temp, ans, freq, q)


def test_temperature_zero_is_greedy_mode_and_high_temperature_flattens():
    problems, gen = make_suite(30, seed=4, distractor_concentration=0.1)
    for p in problems:
        cs = gen.generate([Request(p.prompt, n=4, seed=5, temperature=0.0, max_tokens=BIG)])[0]
        dist = gen.answer_distribution(p)
        assert len({c.text for c in cs}) == 1
        # greedy follows the single most likely reasoning path: mass / paths, gold split over gold_paths
        per_path = {a: q / (gen.gold_paths if a == p.answer else gen.distractor_paths) for a, q in dist.items()}
        assert cs[0].meta["answer"] == max(per_path, key=per_path.get)
        assert gen.p_correct(p, temperature=0.0) in (0.0, 1.0)
        ent = [_path_entropy(gen, p, t) for t in (0.5, 1.0, 2.0)]
        assert ent[0] <= ent[1] <= ent[2]
    # peaked distractors: on some hard problems the mode is wrong, so majority vote converges wrongly
    assert any(gen.p_correct(p, temperature=0.0) == 0.0 for p in problems)


def _entropy(d):
    q = np.array([v for v in d.values() if v > 0])
    return float(-(q * np.log(q)).sum())


def _path_entropy(gen, p, temperature):
    # entropy over reasoning paths (temperature flattens paths, not answers): each answer's mass is
    # spread evenly over its paths, which adds sum_i q_i log(n_i) to the entropy over answers
    d = gen.answer_distribution(p, temperature=temperature)
    n = {a: gen.gold_paths if a == p.answer else gen.distractor_paths for a in d}
    return _entropy(d) + sum(q * math.log(n[a]) for a, q in d.items())


def test_top_k_and_top_p_truncate_the_answer_distribution():
    problems, gen = make_suite(1, seed=6)
    d1 = gen.answer_distribution(problems[0], top_k=1)
    assert sorted(d1.values())[-1] == 1.0
    dp = gen.answer_distribution(problems[0], top_p=0.5)
    kept = [v for v in dp.values() if v > 0]
    assert 1 <= len(kept) < len(dp) and sum(kept) == pytest.approx(1.0)


def test_confidence_has_configured_auc_and_calibration():
    problems = [Problem(id="c", prompt="Q?", answer="7", meta={"p_correct": 0.5})]
    gen = SimulatedGenerator(problems, seed=0, confidence_auc=0.8)
    tab = gen.sample_table(Request("Q?", n=20_000, seed=1))
    conf, ok = tab["confidence"], tab["correct"]
    auc = np.mean(conf[ok][:, None] > conf[~ok][None, :2000])
    assert abs(auc - 0.8) < 0.02
    assert abs(conf.mean() - ok.mean()) < 0.02  # calibrated: mean confidence = accuracy
    over = SimulatedGenerator(problems, seed=0, confidence_auc=0.8, confidence_bias=2.0)
    assert over.sample_table(Request("Q?", n=2000, seed=1))["confidence"].mean() > ok.mean() + 0.15
    [c] = gen.generate([Request("Q?", n=1, seed=1, logprobs=True, max_tokens=BIG)])[0]
    assert len(c.logprobs) == c.n_tokens and c.logprob == pytest.approx(math.log(c.meta["confidence"]))


def test_length_model_and_token_accounting():
    problems, gen = make_suite(5, seed=7, mean_tokens=60)
    p = problems[0]
    cs = gen.generate([Request(p.prompt, n=50, seed=2, max_tokens=BIG)])[0]
    for j, c in enumerate(cs):
        assert c.n_tokens == count_tokens(c.text)
        assert c.n_prompt_tokens == count_tokens(p.prompt) > 0
        assert c.n_cached_tokens == (0 if j == 0 else c.n_prompt_tokens)  # prompt prefilled once
        assert c.seed == 2 and c.finish_reason == "stop" and c.text.endswith(f"\\boxed{{{c.meta['answer']}}}.")
    mean_len = np.mean([c.n_tokens for c in cs])
    assert 40 < mean_len < 200


def test_max_tokens_and_stop_strings():
    problems, gen = make_suite(2, seed=8)
    p = problems[0]
    for c in gen.generate([Request(p.prompt, n=5, seed=1, max_tokens=7)])[0]:
        assert c.finish_reason == "length" and c.n_tokens == 7 == count_tokens(c.text)
        assert c.meta["answer"] is None and c.meta["sim_correct"] is False
    for c in gen.generate([Request(p.prompt, n=5, seed=1, stop=("The answer",), max_tokens=BIG)])[0]:
        assert c.finish_reason == "stop" and c.text.endswith("The answer") and extract_boxed(c.text) is None


# --- beyond the generator contract (tests/generators/test_generator_contract.py) ----------------------

SUITES = {
    "outcome": lambda: make_suite(4, seed=3),
    "stepwise": lambda: make_suite(4, seed=3, kind="stepwise"),
    "sequential": lambda: make_suite(4, seed=3, kind="sequential"),
}


@pytest.mark.parametrize("kind", sorted(SUITES))
@pytest.mark.parametrize("stop", [(STEP_DELIMITER,), (THINK_END,)])
def test_first_k_of_n_samples_are_identical_for_every_n_when_writing_one_step(kind, stop):
    problems, gen = SUITES[kind]()
    assert gen.n_params == 0
    for p in problems:
        req = Request(p.prompt, n=9, seed=11, stop=stop, temperature=0.8, max_tokens=BIG)
        full = gen.generate([req])[0]
        for k in (1, 3, 9):
            assert (
                gen.generate([Request(p.prompt, n=k, seed=11, stop=stop, temperature=0.8, max_tokens=BIG)])[0]
                == full[:k]
            )
        assert len({c.text for c in full}) > 1  # the samples do differ


@pytest.mark.parametrize("kind", sorted(SUITES))
def test_token_counts_of_every_kind_and_continuation(kind):
    problems, gen = SUITES[kind]()
    p = problems[0]
    prefixes = [p.prompt]
    for stop in [(STEP_DELIMITER,), (THINK_END,)]:
        [c] = gen.generate([Request(p.prompt, n=1, seed=1, stop=stop, max_tokens=BIG)])[0]
        prefixes.append(p.prompt + c.text)
        prefixes.append(p.prompt + c.text.replace(THINK_END, "") + WAIT)
    for prefix in prefixes:
        for j, c in enumerate(gen.generate([Request(prefix, n=3, seed=2, max_tokens=BIG, logprobs=True)])[0]):
            assert c.n_tokens == count_tokens(c.text) == len(c.logprobs)
            assert c.n_prompt_tokens == count_tokens(prefix)
            assert c.n_cached_tokens == (0 if j == 0 else c.n_prompt_tokens)


@pytest.mark.parametrize("kind", sorted(SUITES))
def test_a_fresh_generator_gives_the_same_samples_under_the_same_model_id(kind):
    problems, gen = SUITES[kind]()
    _, gen2 = SUITES[kind]()  # a fresh generator object
    req = [Request(p.prompt, n=4, seed=5) for p in problems]
    assert gen.generate(req) == gen2.generate(req)
    assert gen.model_id == gen2.model_id
    assert make_suite(4, seed=4, kind=kind)[1].model_id != gen.model_id


def test_samples_are_reproducible_across_processes():
    code = (
        "import hashlib; from itslab.generators.simulated import make_suite; from itslab.types import Request;"
        "ps, g = make_suite(3, seed=9, kind='stepwise');"
        "print(hashlib.sha256(repr([c.text for p in ps for c in g.generate([Request(p.prompt, n=5, seed=2)])[0]])"
        ".encode()).hexdigest())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    ps, g = make_suite(3, seed=9, kind="stepwise")
    here = hashlib.sha256(
        repr([c.text for p in ps for c in g.generate([Request(p.prompt, n=5, seed=2)])[0]]).encode()
    ).hexdigest()
    assert here == other


def test_prompt_wrapped_in_a_template_is_still_found():
    problems, gen = make_suite(3, seed=0, kind="stepwise")
    p = problems[1]
    wrapped = "<|user|>\n" + p.prompt + "<|assistant|>\n"
    assert gen.problem_for(wrapped) is p
    [c] = gen.generate([Request(wrapped, n=1, seed=0, stop=(STEP_DELIMITER,), max_tokens=BIG)])[0]
    assert c.meta["problem_id"] == p.id and len(step_oracle(p, c.text)) == 1 and c.text.startswith("Step 1:")
    problems, seq = make_suite(3, seed=0, kind="sequential")
    [c] = seq.generate(
        [Request("<|user|>\n" + problems[0].prompt + "<|assistant|>\n", n=1, seed=0, stop=(THINK_END,), max_tokens=BIG)]
    )[0]
    assert c.text.startswith("Let me think.") and c.text.endswith(THINK_END)


def test_bad_inputs_raise_clear_errors():
    problems, gen = make_suite(2, seed=0)
    with pytest.raises(KeyError, match="does not contain the prompt"):
        gen.generate([Request("no such prompt", n=1)])
    with pytest.raises(ValueError, match="answer=None"):
        SimulatedGenerator([Problem(id="x", prompt="q")])
    with pytest.raises(ValueError, match="share a prompt"):
        SimulatedGenerator([Problem(id="x", prompt="q", answer="1"), Problem(id="y", prompt="q", answer="2")])
    with pytest.raises(ValueError, match="unknown simulator kind"):
        make_suite(2, seed=0, kind="nope")
    with pytest.raises(ValueError, match="confidence_auc"):
        make_suite(2, seed=0, confidence_auc=0.3)


# --- StepwiseSimGenerator ------------------------------------------------------------------------------


def _roll_out(gen, problems, n_particles, seed=0, temperature=1.0):
    """Step-by-step generation, one request per particle per step (what a particle filter does)."""
    prefixes = [p.prompt for p in problems for _ in range(n_particles)]
    done = [False] * len(prefixes)
    for step in range(20):
        live = [i for i, d in enumerate(done) if not d]
        if not live:
            break
        reqs = [
            Request(
                prefixes[i],
                n=1,
                seed=seed + 1000 * step + i,
                stop=(STEP_DELIMITER,),
                temperature=temperature,
                max_tokens=BIG,
            )
            for i in live
        ]
        for i, [c] in zip(live, gen.generate(reqs)):
            assert c.finish_reason == "stop"
            assert c.text.endswith(STEP_DELIMITER) != c.meta["finished"]
            prefixes[i] += c.text
            done[i] = c.meta["finished"]
    assert all(done)
    return prefixes


def test_stepwise_pass_at_1_step_by_step_and_whole_matches_closed_form():
    problems, gen = make_suite(60, seed=1, kind="stepwise", a=3, b=2, n_steps=(2, 6))
    expect = np.mean([gen.p_correct(p) for p in problems])
    assert expect == pytest.approx(np.mean([p.meta["p_correct"] for p in problems]), abs=1e-6)
    prefixes = _roll_out(gen, problems, 8)
    stepwise = np.mean([outcome_oracle(p, prefixes[i * 8 + k]) for i, p in enumerate(problems) for k in range(8)])
    whole = gen.generate([Request(p.prompt, n=8, seed=2, max_tokens=BIG) for p in problems])
    whole_acc = np.mean([c.meta["sim_correct"] for cs in whole for c in cs])
    for acc in (stepwise, whole_acc):  # 480 chains: binomial sd ≈ 0.022
        assert abs(acc - expect) < 0.08
    for i, p in enumerate(problems[:10]):
        flags = step_oracle(p, prefixes[i * 8])
        assert len(flags) == p.meta["n_steps"] and flags[-1] == outcome_oracle(p, prefixes[i * 8])
        assert extract_boxed(prefixes[i * 8]) is not None


def test_step_oracle_reads_the_hidden_chain_and_errors_persist_without_recovery():
    problems, gen = make_suite(40, seed=2, kind="stepwise", a=1, b=1, n_steps=5)
    outs = gen.generate([Request(p.prompt, n=6, seed=3, max_tokens=BIG) for p in problems])
    seen_break = False
    for p, cs in zip(problems, outs):
        chain = hidden_chain(p)
        assert chain[-1] == p.answer and len(chain) == 5
        for c in cs:
            flags = step_oracle(p, p.prompt + c.text)
            assert flags == step_oracle(p, c.text) and len(flags) == 5
            assert all(not f for f in flags[flags.index(False) :]) if False in flags else True
            seen_break |= False in flags
            assert c.meta["sim_correct"] == flags[-1] == outcome_oracle(p, c.text)
    assert seen_break


def test_stepwise_recovery_and_value_function():
    problems, gen = make_suite(150, seed=5, kind="stepwise", n_steps=4, recover=0.3)
    for p in problems[:5]:
        assert gen.p_correct(p) == pytest.approx(p.meta["p_correct"], abs=1e-6)
        assert gen.value(p, 4, True) == 1.0 and gen.value(p, 4, False) == 0.0
        assert gen.value(p, 2, False) > 0.0  # recovery possible
    outs = gen.generate([Request(p.prompt, n=10, seed=1, max_tokens=BIG) for p in problems])
    acc = np.mean([c.meta["sim_correct"] for cs in outs for c in cs])
    assert abs(acc - np.mean([p.meta["p_correct"] for p in problems])) < 0.055  # sd ≈ 0.013
    flags = [step_oracle(p, c.text) for p, cs in zip(problems, outs) for c in cs]
    assert any(True in f[f.index(False) :] for f in flags if False in f)  # a broken chain recovered


def test_stepwise_continues_a_step_cut_by_max_tokens_and_stops_when_finished():
    problems, gen = make_suite(3, seed=6, kind="stepwise", n_steps=3)
    p = problems[0]
    [c] = gen.generate([Request(p.prompt, n=1, seed=1, max_tokens=5)])[0]
    assert c.finish_reason == "length" and c.n_tokens == 5
    [d] = gen.generate([Request(p.prompt + c.text, n=1, seed=1, stop=(STEP_DELIMITER,), max_tokens=BIG)])[0]
    assert d.text.startswith(" so the running value is") and d.text.endswith(STEP_DELIMITER)
    assert len(step_oracle(p, c.text + d.text)) == 1
    [full] = gen.generate([Request(p.prompt, n=1, seed=2, max_tokens=BIG)])[0]
    [eos] = gen.generate([Request(p.prompt + full.text, n=1, seed=2)])[0]
    assert eos.text == "" and eos.n_tokens == 0 and eos.meta["finished"]


def _reference_step_flags(problem, solution):
    # step_oracle's definition, written plainly: split left to right, skip blank chunks
    from itslab.generators.simulated.stepwise import _VALUE

    chain, gold, flags, state, k = hidden_chain(problem), str(problem.answer).strip(), [], True, 0
    for chunk in solution.split(STEP_DELIMITER):
        if chunk.strip():
            for v in _VALUE.findall(chunk):
                k += 1
                state = k <= len(chain) and v == chain[k - 1]
            boxed = extract_boxed(chunk)
            state = state if boxed is None else state and boxed == gold
            flags.append(state)
    return flags


def test_step_oracle_memoised_by_step_boundary_equals_the_plain_definition():
    problems, gen = make_suite(4, seed=12, kind="stepwise", n_steps=4)
    rng = np.random.default_rng(0)
    for p in problems:
        chain = hidden_chain(p)
        pieces = [
            "\n",
            "\n\n",
            "\n\n\n",
            "\n\n\n\n",
            " ",
            "Step 1: word",
            f" so the running value is {chain[0]}.",
            " so the running value is 7.",
            f" so the running value is {chain[1]}.",
            f" The answer is \\boxed{{{p.answer}}}.",
            " The answer is \\boxed{3}.",
        ]
        for _ in range(300):
            text = "".join(rng.choice(pieces, size=rng.integers(0, 12)))
            assert step_oracle(p, text) == _reference_step_flags(p, text), repr(text)
        for c in gen.generate([Request(p.prompt, n=20, seed=4, temperature=1.2, max_tokens=BIG)])[0]:
            assert step_oracle(p, p.prompt + c.text) == _reference_step_flags(p, c.text)


def test_stepwise_token_counts_match_the_tokenizer_in_every_state():
    # the stepwise simulator counts tokens while it writes; check it against `count_tokens` after
    # the prompt, after each step, mid-step (cut by max_tokens), after a step lacking its delimiter,
    # and after all values without an answer line
    problems, gen = make_suite(6, seed=9, kind="stepwise", n_steps=3)
    for p in problems:
        [whole] = gen.generate([Request(p.prompt, n=1, seed=3, max_tokens=BIG)])[0]
        steps = whole.text.split(STEP_DELIMITER)
        prefixes = [
            p.prompt,
            p.prompt + whole.text[:17],
            p.prompt + steps[0],  # a whole step without its delimiter
            p.prompt + STEP_DELIMITER.join(steps[:2]) + STEP_DELIMITER,
            p.prompt + STEP_DELIMITER.join(steps[:-1]) + STEP_DELIMITER + steps[-1].split(" The answer")[0],
        ]
        for prefix in prefixes:
            for stop in [(), (STEP_DELIMITER,)]:
                for mt in (BIG, 9):
                    for c in gen.generate([Request(prefix, n=4, seed=5, stop=stop, max_tokens=mt, temperature=0.9)])[0]:
                        assert c.n_tokens == count_tokens(c.text), (prefix[-40:], stop, mt, c.text)


def test_stepwise_greedy_is_deterministic_and_temperature_changes_error_rate():
    problems, gen = make_suite(20, seed=7, kind="stepwise")
    for p in problems[:5]:
        texts = _texts(gen, Request(p.prompt, n=3, seed=1, temperature=0.0, max_tokens=BIG))
        assert len(set(texts)) == 1
        assert outcome_oracle(p, texts[0]) == (gen.p_correct(p, temperature=0.0) == 1.0)
    # colder sampling sharpens towards the correct step where each of its paths is likelier than a
    # wrong one: (1 - eps) / gold_paths > eps / distractor_paths
    easy = [p for p in problems if gen.step_error(p) < gen.distractor_paths / (gen.gold_paths + gen.distractor_paths)]
    assert easy
    assert all(gen.p_correct(p, 0.5) >= gen.p_correct(p, 1.0) >= gen.p_correct(p, 1.5) for p in easy)


def test_stepwise_works_on_problems_with_non_integer_answers():
    p = Problem(id="frac", prompt="What is 1/2?\n", answer="\\frac{1}{2}", meta={"p_correct": 0.9, "n_steps": 2})
    gen = StepwiseSimGenerator([p], seed=0)
    cs = gen.generate([Request(p.prompt, n=20, seed=0, max_tokens=BIG)])[0]
    assert any(c.meta["sim_correct"] for c in cs)
    assert all(outcome_oracle(p, c.text) == c.meta["sim_correct"] for c in cs)


# --- SequentialSimGenerator ----------------------------------------------------------------------------


def _budget_force(gen, problems, n, n_waits):
    """s1 budget forcing: stop at </think>, replace it by "Wait" `n_waits` times, then let it answer."""
    prefixes = [p.prompt for p in problems for _ in range(n)]
    for w in range(n_waits + 1):
        reqs = [Request(x, n=1, seed=7 * i + w, stop=(THINK_END,), max_tokens=BIG) for i, x in enumerate(prefixes)]
        outs = gen.generate(reqs)
        for i, [c] in enumerate(outs):
            assert c.text.endswith(THINK_END) and c.finish_reason == "stop"
            prefixes[i] += c.text[: -len(THINK_END)] + (WAIT if w < n_waits else THINK_END)
    final = gen.generate([Request(x, n=1, seed=0, max_tokens=BIG) for x in prefixes])
    return [cs[0] for cs in final], prefixes


def test_budget_forcing_matches_the_fix_break_recursion():
    problems, gen = make_suite(80, seed=3, kind="sequential", a=1.5, b=1.5, p_fix=0.4, p_break=0.1, decay=0.7)
    whole = gen.generate([Request(p.prompt, n=16, seed=1, max_tokens=BIG) for p in problems])  # no forcing
    acc0 = np.mean([c.meta["sim_correct"] for cs in whole for c in cs])
    assert abs(acc0 - np.mean([gen.p_correct(p) for p in problems])) < 0.055  # 1280 traces: sd ≈ 0.014
    finals, prefixes = _budget_force(gen, problems, 8, 2)
    acc = np.mean([c.meta["sim_correct"] for c in finals])
    expect = np.mean([gen.p_correct(p, n_waits=2) for p in problems])
    # 640 traces: sd ≈ 0.018; the forcing gain being tested is ≈ 0.2
    assert abs(acc - expect) < 0.07, (acc, expect)
    assert all(c.meta["finished"] and c.meta["n_waits"] == 2 for c in finals)
    assert all(p.count(WAIT) == 2 for p in prefixes)
    assert np.mean([gen.p_correct(p, n_waits=2) for p in problems]) > np.mean([p.meta["p_correct"] for p in problems])


def test_sequential_early_stop_answers_last_belief_or_guesses():
    problems, gen = make_suite(200, seed=4, kind="sequential", guess_factor=0.3)
    # cut before any belief: append </think> to the prompt right away
    outs = gen.generate([Request(p.prompt + THINK_END, n=10, seed=1, max_tokens=BIG) for p in problems])
    acc = np.mean([c.meta["sim_correct"] for cs in outs for c in cs])
    assert abs(acc - np.mean([gen.p_guess(p) for p in problems])) < 0.04
    p = problems[0]
    [c] = gen.generate([Request(p.prompt, n=1, seed=3, stop=(THINK_END,), max_tokens=BIG)])[0]
    [ans] = gen.generate([Request(p.prompt + c.text, n=1, seed=3, max_tokens=BIG)])[0]
    assert extract_boxed(ans.text) == c.meta["answer"]
    [seq] = gen.generate([Request(p.prompt, n=1, seed=3, max_tokens=BIG)])[0]  # no stop: whole trace + answer
    assert seq.text.startswith(c.text) and extract_boxed(seq.text) == c.meta["answer"]


def test_sequential_finishes_a_segment_cut_by_max_tokens():
    problems, gen = make_suite(2, seed=5, kind="sequential")
    p = problems[0]
    [c] = gen.generate([Request(p.prompt, n=1, seed=1, max_tokens=6)])[0]
    assert c.finish_reason == "length" and c.meta["answer"] is None
    [d] = gen.generate([Request(p.prompt + c.text, n=1, seed=1, stop=(THINK_END,), max_tokens=BIG)])[0]
    assert d.text.startswith(" so the answer is") and d.text.endswith(THINK_END)
    assert isinstance(gen, SequentialSimGenerator)
