"""The sweep runner: tidy schema, nested-budget pool reuse, resumability through the store, run files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from itslab import experiments
from itslab.experiments import rundir as runs

SCHEMA = [
    "problem_id",
    "strategy",
    "strategy_name",
    "hyper",
    "budget_axis",
    "budget",
    "seed",
    "correct",
    "answer",
    "gold",
    "n_candidates",
    "n_steps",
    "samples",
    "prompt_tokens",
    "cached_tokens",
    "generated_tokens",
    "verifier_calls",
    "verifier_tokens",
    "generator_flops",
    "verifier_flops",
    "wall_time",
    "price",
    "total_tokens",
    "flops",
    "difficulty",
]


class CountingGenerator:
    """Wraps a generator and counts the completions it was asked to produce."""

    def __init__(self, inner):
        self.inner, self.model_id, self.n_params = inner, inner.model_id, inner.n_params
        self.calls = self.samples = 0

    def generate(self, requests):
        self.calls += len(requests)
        self.samples += sum(r.n for r in requests)
        return self.inner.generate(requests)


def test_frame_is_tidy_with_one_row_per_unit(sim_suite, noisy_verifier):
    problems, gen = sim_suite
    df = experiments.run(
        problems[:4],
        ["majority_vote", ("best_of_n", {"max_tokens": 128})],
        [1, 2, 4],
        [0, 1],
        gen,
        noisy_verifier,
        progress=False,
    )
    assert list(df.columns)[: len(SCHEMA)] == SCHEMA
    assert len(df) == 4 * 2 * 3 * 2
    assert not df.duplicated(["problem_id", "strategy", "budget", "seed"]).any()
    assert set(df["strategy"]) == {"majority_vote", "best_of_n(max_tokens=128)"}
    assert (df["samples"] <= df["budget"]).all()
    assert df["correct"].dtype == bool


def test_nested_budgets_cost_the_generations_of_the_largest(sim_suite, noisy_verifier):
    problems, gen = sim_suite
    sweep, alone = CountingGenerator(gen), CountingGenerator(gen)
    a = experiments.run(
        problems[:5], ["best_of_n"], [1, 2, 4, 8, 16, 32, 64], [0], sweep, noisy_verifier, progress=False
    )
    b = experiments.run(problems[:5], ["best_of_n"], [64], [0], alone, noisy_verifier, progress=False)
    assert sweep.samples == alone.samples == 5 * 64
    # and every budget's row reports what that budget would have cost on its own
    assert list(a[a.budget == 8]["samples"]) == [8] * 5
    pd.testing.assert_frame_equal(
        a[a.budget == 64].reset_index(drop=True).drop(columns="wall_time"), b.drop(columns="wall_time")
    )


def test_rows_do_not_depend_on_what_else_ran(sim_suite, noisy_verifier):
    problems, gen = sim_suite
    full = experiments.run(problems[:6], ["majority_vote"], [4], [0], gen, None, progress=False)
    part = experiments.run(problems[3:6], ["majority_vote"], [4], [0], gen, None, progress=False)
    cols = ["problem_id", "answer", "correct", "generated_tokens"]
    pd.testing.assert_frame_equal(full.iloc[3:][cols].reset_index(drop=True), part[cols])


def test_bad_specs_are_named():
    with pytest.raises(ValueError, match="cannot read strategy spec 42"):
        experiments.as_specs([42])
    with pytest.raises(ValueError, match="unknown budget axis 'tokens'"):
        experiments.as_budgets([3], "tokens")


def test_save_and_load_run_dir(tmp_path, sim_suite):
    problems, gen = sim_suite
    df = experiments.run(problems[:3], ["majority_vote"], [1, 2, 4, 8], [0], gen, None, progress=False)
    man = runs.manifest(model=gen.model_id, config={"x": 1}, seeds=[0], started=time.time())
    runs.save(df, tmp_path / "r", man)
    back, m = runs.load(tmp_path / "r")
    pd.testing.assert_frame_equal(back, df)
    assert m["model"] == gen.model_id and m["itslab_version"] and m["machine"]["cpus"]
    with pytest.raises(FileNotFoundError, match="results.parquet"):
        runs.load(tmp_path)


def test_manifest_records_the_source_read_when_the_run_started(tmp_path, tmp_path_factory):
    import subprocess

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f.txt").write_text("a\n")
    subprocess.run(git + ["add", "f.txt"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-qm", "one"], cwd=tmp_path, check=True)
    clean = runs.source_state(tmp_path)
    assert len(clean["git_commit"]) == 40 and clean["git_dirty"] is False
    (tmp_path / "f.txt").write_text("b\n")  # the checkout moves on while the run goes
    assert runs.source_state(tmp_path) == {**clean, "git_dirty": True}
    man = runs.manifest(model="m", config={}, seeds=[0], started=time.time(), source=clean)
    assert man["git_commit"] == clean["git_commit"] and man["git_dirty"] is False
    assert runs.source_state(tmp_path_factory.mktemp("plain")) == {"git_commit": None, "git_dirty": None}


SWEEP = """
import sys, json
from itslab import experiments
from itslab.generators.simulated import make_suite
from itslab.generators.store import SampleStore

