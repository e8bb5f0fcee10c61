"""The browser test's own parts, without a browser: kernel message decoding, error spotting, pixel diffs."""

from __future__ import annotations

import json
from io import BytesIO

import nbformat
import pytest
from lab_server import FIXTURES, lab_command
from notebook_page import changed_pixels, decode_frame, kernel_problem
from PIL import Image


def _msg(msg_type: str, parent_type: str, content: dict) -> dict:
    return {
        "header": {"msg_type": msg_type},
        "parent_header": {"msg_type": parent_type},
        "metadata": {},
        "content": content,
    }


def test_decode_both_websocket_protocols():
    from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

    msg = _msg("error", "comm_msg", {"ename": "RuntimeError", "evalue": "boom", "traceback": []})
    v1 = serialize_msg_to_ws_v1(
        [json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")], "iopub"
    )
    legacy = json.dumps({**msg, "channel": "iopub"})
    for frame in (v1, legacy):
        m = decode_frame(frame)
        assert m is not None and (m.channel, m.msg_type, m.parent_type) == ("iopub", "error", "comm_msg")
        assert kernel_problem(m) == "RuntimeError: boom (raised in a widget callback)"
    assert decode_frame(json.dumps({"event": "not a kernel message"})) is None


@pytest.mark.parametrize(
    "msg_type, content, problem",
    [
        ("stream", {"name": "stderr", "text": "Traceback (most recent call last):\n  ...\nValueError: x\n"}, True),
        ("stream", {"name": "stderr", "text": "UserWarning: something\n"}, False),  # a warning is no error
        ("stream", {"name": "stdout", "text": "Traceback (most recent call last): printed on purpose"}, False),
        ("status", {"execution_state": "idle"}, False),
    ],
)
def test_kernel_problem(msg_type, content, problem):
    m = decode_frame(json.dumps({**_msg(msg_type, "execute_request", content), "channel": "iopub"}))
    assert m is not None and (kernel_problem(m) is not None) == problem


def _png(color: str, size=(20, 10), dot: tuple[int, int] | None = None) -> bytes:
    im = Image.new("RGB", size, color)
    if dot:
        im.putpixel(dot, (0, 0, 0))
    buf = BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_changed_pixels():
    assert changed_pixels(_png("white"), _png("white")) == (0, 200)
    assert changed_pixels(_png("white"), _png("white", dot=(3, 4))) == (1, 200)
    assert changed_pixels(_png("white"), _png("white", size=(20, 11))) == (220, 220)


def test_lab_listens_on_loopback_with_its_token(tmp_path):
    cmd = lab_command(tmp_path, 1234, "abc")
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--ServerApp.port=1234" in cmd and "--no-browser" in cmd
    assert "--IdentityProvider.token=abc" in cmd and "--ServerApp.port_retries=0" in cmd


def test_fixtures_are_output_free():
    paths = sorted(FIXTURES.glob("*.ipynb"))
    assert [p.stem for p in paths] == ["broken_callback", "static_plot", "working_slider"]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name
