"""The itslab command: `run` a YAML config end to end, `report` a run directory, config errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from itslab import cli
from itslab.experiments import config as configs
from itslab.experiments import report
from itslab.experiments import rundir as runs

ROOT = Path(__file__).resolve().parents[1]


def _quick_config(tmp_path: Path, **over) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "sim_quick.yaml").read_text())
    data["task"]["limit"] = 20
    data["budgets"] = [1, 2, 4, 8]
    data.update(over)
    p = tmp_path / "cfg.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_run_writes_the_run_directory_with_engine_throughput(tmp_path, capsys):
    cfg = _quick_config(tmp_path, batch_units=4)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "majority_vote" in out and "engine:" in out
    df, man = runs.load(tmp_path / "run")
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {
        "results.parquet",
        "manifest.json",
        "scaling.png",
        "report.md",
    }
    assert len(df) == 20 * 3 * 4 and man["config"]["batch_units"] == 4
    # budgets 1..8 share one pool per distinct request: majority_vote (default max_tokens) draws one,
    # best_of_n and weighted_best_of_n (max_tokens=256, identical requests) share the other
    assert man["engine_samples"] == 2 * 20 * 8
    at8 = df[df.budget == 8].groupby("strategy")["generated_tokens"].sum()
    assert man["engine_generated_tokens"] == at8["majority_vote"] + at8["best_of_n(max_tokens=256)"]
    assert at8["best_of_n(max_tokens=256)"] == at8["weighted_best_of_n(max_tokens=256)"]
    assert cli.main(["report", str(tmp_path / "run")]) == 0
    assert "Fitted law" in (tmp_path / "run" / "report.md").read_text()


@pytest.mark.parametrize(
    "over,needle",
    [
        ({"colour": 1}, "unknown key 'colour'"),
        (
            {"model": {"backend": "tgi", "name": "x"}},
            "model.backend: 'tgi' is not one of bank, hf, http, llamacpp, simulated, vllm",
        ),
        ({"verifier": {"name": "oracle"}}, "verifier.name: 'oracle' is not one of"),
        ({"strategies": [{"name": "bestofn"}]}, "strategies[0].name: 'bestofn' is not a strategy; valid:"),
        ({"budgets": [0, 2]}, "budgets: needs a non-empty list of distinct positive numbers"),
        ({"batch_units": 0}, "batch_units: needs a positive integer"),
        ({"budget_axis": "tokens"}, "budget_axis: 'tokens' is not one of"),
    ],
)
def test_config_errors_name_the_key_and_the_allowed_values(tmp_path, over, needle):
    cfg = _quick_config(tmp_path, **over)
    with pytest.raises(configs.ConfigError) as e:
        configs.load(cfg)
    assert str(cfg) in str(e.value) and needle in str(e.value)


def test_cli_reports_config_errors_without_a_traceback(tmp_path, capsys):
    cfg = _quick_config(tmp_path, batch_units="many")
    assert cli.main(["run", str(cfg)]) == 2
    assert "batch_units" in capsys.readouterr().err


def test_a_flat_accuracy_curve_is_reported_as_not_identified():
    import pandas as pd

    rows = [
        {"strategy": "s", "problem_id": f"p{i}", "budget": b, "correct": i % 5 == 0}
        for i in range(20)
        for b in (1, 2, 4, 8, 16)
    ]
    law = report.fit_laws(pd.DataFrame(rows), n_boot=20)["s"]
    assert law["note"].startswith(("not identified", "weakly identified"))


def test_models_list_names_the_embedded_default(capsys):
    assert cli.main(["models"]) == 0
    assert "smollm2-135m" in capsys.readouterr().out