class Slow:
    def __init__(self, inner, log):
        self.inner, self.model_id, self.n_params, self.log = inner, inner.model_id, 0, log
    def generate(self, requests):
        import time
        out = self.inner.generate(requests)
        with open(self.log, "a") as f:
            for r in requests:
                f.write(json.dumps([r.prefix[:40], r.seed, r.n]) + "\\n")
        time.sleep(float(sys.argv[3]))
        return out

problems, gen = make_suite(12, seed=0, kind="outcome", mean_tokens=30.0)
store = SampleStore(sys.argv[1])
df = experiments.run(problems, ["majority_vote"], [1, 2, 4], [0], Slow(gen, sys.argv[2]), None, store=store,
                     progress=False)
print("DONE", len(df), df["correct"].sum())
"""


def test_resume_after_sigkill_generates_nothing_twice(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    db, log = tmp_path / "s.db", tmp_path / "calls.log"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    p = subprocess.Popen([sys.executable, str(script), str(db), str(log), "0.15"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 4):
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    first = log.read_text().splitlines()
    assert 4 <= len(first) < 12, "the sweep should have been killed part-way"
    out = subprocess.run(
        [sys.executable, str(script), str(db), str(log), "0"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("DONE 36")
    calls = [tuple(json.loads(line)[:2]) for line in log.read_text().splitlines()]
    # each (problem, seed) pool is generated once, except at most the one in flight when killed
    assert len(calls) - len(set(calls)) <= 1, calls
    assert len(set(calls)) == 12
    again = subprocess.run(
        [sys.executable, str(script), str(db), str(log), "0"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert again == out and len(log.read_text().splitlines()) == len(calls)  # a finished sweep generates nothing


def test_a_store_backed_sweep_keeps_the_generators_prompt_format(tmp_path, sim_suite):
    """Wrappers (store, pool, batching) forward format_prompt/count_tokens: the prompts a strategy sends
    are the same with and without a store (a lost chat template would silently change every prompt)."""
    from itslab.generators.store import SampleStore

    problems, inner = sim_suite

    class Chat(CountingGenerator):
        def __init__(self, inner):
            super().__init__(inner)
            self.prefixes = []

        def format_prompt(self, problem):
            return problem.prompt  # the simulator reads the prompt; a real model would add its template

        def generate(self, requests):
            self.prefixes += [r.prefix for r in requests]
            return super().generate(requests)

    called = []
    plain, stored = Chat(inner), Chat(inner)
    stored.format_prompt = lambda p: called.append(p.id) or p.prompt
    a = experiments.run(problems[:3], ["majority_vote"], [2], [0], plain, None, progress=False)
    b = experiments.run(
        problems[:3],
        ["majority_vote"],
        [2],
        [0],
        stored,
        None,
        progress=False,
        store=SampleStore(tmp_path / "s.db"),
        batch_units=3,
    )
    assert sorted(called) == sorted(p.id for p in problems[:3])
    assert sorted(plain.prefixes) == sorted(stored.prefixes)
    pd.testing.assert_frame_equal(a.drop(columns="wall_time"), b.drop(columns="wall_time"))
