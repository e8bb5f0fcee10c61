"""The capstone harness: probing which registered strategies a task can run (and why not), the sweep and its
grid, banks as tasks (finished and still landing), one probe shared by simulator tasks of one kind."""

import numpy as np
import pytest

from itslab import banks
from itslab.experiments import capstone as cs
from itslab.scaling import task_grid

TOY = {
    "name": "toy",
    "task": {"name": "arithmetic", "limit": 6, "difficulty": 1},
    "model": {"backend": "simulated", "name": "outcome"},
    "sampling": {"n": 4, "temperature": 0.7, "max_tokens": 256},
    "chunk": 2,
}


@pytest.fixture(scope="module")
def sim_task():
    return cs.simulated_tasks(3, seed=0, which=["math500"])[0]


def test_probe_keeps_the_reason_and_the_verifier_use(sim_task):
    pr = cs.probe(sim_task, ["majority_vote", "best_of_n", "constrained_smc"]).set_index("strategy")
    assert pr.loc["majority_vote", "verifier"] == cs.NO_VERIFIER and pr.loc["majority_vote", "runs"]
    assert pr.loc["best_of_n", "verifier"] == "PRM"
    assert not pr.loc["constrained_smc", "runs"] and "constraint" in pr.loc["constrained_smc", "reason"]


def test_sweep_grid_rows_and_labels(sim_task):
    pr = cs.probe(sim_task, ["majority_vote", "best_of_n", "oracle_pass_at_n"])
    df = cs.sweep([sim_task], [2], probes=pr, variants={"T=0.5": {"temperature": 0.5}})
    assert set(df["config"]) == {"majority_vote · T=0.5", "best_of_n · PRM · T=0.5", "oracle_pass_at_n · T=0.5"}
    assert len(df) == 3 * len(sim_task.problems) and (df["task"] == "math500").all()
    g = task_grid.grid(df, 2).set_index("config")
    assert not g.loc["oracle_pass_at_n · T=0.5", "deployable"] and not g.loc["oracle_pass_at_n · T=0.5", "winner"]
    assert g.loc[g["deployable"], "winner"].any()
    assert g.loc["oracle_pass_at_n · T=0.5", "accuracy"] >= g.loc[g["deployable"], "accuracy"].max()


def test_banks_finished_and_partial_as_tasks(tmp_path):
    banks.record(banks.parse_spec(TOY), root=tmp_path, progress=False)
    banks.record(banks.parse_spec({**TOY, "name": "half"}), root=tmp_path, progress=False, limit_chunks=1)
    tasks = {t.name: t for t in cs.bank_tasks(root=tmp_path)}
    assert set(tasks) == {"toy", "half"} and tasks["half"].note.startswith("partial: 2 of 6")
    assert len(tasks["toy"].problems) == 6 and list(tasks["toy"].verifiers) == ["exp(logprob)"]
    assert tasks["toy"].hyper == {"temperature": 0.7, "max_tokens": 256, "top_p": 1.0}
    pr = cs.probe(tasks["toy"], ["majority_vote", "beam_search", "weighted_best_of_n"]).set_index("strategy")
    assert pr.loc["majority_vote", "runs"] and pr.loc["weighted_best_of_n", "verifier"] == "exp(logprob)"
    assert not pr.loc["beam_search", "runs"]
    df = cs.sweep([tasks["toy"]], [2, 4], probes=pr.reset_index())
    table = task_grid.family_table(df, 4, tasks["toy"].family)
    assert table.shape == (6, 2) and all(c.startswith("T=0.7 · ") for c in table.columns)
    scores = cs.ConfidenceScores(banks.load("toy", tmp_path))
    b = banks.load("toy", tmp_path)
    p = banks.problems(b)[0]
    assert scores.score(p, [b.frame["text"][0]])[0][0] == pytest.approx(np.exp(b.logprob_mean[0, 0]))


def test_probe_all_reuses_a_simulator_probe():
    tasks = cs.simulated_tasks(2, seed=0, which=["math500", "one-distractor"])
    pr = cs.probe_all(tasks)
    a, b = (pr[pr["task"] == t.name].drop(columns="task").reset_index(drop=True) for t in tasks)
    assert len(a) == len(cs.probe(tasks[1])) and a.equals(b)
