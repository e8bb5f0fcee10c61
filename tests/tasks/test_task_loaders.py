"""Benchmark loaders on the shared data, on malformed files, and the hub fallback (faked)."""

import os
import sys
import types
from pathlib import Path

import pytest

from itslab import tasks
from itslab.tasks import DataError, load

DATA = os.environ.get("ITSLAB_DATA_DIR")
needs_data = pytest.mark.skipif(not DATA or not Path(DATA, "gsm8k").is_dir(), reason="no ITSLAB_DATA_DIR")


@needs_data
@pytest.mark.parametrize("name,count", [("gsm8k", 1319), ("math500", 500), ("aime24", 30), ("amc23", 40)])
def test_counts_on_shared_data(name, count):
    ps = load(name)
    assert len(ps) == count
    assert len({p.id for p in ps}) == count
    assert ps[12].id == f"{name}/test/12"
    for p in ps:
        assert p.answer and p.meta["source"] == name and p.meta["question"].strip() in p.prompt
        assert p.messages[-1]["role"] == "user" and p.meta["question"].strip() in p.messages[-1]["content"]
        assert 1 <= p.meta["difficulty"] and p.meta["subject"]


@needs_data
def test_fields_per_benchmark():
    g = load("gsm8k", limit=1)[0]
    assert g.answer == "18" and "####" in g.prompt and "<<" not in g.meta["solution"]
    m = load("math500")
    assert {p.meta["difficulty"] for p in m} == {1, 2, 3, 4, 5}
    assert m[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)" and "\\boxed{}" in m[0].prompt
    aime = load("aime24")
    assert aime[7].answer == "25"  # "025" in the file: leading zeros normalised
    by_number = {p.meta["problem_number"]: p.meta["difficulty"] for p in aime}
    assert by_number[1] == 1 and by_number[15] == 5  # problems get harder with their number
    amc = load("amc23")
    assert amc[0].answer == "27"  # 27.0 in the file
    assert {p.meta["difficulty"] for p in amc} <= {1, 2, 3, 4, 5}


@needs_data
def test_limit_and_train_split():
    assert len(load("gsm8k", "train", limit=5)) == 5
    assert load("gsm8k", limit=0) == []
    with pytest.raises(FileNotFoundError, match="split 'dev'"):
        load("gsm8k", "dev")


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    d = tmp_path / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "test.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_malformed_json_names_file_and_line(tmp_path):
    root = _write(tmp_path, "gsm8k", ['{"question": "q1", "answer": "x\\n#### 1"}', "", '{"question": "q2", "answ'])
    with pytest.raises(DataError, match=r"gsm8k/test\.jsonl:3: invalid JSON"):
        load("gsm8k", data_dir=root)


def test_missing_answer_is_reported_not_dropped(tmp_path):
    root = _write(tmp_path, "math500", ['{"problem": "p", "answer": "1", "level": 1}', '{"problem": "p2", "level": 2}'])
    with pytest.raises(DataError, match=r"math500/test\.jsonl:2: row has no 'answer' field"):
        load("math500", data_dir=root)


def test_gsm8k_without_final_line_is_reported(tmp_path):
    root = _write(tmp_path, "gsm8k", ['{"question": "q", "answer": "no final line"}'])
    with pytest.raises(DataError, match=r":1: GSM8K 'answer' field has no final '#### N' line"):
        load("gsm8k", data_dir=root)


def test_non_object_row(tmp_path):
    root = _write(tmp_path, "amc23", ["[1, 2]"])
    with pytest.raises(DataError, match=r":1: expected a JSON object"):
        load("amc23", data_dir=root)


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown task 'gsm9k'"):
        load("gsm9k")


def test_no_data_dir_and_no_datasets_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ITSLAB_DATA_DIR", raising=False)
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(RuntimeError, match="ITSLAB_DATA_DIR is not set and the `datasets` package is not installed"):
        load("aime24")


def test_hub_fallback_through_datasets(monkeypatch):
    calls = []

    def load_dataset(repo, config, split):
        calls.append((repo, config, split))
        return [{"id": 60, "problem": "Find x.", "answer": "025", "url": ".../2024_AIME_I_Problems/Problem_4"}]

    monkeypatch.delenv("ITSLAB_DATA_DIR", raising=False)
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    ps = load("aime24")
    assert calls == [("HuggingFaceH4/aime_2024", None, "train")]
    assert ps[0].answer == "25" and ps[0].meta["difficulty"] == 2 and ps[0].id == "aime24/test/0"


def test_hub_errors_say_what_was_tried(monkeypatch):
    def load_dataset(repo, config, split):
        raise ConnectionError("offline")

    monkeypatch.delenv("ITSLAB_DATA_DIR", raising=False)
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(RuntimeError, match=r"openai/gsm8k.*ConnectionError: offline.*ITSLAB_DATA_DIR"):
        load("gsm8k")


def test_synthetic_through_load():
    ps = tasks.load("arithmetic", limit=4, difficulty=2, seed=3)
    assert len(ps) == 4 and all(p.meta["difficulty"] == 2 for p in ps)
    with pytest.raises(TypeError, match="a benchmark takes no options"):
        tasks.load("gsm8k", difficulty=2)
