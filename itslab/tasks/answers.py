"""Final-answer extraction, normalisation and equivalence for math benchmarks.

Extraction follows the conventions of the benchmarks' own graders: the last ``\\boxed{...}``
(MATH, Hendrycks et al. 2021, nested braces allowed), ``#### N`` (GSM8K, Cobbe et al. 2021),
"the answer is X" (chain-of-thought prompting, Wei et al. 2022), else the last number in the
text. Normalisation is in the spirit of Hendrycks et al.'s ``strip_string``; equivalence first
compares normalised strings and exact rationals, then asks ``math-verify`` (Hugging Face) for
LaTeX/sympy equivalence (``\\frac{1}{2}`` vs ``0.5``, intervals, sets).

None of these functions raises on any input text: a grader that crashes on one odd sample
would abort a whole scaling run.

>>> extract_answer("so 3 + 4 = 7.\\n#### 7")
'7'
>>> normalize_answer("\\\\$1,000.00")
'1000'
>>> answers_equal("\\\\frac{1}{2}", "0.5")
True
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from fractions import Fraction
from functools import lru_cache
from typing import Any

_BOX = re.compile(r"\\(?:boxed|fbox)")
_HASH = re.compile(r"####\s*([^\n]*)")
_HASH_VALUE = re.compile(r"\s*\**\s*[-+$\\(\[{.\d]")
_ANSWER_IS = re.compile(r"(?:final\s+answer|answer)\s*(?:is|:)\s*:?\s*([^\n]*)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|-?\d+(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|textnormal|operatorname)\s*\{([^{}]*)\}")
_FRAC = re.compile(r"^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$|^(-?)\\frac(\d)(\d)$")
_SLASH_FRAC = re.compile(r"^(-?\d+)/(-?\d+)$")
_UNIT_SUFFIX = re.compile(r"^([+-]?\d[\d,]*(?:\.\d+)?)\s*([A-Za-z][A-Za-z ]{0,30})$")
# "864 \mbox{ inches}^2" (a gold answer of MATH-500): a number, a space, a unit, a square or cube
_UNIT_POWER = re.compile(r"^([+-]?\d[\d,]*(?:\.\d+)?)\s+[A-Za-z]{1,20}\s*\^\s*\{?[23]\}?$")
_SCIENTIFIC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d{1,3}")
# "The answer is 3, not 4." / "5, because ...": the answer ends where a comma starts a clause
_CLAUSE = re.compile(r",\s*(?:not|but|which|since|because|so|as|and then|that)\b", re.IGNORECASE)
_LHS = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=\S)")
# Longest digit string turned into a number; Python refuses str->int conversions past 4300 digits.
_MAX_DIGITS = 200


_BRACE = re.compile(r"[{}]")


def _closing_braces(text: str) -> dict[int, int]:
    """Index of the matching ``}`` for every ``{`` that has one, in one left-to-right pass."""
    opened: list[int] = []
    match: dict[int, int] = {}
    for m in _BRACE.finditer(text):
        k = m.start()
        if text[k] == "{":
            opened.append(k)
        elif opened:
            match[opened.pop()] = k
    return match


def last_boxed(text: str) -> str | None:
    """Content of the last well-formed ``\\boxed{...}`` / ``\\fbox{...}`` in `text` (MATH convention).

    Linear in the length of `text`: brace pairs are matched once for the whole text (rescanning
    to the end for each unclosed ``\\boxed{`` was quadratic on degenerate output).
    """
    boxes = list(_BOX.finditer(text))
    if not boxes:
        return None
    match = _closing_braces(text) if "{" in text else {}
    for m in reversed(boxes):
        k = m.end()
        while k < len(text) and text[k] == " ":
            k += 1
        if k < len(text) and text[k] == "{":
            end = match.get(k)
            if end is not None:
                return text[k + 1 : end].strip()
        elif m.end() < len(text) and text[m.end()] == " ":
            # "\boxed 5" form, as some models write it
            tok = text[k:].split("$", 1)[0].split()
            if tok:
                return tok[0].strip()
    return None


def _strip_wrappers(s: str) -> str:
    s = s.strip()
    for _ in range(3):
        before = s
        s = s.strip().strip("*").strip()  # markdown bold: "The answer is **42**"
        if len(s) >= 2 and s[0] == "$" and s[-1] == "$":
            s = s.strip("$").strip()
        if s.startswith("\\(") and s.endswith("\\)") or s.startswith("\\[") and s.endswith("\\]"):
            s = s[2:-2].strip()
        s = s.rstrip(".!;").strip()
        if s == before:
            break
    return s


def _answer_span(span: str) -> str | None:
    """Clean the text after "the answer is": a short answer, a LaTeX expression, or its first number."""
    boxed = last_boxed(span)
    if boxed is not None:
        return boxed
    m = re.search(r"\.(?:\s|$)", span)  # cut at the end of the sentence, not at a decimal point
    span = span[: m.start()] if m else span
    c = _CLAUSE.search(span)
    s = _strip_wrappers(span[: c.start()] if c else span)
    if not s:
        return None
    words = s.split()
    if len(words) <= 3 or "\\" in s or "$" in s:
        return s
    num = _NUMBER.search(s)
    return num.group(0) if num else s


def extract_answer(text: str) -> str | None:
    """The final answer written in `text`, or None when there is none.

    Precedence: last ``\\boxed{}`` (MATH), last ``#### N`` (GSM8K), last "the answer is X"
    (chain-of-thought prompts), last number. Never raises.
    """
    if not isinstance(text, str) or not text:
        return None
    boxed = last_boxed(text)
    if boxed:
        return boxed
    # "#### N" lines; markdown headings ("#### Step 2: ...") are not answers, so the value must look numeric
    hashes = [m.group(1) for m in _HASH.finditer(text) if _HASH_VALUE.match(m.group(1))]
    if hashes:
        s = _strip_wrappers(hashes[-1])
        if s:
            return s
    spans = [m.group(1) for m in _ANSWER_IS.finditer(text)]
    for span in reversed(spans):
        s = _answer_span(span)
        if s:
            return s
    nums = _NUMBER.findall(text)
    return nums[-1] if nums else None


def _canonical_number(s: str) -> str | None:
    """'027.50' -> '27.5', '+3.0' -> '3', '-0' -> '0'; None if `s` is not a plain decimal number."""
    if _SCIENTIFIC.fullmatch(s):  # "1.5e3" -> "1500", "1e-3" -> "0.001" (exponents of at most 3 digits)
        from decimal import Decimal, InvalidOperation

        try:
            s = format(Decimal(s), "f")
        except InvalidOperation:
            return None
    if not _PLAIN_NUMBER.fullmatch(s) or len(s) > _MAX_DIGITS:
        return None
    sign = "-" if s.startswith("-") else ""
    s = s.lstrip("+-")
    whole, _, frac = s.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    if whole == "0" and not frac:
        sign = ""
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def _canonical_fraction(s: str) -> str | None:
    """'\\frac{6}{8}' / '6/8' -> '3/4', '\\frac{4}{2}' -> '2'; None if `s` is not an integer fraction."""
    m = _FRAC.match(s)
    if m:
        sign = m.group(1) if m.group(2) is not None else m.group(4)
        num, den = (m.group(2), m.group(3)) if m.group(2) is not None else (m.group(5), m.group(6))
    else:
        m = _SLASH_FRAC.match(s)
        if not m:
            return None
        sign, num, den = "", m.group(1), m.group(2)
    if len(num) + len(den) > _MAX_DIGITS or int(den) == 0:
        return None
    f = Fraction(int(num), int(den)) * (-1 if sign else 1)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _clean_latex(s: str) -> str:
    """Light LaTeX cleanup that keeps the expression parseable (spaces kept)."""
    s = s.strip()
    boxed = last_boxed(s)
    if boxed is not None:
        s = boxed
    s = _strip_wrappers(s)
    # a LaTeX row break "\\\\" must survive the "\\ " (spacing) rule below: protect it first
    s = s.replace("\\\\", "\x00")
    for old, new in (
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("\\,", " "),
        ("\\;", " "),
        ("\\:", " "),
        ("\\ ", " "),
        ("\\displaystyle", ""),
        ("dfrac", "frac"),
        ("tfrac", "frac"),
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("\\circ", ""),
        ("\\%", ""),
        ("%", ""),
        ("\\$", ""),
        ("$", ""),
        ("\\dollar", ""),
    ):
        s = s.replace(old, new)
    s = s.replace("\x00", "\\\\")
    for _ in range(3):  # unwrap \text{...} (possibly nested once or twice)
        s2 = _TEXT_CMD.sub(r"\1", s)
        if s2 == s:
            break
        s = s2
    s = _strip_wrappers(s)
    if "=" in s and s.count("=") == 1 and _LHS.match(s):
        s = _LHS.sub("", s, count=1)  # "x = 5" -> "5", as Hendrycks et al.'s strip_string does
    m = _UNIT_SUFFIX.match(s) or _UNIT_POWER.match(s)
    if m:
        s = m.group(1)  # "18 dollars" -> "18", "5 cm" -> "5", "864 inches^2" -> "864"
    return s.strip()


@lru_cache(maxsize=65536)  # pure, and votes re-normalise the same few answers many times
def normalize_answer(s: str) -> str:
    """Canonical string form of an answer, for exact comparison.

    Numbers lose thousands separators, units, ``$`` and ``%``, leading zeros and trailing
    ``.0``; integer fractions are reduced (``\\frac{6}{8}`` and ``6/8`` become ``3/4``);
    LaTeX loses ``\\left``/``\\right``, spacing commands, ``\\text{}``, degree signs and all
    whitespace (as in Hendrycks et al. 2021's ``strip_string``). Never raises.
    """
    if s is None:
        return ""
    try:
        s = re.sub(r"\s+", "", _clean_latex(str(s)))
        if _THOUSANDS.fullmatch(s):
            s = s.replace(",", "")
        for canon in (_canonical_number, _canonical_fraction):
            c = canon(s)
            if c is not None:
                return c
        return s
    except Exception:  # defensive: normalisation must never abort a run
        return str(s).strip()


def _as_fraction(s: str) -> Fraction | None:
    if len(s) > _MAX_DIGITS or not re.fullmatch(r"-?\d+(?:\.\d+)?(?:/\d+)?", s):
        return None
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


class _DropTimeoutNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


@lru_cache(maxsize=1)
def _quiet_timeout_notice() -> None:
    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_DropTimeoutNotice())


# A power tower (a^{b^{c}}) or a huge exponent makes sympy evaluate numbers with millions of digits:
# such answers are refused before sympy sees them (no gold answer of a benchmark looks like this).
_POWER_TOWER = re.compile(r"\^\s*\{?[^{}^]*\^\s*\{?[^{}^]*\^")
_BIG_EXPONENT = re.compile(r"\^\s*\{?\s*\d{4,}|\*\*\s*\d{4,}|\de\+?\d{4,}", re.IGNORECASE)
SYMBOLIC_TIMEOUT_S = 5.0  # CPU seconds
_WALL_BACKSTOP = 6  # a worker's wall-clock wait, in multiples of the CPU limit


class _OutOfCpuTime(BaseException):
    """Raised by the CPU-time limit; a BaseException so that math-verify's own `except Exception`
    cannot swallow it and carry on unlimited."""


@contextmanager
def _cpu_time_limit(seconds: float) -> Iterator[None]:
    """Raise `_OutOfCpuTime` once this process has spent `seconds` of CPU time (main thread only).

    CPU time, not wall time: math-verify's own timeouts are `signal.alarm` wall clocks, so on a
    loaded machine an ordinary answer ran past them and was graded wrong (and the alarm, landing in
    a garbage-collector callback, failed a CI run). A pathological answer still burns its CPU
    seconds however busy the machine is, so it is cut off all the same."""
    import signal

    def _stop(signum: int, frame: Any) -> None:
        raise _OutOfCpuTime

    previous = signal.signal(signal.SIGPROF, _stop)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _symbolic_equal_here(pred: str, gold: str) -> bool:
    """math-verify equivalence in this thread (gold first: its `verify` is asymmetric); False on any failure.

    Bounded by `SYMBOLIC_TIMEOUT_S` CPU seconds on the main thread; signals reach only the main
    thread, so `_symbolic_equal` sends other threads' calls to a guarded worker process instead.
    """
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - math-verify is a core dependency
        return False
    _quiet_timeout_notice()
    on_main = threading.current_thread() is threading.main_thread()
    try:
        with _cpu_time_limit(SYMBOLIC_TIMEOUT_S) if on_main else nullcontext():
            g = parse(f"${gold}$", parsing_timeout=None)
            p = parse(f"${pred}$", parsing_timeout=None)
            return bool(g and p and verify(g, p, timeout_seconds=None))
    except BaseException as e:  # noqa: BLE001 - sympy can raise anything; KeyboardInterrupt passes
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return False


def serve_symbolic() -> None:
    """Worker loop (`python -c "...serve_symbolic()"`): JSON lines [pred, gold] in, true/false out,
    answered on the worker's main thread, where the CPU-time limit works."""
    import json
    import sys

    for line in sys.stdin:
        pred, gold = json.loads(line)
        sys.stdout.write("1\n" if _symbolic_equal_here(pred, gold) else "0\n")
        sys.stdout.flush()


class _SymbolicWorker:
    """A child process that runs math-verify for non-main threads; killed and restarted when a call
    overruns its time (that call then counts as not equal). Calls are serialised. A plain
    subprocess, not multiprocessing: spawn would re-run an unguarded user script's top level."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: Any = None
        self._warm = False
        self._registered = False

    def _start(self) -> None:
        import subprocess
        import sys

        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from itslab.tasks.answers import serve_symbolic; serve_symbolic()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self._warm = False
        if not self._registered:  # end the worker with the interpreter (no stray process, no warning)
            import atexit

            atexit.register(self._stop_locked)
            self._registered = True

    def _stop_locked(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            for f in (self._proc.stdin, self._proc.stdout):
                f.close()
        self._proc = None

    def equal(self, pred: str, gold: str, timeout: float) -> bool:
        import json
        import select

        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._stop()
                self._start()
            try:
                self._proc.stdin.write(json.dumps([pred, gold]) + "\n")
                self._proc.stdin.flush()
                # The worker limits its own CPU time and answers 0 on overrun; this wall-clock wait is
                # only a backstop for a worker stuck in C code, so it is generous (a loaded machine is
                # slow, not wrong). The first call also waits for the worker's imports.
                wait = _WALL_BACKSTOP * timeout + (0 if self._warm else 30)
                ready, _, _ = select.select([self._proc.stdout], [], [], wait)
                if ready:
                    line = self._proc.stdout.readline()
                    if line:
                        self._warm = True
                        return line.strip() == "1"
            except (OSError, ValueError):
                pass
            self._stop()
            return False


_WORKER = _SymbolicWorker()


@lru_cache(maxsize=65536)
def _symbolic_equal(pred: str, gold: str) -> bool:
    """math-verify equivalence, bounded in time on every thread; False on any failure or overrun."""
    if _POWER_TOWER.search(pred + " " + gold) or _BIG_EXPONENT.search(pred + " " + gold):
        return False
    if threading.current_thread() is threading.main_thread():
        return _symbolic_equal_here(pred, gold)
    return _WORKER.equal(pred, gold, SYMBOLIC_TIMEOUT_S)


def answers_equal(pred: str | None, gold: str | None, *, symbolic: bool = True) -> bool:
    """Whether answer `pred` equals gold answer `gold`.

    Normalised strings first, then exact rationals (``0.5`` vs ``1/2``), then (when
    `symbolic`) math-verify LaTeX/sympy equivalence on the lightly cleaned strings. Never raises.
    """
    if pred is None or gold is None:
        return False
    try:
        a, b = normalize_answer(pred), normalize_answer(gold)
        if not a or not b:
            return False
        if a == b:
            return True
        fa, fb = _as_fraction(a), _as_fraction(b)
        if fa is not None and fb is not None:
            return fa == fb
        if "\\" not in a + b and not re.search(r"\d", a + b) and a.lower() == b.lower():
            return True  # plain words: "Evelyn" vs "evelyn"
        if not symbolic:
            return False
        return _symbolic_equal(_clean_latex(str(pred)), _clean_latex(str(gold)))
    except Exception:  # defensive: the grader must never abort a run
        return False
