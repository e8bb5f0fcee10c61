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
from fractions import Fraction
from functools import lru_cache

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
_LHS = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=\S)")
# Longest digit string turned into a number; Python refuses str->int conversions past 4300 digits.
_MAX_DIGITS = 200


def _braced(text: str, start: int) -> str | None:
    """Content of the brace group opening at ``text[start] == '{'`` (nested), None if unbalanced."""
    depth = 0
    for k in range(start, len(text)):
        c = text[k]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:k]
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last well-formed ``\\boxed{...}`` / ``\\fbox{...}`` in `text` (MATH convention)."""
    for m in reversed(list(_BOX.finditer(text))):
        k = m.end()
        while k < len(text) and text[k] == " ":
            k += 1
        if k < len(text) and text[k] == "{":
            inner = _braced(text, k)
            if inner is not None:
                return inner.strip()
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
    s = _strip_wrappers(span[:m.start()] if m else span)
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
    for old, new in (("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", " "), ("\\;", " "),
                     ("\\:", " "), ("\\ ", " "), ("\\displaystyle", ""), ("dfrac", "frac"),
                     ("tfrac", "frac"), ("^{\\circ}", ""), ("^\\circ", ""), ("\\circ", ""),
                     ("\\%", ""), ("%", ""), ("\\$", ""), ("$", ""), ("\\dollar", "")):
        s = s.replace(old, new)
    for _ in range(3):  # unwrap \text{...} (possibly nested once or twice)
        s2 = _TEXT_CMD.sub(r"\1", s)
        if s2 == s:
            break
        s = s2
    s = _strip_wrappers(s)
    if "=" in s and s.count("=") == 1 and _LHS.match(s):
        s = _LHS.sub("", s, count=1)  # "x = 5" -> "5", as Hendrycks et al.'s strip_string does
    m = _UNIT_SUFFIX.match(s)
    if m:
        s = m.group(1)  # "18 dollars" -> "18", "5 cm" -> "5"
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


@lru_cache(maxsize=65536)
def _symbolic_equal(pred: str, gold: str) -> bool:
    """math-verify equivalence (gold first: its `verify` is asymmetric); False on any failure."""
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - math-verify is a core dependency
        return False
    # math-verify times out with signal.alarm, which only works in the main thread; elsewhere (the
    # runner's batch_units threads) it runs without one, and we say so once, not on every call
    t = 5 if threading.current_thread() is threading.main_thread() else None
    _quiet_timeout_notice()
    try:
        g = parse(f"${gold}$", parsing_timeout=t)
        p = parse(f"${pred}$", parsing_timeout=t)
        return bool(g and p and verify(g, p, timeout_seconds=t))
    except BaseException as e:  # noqa: BLE001 - sympy can raise anything; KeyboardInterrupt passes
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return False


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
