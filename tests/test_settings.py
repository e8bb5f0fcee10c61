import pytest

from itslab import settings as config


def test_mode(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ITSLAB_MODE", raising=False)
    assert config.mode() == "full"
    monkeypatch.setenv("CI", "true")
    assert config.mode() == "smoke"
    monkeypatch.setenv("ITSLAB_MODE", "full")
    assert config.mode() == "full"
    monkeypatch.delenv("CI")
    monkeypatch.setenv("ITSLAB_MODE", "smoke")
    assert config.mode() == "smoke"
    monkeypatch.setenv("ITSLAB_MODE", "fast")
    with pytest.raises(ValueError, match="ITSLAB_MODE"):
        config.mode()


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("ITSLAB_DATA_DIR", str(tmp_path))
    assert config.data_dir() == tmp_path
    monkeypatch.setenv("ITSLAB_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="missing"):
        config.data_dir()
    monkeypatch.delenv("ITSLAB_DATA_DIR")
    assert config.data_dir() is None


@pytest.mark.parametrize("value, disable", [("", None), ("auto", None), ("1", False), ("0", True), ("on", False)])
def test_progress_bars_follow_itslab_progress(monkeypatch, value, disable):
    from itslab.settings import progress_disable

    monkeypatch.setenv("ITSLAB_PROGRESS", value)
    assert progress_disable() is disable


def test_a_bad_itslab_progress_is_named(monkeypatch):
    from itslab.settings import progress_disable

    monkeypatch.setenv("ITSLAB_PROGRESS", "maybe")
    with pytest.raises(ValueError, match="ITSLAB_PROGRESS"):
        progress_disable()
