"""Child side of the code sandbox: run as ``python -I _sandbox_child.py`` inside the sandbox directory.

Reads a JSON job from stdin, confines itself (resource limits, a private network namespace when
the kernel allows it, an audit hook), runs the solution and then its tests, and writes one
result line ``<nonce> <json>`` to stdout. Standalone on purpose: it imports nothing from itslab,
so the solution's interpreter holds as little as possible. See `itslab.verifiers.sandbox` for
what this does and does not protect against.
"""

import json
import os
import resource
import sys


def _limit(which, value):
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass  # e.g. a hard limit already lower: keep it


def _unshare_network():
    """Move into a fresh network namespace (no interfaces, so no network). Needs CAP_SYS_ADMIN or user namespaces."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newnet, clone_newuser = 0x40000000, 0x10000000
        for flags in (clone_newnet, clone_newnet | clone_newuser):
            if libc.unshare(flags) == 0:
                return "namespace"
    except Exception:
        pass
    return "audit-hook"


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_BLOCKED = {
    "socket.__new__",
    "socket.connect",
    "socket.bind",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.sendto",
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.exec",
    "os.system",
    "os.startfile",
    "subprocess.Popen",
    "os.kill",
    "os.killpg",
    "signal.pthread_kill",
    "os.setsid",
    "os.setpgid",
    "ctypes.dlsym",
    "ctypes.call_function",
    "ctypes.cdata",
    "gc.get_referrers",
    "gc.get_objects",
    "sys._current_frames",
}
# ctypes itself may be imported (numpy does), but looking up foreign functions is refused above
_BLOCKED_IMPORTS = {"_posixsubprocess", "_multiprocessing", "multiprocessing"}
_PATH_EVENTS = {  # event -> indices of its path arguments that get written
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
}


def _install_hook(root, violations):
    root = os.path.realpath(root)
    busy = [False]

    def inside(path):
        if isinstance(path, int):
            return True  # an already-open descriptor
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if not isinstance(path, str):
            path = os.fspath(path)
        if path == "/dev/null":
            return True
        real = os.path.realpath(os.path.join(os.getcwd(), path))
        return real == root or real.startswith(root + os.sep)

    def deny(what):
        violations.append(what)
        raise PermissionError(f"sandbox: {what} is not allowed")

    def hook(event, args):
        if busy[0]:
            return
        busy[0] = True
        try:
            if event in _BLOCKED:
                deny(event)
            elif event == "import" and args and args[0] in _BLOCKED_IMPORTS:
                deny(f"import {args[0]}")
            elif event == "open" and len(args) >= 3:
                path, mode, flags = args[0], args[1], args[2]
                writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & _WRITE_FLAGS
                )
                if writes and not inside(path):
                    deny(f"writing {path!r} outside the sandbox directory")
            elif event in _PATH_EVENTS:
                for i in _PATH_EVENTS[event]:
                    if i < len(args) and args[i] is not None and not inside(args[i]):
                        deny(f"{event} on {args[i]!r} outside the sandbox directory")
        finally:
            busy[0] = False

    sys.addaudithook(hook)


def _describe(exc, where):
    if isinstance(exc, MemoryError):
        return "memory limit exceeded"
    if isinstance(exc, RecursionError):
        return f"error in {where}: RecursionError"
    if isinstance(exc, AssertionError):
        return f"failed test{': ' + str(exc) if str(exc) else ''}" if where == "tests" else f"assertion in {where}"
    return f"error in {where}: {type(exc).__name__}: {exc}"[:500]


def main():
    """Read the job, confine this process, run solution then tests, report one result line."""
    job = json.loads(sys.stdin.read())
    nonce, out = job["nonce"], os.dup(1)
    _limit(resource.RLIMIT_AS, job["memory_bytes"])
    _limit(resource.RLIMIT_CPU, job["cpu_seconds"])
    _limit(resource.RLIMIT_FSIZE, job["file_bytes"])
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NPROC, job["max_processes"])  # binds non-root users only
    network = _unshare_network()
    violations = []
    _install_hook(os.getcwd(), violations)
    result = {"status": "fail", "reason": "", "network": network}
    ns = {"__name__": "__main__"}
    stage = "solution"
    try:
        exec(compile(job["code"], "<solution>", "exec"), ns)
        stage = "tests"
        for i, test in enumerate(job["tests"]):
            try:
                exec(compile(test, f"<test {i}>", "exec"), ns)
            except AssertionError as e:
                raise AssertionError(f"{test.strip()[:200]}" + (f" ({e})" if str(e) else "")) from None
        result["status"], result["reason"] = "pass", "passed"
    except SyntaxError as e:
        result["reason"] = f"syntax error in {stage}: {e.msg} (line {e.lineno})"
    except SystemExit as e:
        result["reason"] = f"{stage} called exit({e.code!r}) before the tests finished"
    except BaseException as e:  # noqa: BLE001 - report anything the solution raises
        result["reason"] = _describe(e, stage)
    if violations:  # even when the solution caught the PermissionError and carried on
        result["status"], result["reason"] = "fail", f"forbidden: {violations[0]}"
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a solution may have replaced or closed them
            pass
    os.write(out, ("\n" + nonce + " " + json.dumps(result) + "\n").encode())
    os._exit(0)  # skip interpreter teardown, which could run the solution's finalisers


if __name__ == "__main__":
    main()
