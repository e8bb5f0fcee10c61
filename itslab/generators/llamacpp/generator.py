"""llama.cpp in-process: `LlamaCppGenerator`, batched seeded sampling of GGUF models with prefix caching.

Built on llama-cpp-python's low-level API (one sequence id per sample, prefix KV shared by
``llama_memory_seq_cp``, finished sequences kept in slots for the next step); accounting,
sampling and stop strings follow the shared backend conventions (architecture.md, "Backends").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from itslab.generators.common import empty_completions, find_stop, validate_requests
from itslab.generators.llamacpp.kv import SeqSlots, common_prefix
from itslab.generators.llamacpp.model import LlamaModel, requantized
from itslab.generators.llamacpp.sampling import RowSampling, sample_rows
from itslab.rng import sample_uniforms
from itslab.types import Completion, Request


@dataclass(eq=False)
class _Row:
    """Mutable state of one sample while it is decoded."""

    i: int
    j: int
    slot: int
    prompt_len: int
    max_tokens: int
    stops: tuple[bytes, ...]
    sampling: RowSampling
    uniforms: np.ndarray
    cached: int
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    text: bytes = b""
    finish: str | None = None
    stop: str | None = None
    judge: str = ""  # the follow-up prompt read after the sample (`FollowUp`), while it is read
    judge_ids: list[int] = field(default_factory=list)
    judge_at: int = 0  # position of the next follow-up token to read

    def push(self, tok: int, lp: float, is_eog: bool, piece: bytes) -> None:
        self.tokens.append(tok)
        self.logprobs.append(lp)
        if is_eog:
            self.finish = "stop"
            return
        before = len(self.text)
        self.text += piece
        hit = find_stop(self.text, self.stops, before)  # a new match must end inside the new piece
        if hit is not None:
            self.text, self.finish, self.stop = self.text[: hit[0]], "stop", hit[1].decode("utf-8")
        elif len(self.tokens) >= self.max_tokens:
            self.finish = "length"


class FollowUp(Protocol):
    """A prompt read right after a sample ends, while its row is still in the batch: the sample's
    tokens are in the KV cache then, so only the new turn is read, in the same decode steps as the
    rows still sampling (`SelfEvaluation(in_batch=True)` is one)."""

    reserve: int  # the most tokens one follow-up may read; a longer one is skipped (read later, outside)

    def follow_up_prompt(self, prefix: str, text: str) -> str | None:
        """The prompt to read after a sample of `prefix` that wrote `text` (None: nothing to read)."""
        ...

    def take(self, prompt: str, logprobs: np.ndarray) -> None:
        """Receive the log-softmax over the vocabulary of the token after `prompt`."""
        ...


class LlamaCppGenerator:
    """llama.cpp backend: batched seeded sampling, logprobs, stop strings, prefix caching.

    `model` is a registry name (``"smollm2-135m"``, fetched on first use) or a ``.gguf`` path.
    ``n_ctx`` is the KV cache size in tokens, shared by all sequences (cached ones included);
    ``max_batch`` caps the samples decoded together; ``n_seq_max`` the sequence slots (batch rows
    plus cached sequences, at most 256). ``cache_samples=False`` drops finished samples instead
    of caching them (pure best-of-N gains nothing from them). ``cache_tokens`` caps the tokens
    cached sequences hold (default ``n_ctx // 2``; least recently used go first): every decode
    step scans every KV cell in use, so an unbounded cache slows all later batches; before a
    batch is decoded, cached sequences make room for its worst case. ``weights="q8_0"`` (or "q4_0",
    "f16") converts the GGUF once to a type llama.cpp batches well on CPU (`requantized`);
    the model id then says so, as the samples differ slightly.
    """

    def __init__(
        self,
        model: str | Path = "smollm2-135m",
        *,
        n_ctx: int = 8192,
        n_batch: int = 512,
        max_batch: int = 32,
        n_seq_max: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        cache_samples: bool = True,
        cache_tokens: int | None = None,
        weights: str | None = None,
        model_id: str | None = None,
        verbose: bool = False,
    ) -> None:
        if max_batch < 1 or n_ctx < 16 or n_batch < 1:
            raise ValueError(
                f"LlamaCppGenerator: need max_batch >= 1, n_ctx >= 16, n_batch >= 1; got "
                f"max_batch={max_batch}, n_ctx={n_ctx}, n_batch={n_batch}"
            )
        n_seq_max = n_seq_max or min(256, 4 * max_batch)
        if not 2 * max_batch <= n_seq_max <= 256:
            raise ValueError(
                f"LlamaCppGenerator.n_seq_max must lie in [2*max_batch, 256] = [{2 * max_batch}, 256], got {n_seq_max}"
            )
        path = Path(model)
        if path.suffix != ".gguf" and not path.is_file():
            from itslab.models import gguf_path

            path = gguf_path(str(model))
        name = str(model) if path != Path(model) else path.stem
        if weights is not None:
            path, name = requantized(path, weights), f"{name}@{weights}"
        # one decode step feeds a token per batch row, so a batch holds at least max_batch tokens
        self.llm = LlamaModel(
            path,
            n_ctx=n_ctx,
            n_batch=max(n_batch, max_batch),
            n_seq_max=n_seq_max,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            verbose=verbose,
        )
        cache_tokens = self.llm.n_ctx // 2 if cache_tokens is None else cache_tokens
        if not 0 <= cache_tokens <= self.llm.n_ctx:
            raise ValueError(
                f"LlamaCppGenerator.cache_tokens must lie in [0, n_ctx={self.llm.n_ctx}], got {cache_tokens}"
            )
        self.slots = SeqSlots(self.llm.lib, self.llm.memory, n_seq_max, cache_tokens)
        self.n_ctx, self.max_batch, self.cache_samples = self.llm.n_ctx, max_batch, cache_samples
        self._lock = threading.Lock()
        self.path = path
        self.model_id = model_id or name
        self.n_params = self.llm.n_params
        self.follow_up: FollowUp | None = None

    def attach_follow_up(self, hook: FollowUp | None) -> None:
        """Read `hook`'s prompt after every sample from now on, in the batch (None detaches; one at a time)."""
        self.follow_up = hook

    # -- tokens and text -----------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of a prefix: special tokens in the text parsed, BOS added where the model wants it."""
        return self.llm.tokenize(text, add_special=True) or [self.llm.start_token()]

    def encode_plain(self, text: str) -> list[int]:
        """Token ids of `text` without BOS (for continuations)."""
        return self.llm.tokenize(text, add_special=False)

    def count_tokens(self, text: str) -> int:
        """Exact token length of a prefix (what `n_prompt_tokens` will report)."""
        return len(self.encode(text))

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text of token ids (special tokens render as nothing)."""
        return self.llm.detokenize(ids)

    def chat_prompt(self, messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True) -> str:
        """Prompt text from chat messages via the GGUF's chat template (e.g. ChatML for SmolLM2)."""
        return self.llm.chat_prompt(messages, add_generation_prompt)

    def format_prompt(self, problem: Any) -> str:
        """The text prefix for a `Problem` through the model's chat template (as `HFGenerator.format_prompt`)."""
        return self.chat_prompt(problem.messages or ({"role": "user", "content": problem.prompt},))

    def _read_prefix(self, ids: list[int], out_from: int) -> tuple[int, int, np.ndarray]:
        """Slot holding `ids` (cache hit shared, rest read), tokens served from cache, and the
        logits at positions ``out_from ..``."""
        slot = self.slots.acquire()  # first: acquiring may evict, and must not evict the match
        src, m = self.slots.match(np.asarray(ids, np.int32), limit=min(len(ids) - 1, out_from))
        if src is not None:
            self.slots.copy(src, slot, m)
        return slot, m, self.llm.prefill(ids, slot, m, out_from, self.slots.evict_one)

    # -- Generator protocol --------------------------------------------------------------
    def generate(self, requests: Sequence[Request], *, ignore_eos: bool = False) -> list[list[Completion]]:
        """Sample ``requests[i].n`` continuations of each prefix (accounting: architecture.md, "Backends").

        ``ignore_eos=True`` keeps sampling past end-of-sequence (for fixed-length benchmarks).
        """
        validate_requests(requests)
        with self._lock:
            ids = [self.encode(r.prefix) for r in requests]
            out: list[list[Any]] = [[None] * r.n for r in requests]
            groups: list[list[tuple[int, int, int]]] = [[]]
            rows = cells = 0
            for i, r in enumerate(requests):
                if r.max_tokens == 0:
                    out[i] = empty_completions(r)
                    continue
                row_cells = r.max_tokens + (self.follow_up.reserve if self.follow_up is not None else 0)
                fit = (self.n_ctx - len(ids[i])) // row_cells
                if fit < 1:
                    raise ValueError(
                        f"requests[{i}]: prefix of {len(ids[i])} tokens + max_tokens="
                        f"{r.max_tokens} exceeds the KV cache (n_ctx={self.n_ctx})"
                    )
                step = min(self.max_batch, fit)
                for j0 in range(0, r.n, step):
                    j1 = min(r.n, j0 + step)
                    need = len(ids[i]) + (j1 - j0) * row_cells
                    if groups[-1] and (rows + j1 - j0 > self.max_batch or cells + need > self.n_ctx):
                        groups.append([])
                        rows = cells = 0
                    groups[-1].append((i, j0, j1))
                    rows, cells = rows + j1 - j0, cells + need
            eog = np.zeros_like(self.llm.eog) if ignore_eos else self.llm.eog
            for g in groups:
                if g:
                    self._run_group(g, requests, ids, out, eog)
            return out

    def _run_group(
        self,
        units: list[tuple[int, int, int]],
        requests: Sequence[Request],
        ids: list[list[int]],
        out: list[list[Any]],
        eog: np.ndarray,
    ) -> None:
        # slots are taken lazily: each acquisition evicts the least recently used cached sequence
        # only when no slot is free, so a prefix matched a moment ago survives until it is copied
        prefix: dict[int, tuple[int, int, np.ndarray]] = {}
        rows: list[_Row] = []
        first: set[int] = set()
        for i, j0, j1 in units:
            r, n_ids = requests[i], len(ids[i])
            if i not in prefix:
                slot, m, lg = self._read_prefix(ids[i], n_ids - 1)
                prefix[i] = (slot, m, lg[-1])
            slot, m, _ = prefix[i]
            stops = tuple(s.encode("utf-8") for s in r.stop if s)
            sampling = RowSampling(r.temperature, r.top_p, r.top_k or 0)
            for j in range(j0, j1):
                row_slot = self.slots.acquire()
                self.slots.copy(slot, row_slot, n_ids)
                cached = n_ids if i in first else m  # the prefix was read once for the group
                first.add(i)
                rows.append(
                    _Row(
                        i,
                        j,
                        row_slot,
                        n_ids,
                        r.max_tokens,
                        stops,
                        sampling,
                        sample_uniforms(r.seed, j, r.max_tokens),
                        cached,
                    )
                )
        for i, (slot, _, _) in prefix.items():
            self.slots.keep(slot, ids[i])
        # free the cells the rows may grow into now, least recently used first, rather than when a
        # decode finds the cache full (a failed llama_decode, a warning and one eviction per retry)
        reserve = self.follow_up.reserve if self.follow_up is not None else 0
        self.slots.make_room(max(0, self.n_ctx - sum(w.max_tokens + reserve for w in rows)))
        self._decode_rows(rows, np.stack([prefix[w.i][2] for w in rows]), requests, ids, eog)
        for w in rows:
            out[w.i][w.j] = Completion(
                text=w.text.decode("utf-8", errors="replace"),
                n_tokens=len(w.tokens),
                n_prompt_tokens=w.prompt_len,
                n_cached_tokens=w.cached,
                token_ids=tuple(w.tokens),
                logprobs=tuple(w.logprobs),
                finish_reason=w.finish or "length",
                seed=requests[w.i].seed,
                meta={"index": w.j, "stop": w.stop},
            )

    def _decode_rows(
        self, rows: list[_Row], logits: np.ndarray, requests: Sequence[Request], ids: list[list[int]], eog: np.ndarray
    ) -> None:
        """Sample every row to its end: one token per live row per ``llama_decode``; a finished row
        then reads the follow-up prompt (`FollowUp`), if one is attached, in the same decode steps."""
        live, judging, hook = rows, [], self.follow_up
        while True:
            if live:
                u = np.array([w.uniforms[len(w.tokens)] for w in live])
                toks, lps = sample_rows(logits[: len(live)], [w.sampling for w in live], u)
                still = []
                for w, t, lp in zip(live, toks.tolist(), lps.tolist()):
                    w.push(t, lp, bool(eog[t]), self.llm.pieces[t])
                    if w.finish is None:
                        still.append(w)
                    elif hook is not None and self._start_follow_up(w, hook, requests[w.i].prefix, ids[w.i]):
                        judging.append(w)
                    elif self.cache_samples:  # all but the last token are in the KV cache
                        self.slots.keep(w.slot, ids[w.i] + w.tokens[:-1])
                    else:
                        self.slots.release(w.slot)
                live = still
            if not live and not judging:
                return
            for k, w in enumerate(live):
                self.llm.put(k, w.tokens[-1], w.prompt_len + len(w.tokens) - 1, w.slot, True)
            k, read = len(live), []
            for w in judging:  # as much of the follow-ups as the batch has room for, oldest first
                take = min(self.llm.n_batch - k, len(w.judge_ids) - w.judge_at)
                for p in range(w.judge_at, w.judge_at + take):
                    self.llm.put(k, w.judge_ids[p], p, w.slot, p == len(w.judge_ids) - 1)
                    k += 1
                w.judge_at += take
                if w.judge_at == len(w.judge_ids):
                    read.append(w)
            self.llm.decode(k, self.slots.evict_one)
            logits = self.llm.logits(len(live) + len(read))
            for w, z in zip(read, logits[len(live) :]):  # outputs come in batch order: live rows first
                z = z.astype(np.float64)
                hook.take(w.judge, z - (z.max() + np.log(np.exp(z - z.max()).sum())))  # type: ignore[union-attr]
                if self.cache_samples:
                    self.slots.keep(w.slot, w.judge_ids)
                else:
                    self.slots.release(w.slot)
            judging = [w for w in judging if w.judge_at < len(w.judge_ids)]

    def _start_follow_up(self, w: _Row, hook: FollowUp, prefix: str, prompt_ids: list[int]) -> bool:
        """Set row `w` up to read `hook`'s follow-up prompt: keep the KV it shares with the sample
        (all but the sample's last token are in the cache) and queue the rest; False when there is
        nothing to read or more than ``hook.reserve`` tokens."""
        judge = hook.follow_up_prompt(prefix, w.text.decode("utf-8", errors="replace"))
        if judge is None:
            return False
        jids = self.encode(judge)
        m = min(
            common_prefix(np.asarray(jids, np.int32), np.asarray(prompt_ids + w.tokens, np.int32)),
            len(prompt_ids) + len(w.tokens) - 1,
        )
        if not 0 < len(jids) - m <= hook.reserve:
            return False
        self.llm.lib.llama_memory_seq_rm(self.llm.memory, w.slot, m, -1)
        w.judge, w.judge_ids, w.judge_at = judge, jids, m
        return True

    # -- hooks ---------------------------------------------------------------------------
    def token_logprobs(self, prefix: str, continuation: str | Sequence[int]) -> list[float]:
        """Log-probability of each continuation token given the prefix (raw logits, T=1).

        A text continuation is tokenized on its own and appended to the prefix's tokens (the
        lm-evaluation-harness convention); pass token ids (``Completion.token_ids``) to score
        exactly what was generated. Cached prefixes are reused and the scored sequence is cached.
        """
        p = self.encode(prefix)
        c = self.encode_plain(continuation) if isinstance(continuation, str) else [int(t) for t in continuation]
        if not c:
            return []
        with self._lock:
            slot, _, lg = self._read_prefix(p + c, len(p) - 1)
            self.slots.keep(slot, p + c)
        z = lg[: len(c)].astype(np.float64)
        mx = z.max(axis=1)
        lse = mx + np.log(np.exp(z - mx[:, None]).sum(axis=1))
        return (z[np.arange(len(c)), c] - lse).tolist()

    def next_token_logprobs(self, prefix: str, then: Sequence[int] = ()) -> np.ndarray:
        """Log-softmax over the vocabulary of the token after `prefix` followed by token ids `then`
        (raw logits, T = 1): every candidate next token scored from one read (a judge's digits)."""
        ids = self.encode(prefix) + [int(t) for t in then]
        with self._lock:
            slot, _, lg = self._read_prefix(ids, len(ids) - 1)
            self.slots.keep(slot, ids)
        z = lg[-1].astype(np.float64)
        return z - (z.max() + np.log(np.exp(z - z.max()).sum()))

    def logprob_of(self, prefix: str, continuation: str | Sequence[int]) -> float:
        """Sum of `token_logprobs` (the model's log-probability of the continuation)."""
        return float(sum(self.token_logprobs(prefix, continuation)))

    def clear_cache(self) -> None:
        """Forget every cached sequence."""
        with self._lock:
            self.slots.clear()

    def close(self) -> None:
        """Free the llama.cpp context and model (also done when the object is collected)."""
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass

    def __repr__(self) -> str:
        return (
            f"LlamaCppGenerator({self.model_id!r}, n_ctx={self.n_ctx}, max_batch={self.max_batch}, "
            f"cached_sequences={len(self.slots.entries)})"
        )
