"""The code sandbox: each hostile program fails cleanly within its limit and leaves no process behind."""

import os
import sys
import time

import pytest

from itslab.types import Problem
from itslab.verifiers import CodeExecution, run_python
from itslab.verifiers.code_execution import extract_code

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox uses Linux rlimits and namespaces")
TIMEOUT = 1.0


def _processes_in_group(pgid: int) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def _children() -> set[int]:
    me = os.getpid()
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        out.add(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


HOSTILE = {
    "infinite loop": ("while True:\n    pass\n", "timeout"),
    "fork bomb": ("import os\nwhile True:\n    os.fork()\n", "forbidden: os.fork"),
    "fork bomb that swallows errors": (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except Exception:\n        pass\n",
        "timeout",
    ),
    "subprocess": ("import subprocess\nsubprocess.run(['sleep', '100'])\n", "forbidden"),
    "10 GB allocation": ("x = bytearray(10 * 1024 ** 3)\n", "memory limit exceeded"),
    "socket": ("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)\n", "forbidden: socket"),
    "write outside the temp dir": ("open('/tmp/itslab-sandbox-escape.txt', 'w').write('x')\n", "forbidden: writing"),
    "relative write after chdir": (
        "import os\nos.chdir('/tmp')\nopen('itslab-sandbox-escape.txt', 'a')\n",
        "forbidden: writing",
    ),
    "remove a system file": ("import os\nos.remove('/etc/hostname')\n", "forbidden: os.remove"),
    "exit before the tests": ("import os\nos._exit(0)\n", "before the tests finished"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_code_fails_cleanly(name):
    code, reason = HOSTILE[name]
    before = _children()
    t0 = time.monotonic()
    r = run_python(code, ["assert True"], timeout=TIMEOUT, memory_mb=512)
    elapsed = time.monotonic() - t0
    assert not r.passed and reason in r.reason, r
    assert elapsed < TIMEOUT + 3.0  # the limit plus process start-up and cleanup
    assert _children() <= before  # no child left running (or unreaped)
    assert _processes_in_group(r.pid) == []  # nor anything in the solution's process group
    assert not os.path.exists("/tmp/itslab-sandbox-escape.txt")


def test_no_process_survives_in_the_group():
    r = run_python("import time\ntime.sleep(100)\n", timeout=0.5)
    assert r.reason.startswith("timeout") and r.pid > 0
    assert _processes_in_group(r.pid) == []


def test_passing_and_failing_solutions():
    ok = run_python("def f(x):\n    return 2 * x\nprint('hi')\n", ["assert f(2) == 4", "assert f(0) == 0"])
    assert ok.passed and ok.reason == "passed" and ok.stdout == "hi\n"
    bad = run_python("def f(x):\n    return x + 2\n", ["assert f(2) == 4", "assert f(3) == 6"])
    assert not bad.passed and bad.reason == "failed test: assert f(3) == 6"
    syn = run_python("def f(:\n", ["assert True"])
    assert not syn.passed and syn.reason.startswith("syntax error in solution")
    err = run_python("raise ValueError('boom')\n")
    assert err.reason == "error in solution: ValueError: boom"
    inside = run_python("open('scratch.txt', 'w').write('x')\n", ["assert open('scratch.txt').read() == 'x'"])
    assert inside.passed


def test_caught_violation_still_fails():
    r = run_python("import socket\ntry:\n    socket.socket()\nexcept OSError:\n    pass\n", ["assert True"])
    assert not r.passed and r.reason == "forbidden: socket.__new__"


def test_code_execution_verifier():
    p = Problem(id="code/sq", prompt="Write sq(x).", meta={"tests": ["assert sq(3) == 9", "assert sq(-2) == 4"]})
    good = "Here:\n```python\ndef sq(x):\n    return x * x\n```"
    bad = "```py\ndef sq(x):\n    return x + x\n```"
    v = CodeExecution(timeout=3.0, workers=2)
    assert v.score(p, [good, bad]) == [(1.0,), (0.0,)]
    assert v.check(p, bad).reason == "failed test: assert sq(3) == 9"
    assert v.cost(p, [good, bad]).verifier_calls == 2
    with pytest.raises(ValueError, match="has no meta\\['tests'\\]"):
        v.score(Problem(id="x", prompt="y"), [good])


def test_extract_code():
    assert extract_code("a\n```python\nx = 1\n```\nb\n```\ny = 2\n```") == "y = 2\n"
    assert extract_code("x = 3") == "x = 3"


def test_bad_limits():
    with pytest.raises(ValueError, match="must be > 0"):
        run_python("pass", timeout=0)
