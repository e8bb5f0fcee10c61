"""Regression tests for lost or damaged results and tracebacks (issue "Reliability", items 9–12):
results of one config overwrote another's, a bad --out failed after all the compute, the store
altered a foreign SQLite file before refusing it, `itslab report` dropped the run's title, and
most failures printed 50-line tracebacks."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from itslab import cli
from itslab.generators.store import SampleStore

SIM = """task: {name: arithmetic, limit: 3, difficulty: 1}
model: {backend: simulated, name: outcome}
strategies: [majority_vote]
budgets: [1, 2]
title: %s
"""


def _write(tmp_path, name, title, extra=""):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(SIM % title + extra)
    return p


def test_two_configs_with_one_default_out_do_not_overwrite_each_other(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    a = _write(tmp_path, "a/config.yaml", "first")
    b = _write(tmp_path, "b/config.yaml", "second", "seeds: [1]\n")
    assert cli.main(["run", str(a)]) == 0
    before = (tmp_path / "runs/config/results.parquet").read_bytes()
    assert cli.main(["run", str(b)]) == 2
    assert "holds the results of another config" in capsys.readouterr().err
    assert (tmp_path / "runs/config/results.parquet").read_bytes() == before
    assert cli.main(["run", str(a)]) == 0  # the same config may re-run into its own directory


def test_a_bad_out_fails_before_any_compute(tmp_path, capsys):
    cfg = _write(tmp_path, "c.yaml", "t")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli.main(["run", str(cfg), "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "cannot write there" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content", [b"garbage" * 100, b"SQLite format 3\x00" + b"\x00" * 50])
def test_store_refuses_a_non_store_file_and_leaves_it_unchanged(tmp_path, content):
    p = tmp_path / "x.db"
    p.write_bytes(content)
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="nothing was changed"):
        SampleStore(p).open()
    assert hashlib.sha256(p.read_bytes()).hexdigest() == digest and sorted(x.name for x in tmp_path.iterdir()) == [
        "x.db"
    ]


def test_store_refuses_a_foreign_sqlite_database_untouched(tmp_path):
    p = tmp_path / "foreign.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="not an itslab sample store"):
        SampleStore(p).open()
    assert hashlib.sha256(p.read_bytes()).hexdigest() == digest
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
    con.close()


def test_report_keeps_the_title(tmp_path):
    cfg = _write(tmp_path, "t.yaml", "My title")
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "out")]) == 0
    assert cli.main(["report", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out/report.md").read_text().startswith("# My title")


@pytest.mark.parametrize(
    "extra, needle",
    [
        ("verifier: 5\n", "verifier"),
        ("strategies: [{name: majority_vote, hyper: {colour: 3}}]\n", "colour"),
    ],
)
def test_config_mistakes_are_one_line(tmp_path, capsys, extra, needle):
    text = (SIM % "t").replace("strategies: [majority_vote]\n", "") + extra
    if "strategies" not in extra:
        text += "strategies: [majority_vote]\n"
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    assert cli.main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err


def test_a_store_failure_is_one_line(tmp_path, capsys):
    cfg = _write(tmp_path, "s.yaml", "t")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 10)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--store", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.db" in err


def test_binary_config_and_corrupt_manifest_name_the_file(tmp_path, capsys):
    bad = tmp_path / "binary.yaml"
    bad.write_bytes(b"\xff\xfe\x00\x01" * 50)
    assert cli.main(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "binary.yaml" in err and "not a text file" in err and len(err.splitlines()) == 1
    cfg = _write(tmp_path, "m.yaml", "t")
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 0
    (tmp_path / "o/manifest.json").write_text("{broken")
    assert cli.main(["report", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "manifest.json" in err and len(err.splitlines()) == 1


def test_a_sweep_writes_partial_results_as_it_goes(tmp_path, monkeypatch):
    from itslab.experiments import config as configs
    from itslab.experiments.rundir import PartialResults

    seen = []
    cfg = configs.parse(
        {
            "task": {"name": "arithmetic", "limit": 4, "difficulty": 1},
            "model": {"backend": "simulated"},
            "strategies": ["majority_vote"],
            "budgets": [1, 2],
        }
    )
    real_add = PartialResults.add

    def add(self, rows):  # write on every unit, and look at the file each time
        self.every_s = 0.0
        real_add(self, rows)
        seen.append(len(__import__("pandas").read_parquet(self.path)))

    monkeypatch.setattr(PartialResults, "add", add)
    d = configs.run_config(cfg, out=str(tmp_path / "r"), progress=False)
    assert seen == [2, 4, 6, 8]  # 2 budgets per unit, written after each of the 4 units
    assert (d / "results.parquet").is_file() and not (d / PartialResults.NAME).exists()
