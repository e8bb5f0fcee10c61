"""The notebook runner's guard against a missed zmq wake-up (notebooks/conftest.py, issue #23 item 3).

The stall: the kernel's reply sat in the client's socket while the client's asyncio poll waited
for a wake-up that never came, until the cell timeout. Here the wake-up is dropped on purpose;
the unguarded `get_msg` then waits forever (the test's 20 s hang guard fails it), the guarded one
finds the message at its next slice.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

GUARD = Path(__file__).parents[1] / "notebooks" / "conftest.py"


def _load_guard(monkeypatch):
    # saved first, so that the class gets its own get_msg back after the test
    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", AsyncZMQSocketChannel.get_msg)
    spec = importlib.util.spec_from_file_location("notebooks_conftest_under_test", GUARD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # installs the guard on the class
    return module


async def _reply_with_dropped_wakeup(monkeypatch) -> dict:
    original_add = zmq.asyncio.Socket._add_recv_event

    def drop_poll_wakeups(self, kind, *args, **kwargs):
        if kind == "poll":  # the poll's watcher is never resolved by the socket: a missed edge
            return None
        return original_add(self, kind, *args, **kwargs)

    monkeypatch.setattr(zmq.asyncio.Socket, "_add_recv_event", drop_poll_wakeups)
    ctx = zmq.asyncio.Context()
    client, kernel = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    try:
        port = client.bind_to_random_port("tcp://127.0.0.1")
        kernel.connect(f"tcp://127.0.0.1:{port}")
        session = Session(key=b"k")
        channel = AsyncZMQSocketChannel(client, session)
        session.send(kernel, "execute_reply", content={"status": "ok"})
        return await asyncio.wait_for(channel.get_msg(timeout=None), timeout=20)  # a hang guard, not a speed check
    finally:
        client.close(linger=0)
        kernel.close(linger=0)
        ctx.term()


def test_the_guarded_client_gets_a_reply_whose_wakeup_was_lost(monkeypatch):
    guard = _load_guard(monkeypatch)
    msg = asyncio.run(_reply_with_dropped_wakeup(monkeypatch))
    assert msg["msg_type"] == "execute_reply" and msg["content"]["status"] == "ok"
    assert guard._found_by_timer == 1  # found by the slice's re-poll, and counted


@pytest.mark.slow
def test_without_the_guard_a_lost_wakeup_hangs(monkeypatch):
    """Documents the failure mode the guard exists for (20 s)."""
    with pytest.raises(TimeoutError):
        asyncio.run(_reply_with_dropped_wakeup(monkeypatch))
