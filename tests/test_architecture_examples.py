"""The examples in docs/architecture.md run as written: a newcomer adds a strategy, a verifier and a
backend from that document alone, and each runs through `experiments.run` or a YAML config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from itslab import experiments, generators, strategies, tasks, verifiers
from itslab.experiments import config as configs

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def _blocks() -> dict[str, str]:
    text = DOC.read_text()
    out = {}
    for title in ("A strategy", "A verifier", "A backend"):
        section = text.split(f"### {title}\n", 1)[1]
        out[title] = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return out


@pytest.fixture
def registered():
    blocks = _blocks()
    ns: dict = {}
    for code in blocks.values():
        exec(compile(code, str(DOC), "exec"), ns)
    yield ns
    strategies._REGISTRY.pop("first_answer", None)
    verifiers._REGISTRY.pop("length_penalty", None)
    generators._BACKENDS.pop("echo", None)


def test_the_strategy_is_ten_lines_or_so():
    assert len(_blocks()["A strategy"].strip().splitlines()) <= 12


def test_the_example_strategy_runs_through_experiments_run(registered):
    from itslab.generators.simulated import make_suite

    problems, gen = make_suite(6, seed=0)
    df = experiments.run(problems, ["first_answer", "majority_vote"], [1, 4], [0], gen, None, progress=False)
    first = df[df.strategy == "first_answer"]
    assert len(first) == 12 and first["samples"].eq(1).all()
    # with n = 1 both strategies read the same first sample (one pool, common random numbers)
    maj1 = df[(df.strategy == "majority_vote") & (df.budget == 1)]
    assert first[first.budget == 1]["answer"].tolist() == maj1["answer"].tolist()
    df2 = experiments.run(problems, ["first_answer"], [2, 8], [0], gen, None, budget_axis="rollouts", progress=False)
    assert df2.groupby("budget")["samples"].max().tolist() == [2, 8]


def test_the_example_verifier_and_backend_run_from_a_config(registered, tmp_path):
    cfg = configs.parse(
        {
            "task": {"name": "arithmetic", "limit": 3, "difficulty": 1},
            "model": {"backend": "echo", "name": "x"},
            "verifier": {"name": "length_penalty"},
            "strategies": ["best_of_n"],
            "budgets": [2],
        }
    )
    problems = configs.build_problems(cfg)
    gen = configs.build_generator(cfg, problems)
    ver = configs.build_verifier(cfg, gen)
    df = experiments.run(problems, ["best_of_n"], [2], [0], gen, ver, progress=False)
    assert len(df) == 3 and (df["verifier_calls"] == 2).all()
    # Echo answers with the prompt's last word; best-of-2 picks one of two identical samples
    assert df["answer"].tolist() == [tasks.answer_of(p, p.prompt.split()[-1]) for p in problems]
