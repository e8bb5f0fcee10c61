"""Fixtures for the browser tests: Debian's Chromium, one JupyterLab server per session, a page per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_server import FIXTURES, NOTEBOOKS, SHOTS, LabServer

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")  # Debian's binary, then its launcher


def chromium_path() -> str | None:
    """``ITSLAB_CHROMIUM``, else Debian's Chromium, else whatever ``chromium`` is on PATH."""
    env = os.environ.get("ITSLAB_CHROMIUM")
    if env:
        return env
    return next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None) or shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.fail("no Chromium: `make chromium` installs Debian's (apt-get install chromium), or set ITSLAB_CHROMIUM")
    return path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab over copies of notebooks/ (fixtures under fixtures/), kernels in smoke mode."""
    root = tmp_path_factory.mktemp("lab-root")
    for nb in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    shutil.copytree(FIXTURES, root / "fixtures")
    server = LabServer(root, tmp_path_factory.mktemp("lab-home"), env={"ITSLAB_MODE": "smoke"}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright's own browser download needs the internet; Debian's Chromium does not
        b = pw.chromium.launch(executable_path=chromium, args=["--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)  # one action (a click, a screenshot) under CPU load
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
