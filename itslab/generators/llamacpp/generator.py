"""llama.cpp in-process: `LlamaCppGenerator`, batched seeded sampling of GGUF models with prefix caching.

Built on llama-cpp-python's low-level API (one sequence id per sample, prefix KV shared by
``llama_memory_seq_cp``, finished sequences kept in slots for the next step); accounting,
sampling and stop strings follow the shared backend conventions (architecture.md, "Backends").

Continuous batching (Yu et al. 2022, "Orca: A Distributed Serving System for Transformer-Based
Generative Models"; vLLM, Kwon et al. 2023): `generate` may be called from many threads at once.
One of the waiting threads drives the engine; between two decode steps it admits the rows of calls
that arrived meanwhile, as far as `max_batch` and the KV cache allow, and hands each call its
completions as soon as its own rows are done. A batch therefore refills as rows end instead of
thinning until its longest row is done. Other engine work (`token_logprobs`, ...) runs between steps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence, TypeVar

import numpy as np

from itslab.generators.common import empty_completions, find_stop, validate_requests
from itslab.generators.llamacpp.kv import SeqSlots, common_prefix
from itslab.generators.llamacpp.model import LlamaModel, requantized
from itslab.generators.llamacpp.sampling import RowSampling, sample_rows
from itslab.rng import sample_uniforms
from itslab.types import Completion, Request


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Log-softmax of one logit row, in float64 (what the judges and `next_token_logprobs` read)."""
    z = z.astype(np.float64)
    return z - (z.max() + np.log(np.exp(z - z.max()).sum()))


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
    call: _Call | None = None  # the `generate` call the row belongs to
    chunk: int = 0  # rows admitted together share their prompt's KV cells
    prefix_cells: int = 0
    eog: np.ndarray | None = None  # end-of-generation tokens (none with ignore_eos)

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


@dataclass(eq=False)
class _Work:
    """Something a thread waits for while the engine's driver does it: `done`, then `value` or `err`."""

    done: bool = False
    err: BaseException | None = None
    value: Any = None


@dataclass(eq=False)
class _Job(_Work):
    """Engine work other than sampling (scoring, cache control), run between two decode steps."""

    fn: Callable[[], Any] | None = None


@dataclass(eq=False)
class _Call(_Work):
    """One `generate` call: its requests, the rows not yet admitted, and the completions so far."""

    requests: Sequence[Request] = ()
    eog: np.ndarray | None = None
    ids: list[list[int]] = field(default_factory=list)
    queue: list[tuple[int, int]] = field(default_factory=list)  # (request, sample) rows not yet admitted
    left: int = 0  # rows not yet complete


_W = TypeVar("_W", bound=_Work)


@dataclass
class EngineStats:
    """Where the engine's decode slots and time went, counted since it was created (`stats` gives a
    copy; subtract two copies for one stretch of work). A sweep slower than raw batched decoding
    shows why here: few rows per step (``mean_rows``, the batch thinning as rows end), follow-up
    tokens sharing the steps, prompts read again instead of served from the cache, or time outside
    the decode steps (Python, scoring)."""

    steps: int = 0  # decode steps that sampled a token for at least one row
    sampled_tokens: int = 0  # tokens sampled (one per live row per step): the completions' n_tokens
    follow_up_tokens: int = 0  # follow-up prompt tokens read in the decode steps (in-batch judges)
    prompt_tokens_read: int = 0  # prompt (and scored) tokens decoded by prefills
    prompt_tokens_served: int = 0  # prompt tokens taken from cached sequences instead
    step_s: float = 0.0  # seconds in decode steps (sampling, the batch's llama_decode)
    prefill_s: float = 0.0  # seconds reading prompts and scored texts

    @property
    def mean_rows(self) -> float:
        """Mean sampling rows per step (the batch's real width)."""
        return self.sampled_tokens / self.steps if self.steps else 0.0

    def __sub__(self, other: "EngineStats") -> "EngineStats":
        return EngineStats(
            *(getattr(self, f) - getattr(other, f) for f in self.__dataclass_fields__)  # type: ignore[arg-type]
        )


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

    ``kv_streams=True`` gives every sequence its own KV stream of ``n_ctx`` cells (llama.cpp's
    ``kv_unified=False``; ``n_ctx * n_seq_max`` cells in all): a decode step's attention then spans
    each row's own context, not every cell in use, which is most of a step's cost once rows hold a
    few thousand cells between them (docs/methods.md, "llama.cpp KV cache"). ``n_ctx`` is then the
    longest prompt + sample one row may hold; the cache is bounded by its slots, not its tokens.
    A follow-up prompt's many tokens of one row would split a decode step there, so a finished row
    waits in a band of 16 sequence ids (`SeqSlots`) and the band's follow-ups are read together, in
    one ubatch, when the band is full, a call waits only on them, or no row is sampling.
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
        kv_streams: bool = False,
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
            kv_unified=not kv_streams,
            verbose=verbose,
        )
        self.kv_streams = kv_streams
        if cache_tokens is None:  # a unified cache's entries slow every step; separate streams' do not
            cache_tokens = self.llm.n_ctx if kv_streams else self.llm.n_ctx // 2
        if not 0 <= cache_tokens <= self.llm.n_ctx:
            raise ValueError(
                f"LlamaCppGenerator.cache_tokens must lie in [0, n_ctx={self.llm.n_ctx}], got {cache_tokens}"
            )
        # streams: follow-ups read 16 at a time (16 question turns fit one n_batch of 512), if the ids
        # left for the cache allow it; else they are read by the scorer after the batch
        band = min(16, max_batch) if kv_streams and n_seq_max - max_batch - min(16, max_batch) >= 2 else 0
        self.slots = SeqSlots(
            self.llm.lib, self.llm.memory, n_seq_max, cache_tokens, rows=max_batch if kv_streams else 0, band=band
        )
        self.n_ctx = self.llm.n_ctx_seq if kv_streams else self.llm.n_ctx
        self.max_batch, self.cache_samples = max_batch, cache_samples
        # continuous batching: work waits in `_inbox` for the thread driving the engine (`_submit`)
        self._cv = threading.Condition()
        self._inbox: list[_Work] = []
        self._driving = False
        self._calls: list[_Call] = []  # admitted calls with rows still waiting for room, oldest first
        self._live: list[_Row] = []  # rows sampling; `_z` holds their next-token logits, in order
        self._judging: list[_Row] = []  # finished rows reading their follow-up prompt (streams: waiting to)
        self._z = np.zeros((0, self.llm.n_vocab), np.float32)
        self._chunks = 0
        self._stats = EngineStats()
        self.path = path
        self.model_id = model_id or name
        self.n_params = self.llm.n_params
        self.follow_up: FollowUp | None = None

    admits_concurrent_calls = True  # `generate` from many threads shares one batch (continuous batching)

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
        if not self._z.flags.owndata:  # the live rows' logits are a view this read would overwrite
            self._z = self._z.copy()
        slot = self.slots.acquire()  # first: acquiring may evict, and must not evict the match
        src, m = self.slots.match(np.asarray(ids, np.int32), limit=min(len(ids) - 1, out_from))
        if src is not None:
            self.slots.copy(src, slot, m)
        t0 = time.perf_counter()
        lg = self.llm.prefill(ids, slot, m, out_from, self.slots.evict_one)
        st = self._stats
        st.prefill_s += time.perf_counter() - t0
        st.prompt_tokens_read += len(ids) - m
        st.prompt_tokens_served += m
        return slot, m, lg

    def stats(self) -> EngineStats:
        """A copy of the engine's counters since creation (`EngineStats`)."""
        return replace(self._stats)

    def _read_and_keep(self, ids: list[int], out_from: int) -> np.ndarray:
        """Logits at positions ``out_from ..`` of `ids`, read (from the cache where it can) and kept cached."""
        slot, _, lg = self._read_prefix(ids, out_from)
        self.slots.keep(slot, ids)
        return lg

    # -- Generator protocol --------------------------------------------------------------
    def generate(self, requests: Sequence[Request], *, ignore_eos: bool = False) -> list[list[Completion]]:
        """Sample ``requests[i].n`` continuations of each prefix (accounting: architecture.md, "Backends").

        Safe to call from several threads: their rows share the batch (module docstring).
        ``ignore_eos=True`` keeps sampling past end-of-sequence (for fixed-length benchmarks).
        """
        validate_requests(requests)
        eog = np.zeros_like(self.llm.eog) if ignore_eos else self.llm.eog
        return self._submit(_Call(requests=list(requests), eog=eog)).value  # type: ignore[no-any-return]

    @property
    def _reserve(self) -> int:
        """KV cells each row keeps free after its sample for the attached follow-up."""
        return self.follow_up.reserve if self.follow_up is not None else 0

    def _exclusive(self, fn: Callable[[], Any]) -> Any:
        """`fn()` with the engine to itself (between two decode steps when a batch is running)."""
        return self._submit(_Job(fn=fn)).value

    def _submit(self, work: _W) -> _W:
        """Queue `work` and wait for it; while no thread drives the engine, this one does."""
        with self._cv:
            self._inbox.append(work)
            while not work.done:
                if self._driving:
                    self._cv.wait()
                    continue
                self._driving = True
                try:
                    while not work.done:
                        inbox, self._inbox = self._inbox, []
                        self._cv.release()
                        try:
                            self._drive_once(inbox)
                        finally:
                            self._cv.acquire()
                        self._cv.notify_all()
                finally:
                    self._driving = False
                    self._cv.notify_all()
        if work.err is not None:
            raise work.err
        return work

    def _drive_once(self, inbox: list[_Work]) -> None:
        """Run new jobs, take new calls, admit waiting rows where there is room, one decode step."""
        for w in inbox:
            if isinstance(w, _Job):
                try:
                    w.value = w.fn() if w.fn is not None else None
                except Exception as e:  # the caller's own error, raised in its thread
                    w.err = e
                w.done = True
            else:
                assert isinstance(w, _Call)
                self._take_call(w)
        try:
            self._admit()
        except Exception as e:  # reading a prompt failed: only the call that owns it fails
            self._fail([self._calls[0]], e)
        if self._live or self._judging:
            try:
                self._step()
            except Exception as e:  # a decode failed: every call in the batch fails, none hangs
                self._fail(list({id(w.call): w.call for w in self._live + self._judging}.values()), e)
        elif self._calls:  # cannot happen (`_take_call` checked each row fits an empty batch): never spin
            self._fail(self._calls[:1], RuntimeError("llama.cpp: no room to admit a row into an empty batch"))

    def _take_call(self, c: _Call) -> None:
        """Tokenize a new call and queue its rows; refuse it whole if one request cannot fit the cache."""
        try:
            c.ids = [self.encode(r.prefix) for r in c.requests]
            out: list[list[Any]] = [[None] * r.n for r in c.requests]
            for i, r in enumerate(c.requests):
                if r.max_tokens == 0:
                    out[i] = empty_completions(r)
                    continue
                if len(c.ids[i]) + r.max_tokens + self._reserve > self.n_ctx:
                    raise ValueError(
                        f"requests[{i}]: prefix of {len(c.ids[i])} tokens + max_tokens="
                        f"{r.max_tokens} exceeds the KV cache (n_ctx={self.n_ctx})"
                    )
                c.queue += [(i, j) for j in range(r.n)]
        except Exception as e:
            c.err, c.done = e, True
            return
        c.value, c.left = out, len(c.queue)
        if c.left:
            self._calls.append(c)
        else:
            c.done = True

    def _admit(self) -> None:
        """Start waiting rows, oldest call first, while the batch has rows and KV cells to spare: one
        chunk of consecutive samples of one request at a time, its prompt read once for the chunk."""
        while self._calls:
            c = self._calls[0]
            while c.queue:
                i = c.queue[0][0]
                busy = self._live if self.kv_streams else self._live + self._judging  # streams: judges in the band
                # worst case of the rows in the batch, and each chunk's prompt once (its rows share it)
                held = sum(w.max_tokens + self._reserve for w in busy) + sum(
                    {w.chunk: w.prefix_cells for w in busy}.values()
                )
                row_cells = c.requests[i].max_tokens + self._reserve
                same = next((k for k, (i2, _) in enumerate(c.queue) if i2 != i), len(c.queue))
                room = (
                    len(self.slots.free_rows) if self.kv_streams else (self.n_ctx - held - len(c.ids[i])) // row_cells
                )
                k = min(same, self.max_batch - len(busy), room)
                if k < 1:
                    return
                self._start_rows(c, i, [j for _, j in c.queue[:k]])
                del c.queue[:k]
            self._calls.pop(0)

    def _start_rows(self, c: _Call, i: int, js: list[int]) -> None:
        """Read request `i`'s prompt once (or find it cached) and add samples `js` of it to the batch."""
        r, ids = c.requests[i], c.ids[i]
        slot, m, lg = self._read_prefix(ids, len(ids) - 1)
        self._chunks += 1
        stops = tuple(s.encode("utf-8") for s in r.stop if s)
        sampling = RowSampling(r.temperature, r.top_p, r.top_k or 0)
        rows = []
        try:
            for k, j in enumerate(js):
                row_slot = self.slots.acquire_row()
                self.slots.copy(slot, row_slot, len(ids))
                rows.append(
                    _Row(
                        i,
                        j,
                        row_slot,
                        len(ids),
                        r.max_tokens,
                        stops,
                        sampling,
                        sample_uniforms(r.seed, j, r.max_tokens),
                        m if k == 0 else len(ids),  # the prompt was read once for the chunk
                        call=c,
                        chunk=self._chunks,
                        prefix_cells=len(ids),
                        eog=c.eog,
                    )
                )
        except Exception:
            for w in rows:
                self.slots.release(w.slot)
            raise
        finally:
            self.slots.keep(slot, ids)
        self._live += rows
        self._z = np.concatenate([self._z, np.repeat(lg[-1:], len(rows), axis=0)])
        if self.kv_streams:  # each row has its stream: nothing to make room for
            return
        # free the cells the rows may grow into now, least recently used first, rather than when a
        # decode finds the cache full (a failed llama_decode, a warning and one eviction per retry)
        busy = self._live + self._judging
        self.slots.make_room(max(0, self.n_ctx - sum(w.max_tokens + self._reserve for w in busy)))

    def _step(self) -> None:
        """One token for every sampling row, and as much of the finished rows' follow-ups as fits, in
        one ``llama_decode``; rows that end (and have read their follow-up) complete their call."""
        t0 = time.perf_counter()
        try:
            self._step_rows()
        finally:
            self._stats.step_s += time.perf_counter() - t0

    def _step_rows(self) -> None:
        live, judging, hook = self._live, self._judging, self.follow_up
        if live:
            self._stats.steps += 1
            self._stats.sampled_tokens += len(live)
            u = np.array([w.uniforms[len(w.tokens)] for w in live])
            toks, lps = sample_rows(self._z[: len(live)], [w.sampling for w in live], u)
            still = []
            for w, t, lp in zip(live, toks.tolist(), lps.tolist()):
                w.push(t, lp, bool(w.eog[t]), self.llm.pieces[t])  # type: ignore[index]
                if w.finish is None:
                    still.append(w)
                    continue
                assert w.call is not None
                prefix, ids = w.call.requests[w.i].prefix, w.call.ids[w.i]
                if hook is not None and self._start_follow_up(w, hook, prefix, ids):
                    judging.append(w)
                    continue
                self._retire(w, ids + w.tokens[:-1])  # all but the last token are in the KV cache
                self._complete(w)
            live = self._live = still
        if self.kv_streams:
            if judging and self._judges_due(judging, live):
                self._read_band()
            if live:  # one ubatch only for consecutive sequence ids, in order
                live = self._live = self._pack(live)
            judging = []  # waiting in the band, not read in the step
        if not live and not judging:
            self._z = self._z[:0]
            return
        for k, w in enumerate(live):
            self.llm.put(k, w.tokens[-1], w.prompt_len + len(w.tokens) - 1, w.slot, True)
        k, read = self._put_follow_ups(judging, len(live))
        self.llm.decode(k, self.slots.evict_one)
        logits = self.llm.logits(len(live) + len(read))
        for w, z in zip(read, logits[len(live) :]):  # outputs come in batch order: live rows first
            hook.take(w.judge, log_softmax(z))  # type: ignore[union-attr]
            self._retire(w, w.judge_ids)
            self._complete(w)
        if not self.kv_streams:  # streams: `self._judging` holds the rows waiting in the band
            self._judging = [w for w in judging if w.judge_at < len(w.judge_ids)]
        self._z = logits[: len(live)]

    def _put_follow_ups(self, rows: list[_Row], k: int) -> tuple[int, list[_Row]]:
        """Put as much of `rows`' follow-up prompts into the batch after entry `k` as it has room for,
        oldest first: the entries then in the batch, and the rows whose follow-up ends in it."""
        read = []
        for w in rows:
            take = min(self.llm.n_batch - k, len(w.judge_ids) - w.judge_at)
            if take <= 0:
                break
            for p in range(w.judge_at, w.judge_at + take):
                self.llm.put(k, w.judge_ids[p], p, w.slot, p == len(w.judge_ids) - 1)
                k += 1
            w.judge_at += take
            self._stats.follow_up_tokens += take
            if w.judge_at == len(w.judge_ids):
                read.append(w)
        return k, read

    def _judges_due(self, judging: list[_Row], live: list[_Row]) -> bool:
        """Streams: read the band's follow-ups now? When the band is full, no row is sampling, or a call
        waits on nothing else (reading later would only delay it)."""
        if len(judging) >= self.slots.band or not live:
            return True
        waiting: dict[int, int] = {}
        for w in judging:
            waiting[id(w.call)] = waiting.get(id(w.call), 0) + 1
        return any(w.call is not None and w.call.left == waiting[id(w.call)] for w in judging)

    def _read_band(self) -> None:
        """Streams: read the follow-ups of the rows waiting in the band, in as few ``llama_decode`` calls
        as `n_batch` allows (their ids run consecutively, so each is one ubatch per prompt length), hand
        each its log-softmax and complete it."""
        hook, pending = self.follow_up, sorted(self._judging, key=lambda w: w.slot)
        while pending:
            k, read = self._put_follow_ups(pending, 0)
            self.llm.decode(k, self.slots.evict_one)
            for w, z in zip(read, self.llm.logits(len(read))):  # outputs come in batch order
                hook.take(w.judge, log_softmax(z))  # type: ignore[union-attr]
            for w in read:
                self._retire(w, w.judge_ids)
                self._complete(w)
            pending = [w for w in pending if w.judge_at < len(w.judge_ids)]
        self._judging.clear()  # in place: `_step_rows` may hold the list

    def _retire(self, w: _Row, tokens: list[int]) -> None:
        """Row `w` is done: its sequence (holding `tokens`) becomes a cache entry, or is dropped."""
        if not self.cache_samples:
            self.slots.release(w.slot)
        elif self.kv_streams:  # decode-row ids stay free for rows: copy the sample into a cache slot
            slot = self.slots.acquire()
            self.slots.copy(w.slot, slot, len(tokens))
            self.slots.release(w.slot)
            self.slots.keep(slot, tokens)
        else:
            self.slots.keep(w.slot, tokens)

    def _pack(self, live: list[_Row]) -> list[_Row]:
        """Per-sequence streams: move rows into the lowest row ids (llama.cpp decodes one step in one
        ubatch only when its sequence ids run consecutively) and order them by id."""
        holes = sorted(k for k in self.slots.free_rows if k < len(live))
        for w, dst in zip(sorted((w for w in live if w.slot >= len(live)), key=lambda w: w.slot), holes):
            self.slots.move(w.slot, dst)
            w.slot = dst
        return sorted(live, key=lambda w: w.slot)

    def _complete(self, w: _Row) -> None:
        """Write row `w`'s completion into its call; the call is done with its last row."""
        c = w.call
        assert c is not None and c.value is not None
        c.value[w.i][w.j] = Completion(
            text=w.text.decode("utf-8", errors="replace"),
            n_tokens=len(w.tokens),
            n_prompt_tokens=w.prompt_len,
            n_cached_tokens=w.cached,
            token_ids=tuple(w.tokens),
            logprobs=tuple(w.logprobs),
            finish_reason=w.finish or "length",
            seed=c.requests[w.i].seed,
            meta={"index": w.j, "stop": w.stop},
        )
        c.left -= 1
        c.done = c.left == 0

    def _fail(self, calls: Sequence[_Call | None], err: BaseException) -> None:
        """End `calls` with `err`: their rows leave the batch (slots freed), their waiting rows are dropped."""
        gone = {id(c) for c in calls}
        keep = [k for k, w in enumerate(self._live) if id(w.call) not in gone]
        for w in self._live + self._judging:
            if id(w.call) in gone:
                self.slots.release(w.slot)
        self._z = self._z[keep] if len(self._z) == len(self._live) else self._z[:0]
        self._live = [self._live[k] for k in keep]
        self._judging = [w for w in self._judging if id(w.call) not in gone]
        self._calls = [c for c in self._calls if id(c) not in gone]
        for c in calls:
            if c is not None:
                c.err, c.done = err, True

    def _start_follow_up(self, w: _Row, hook: FollowUp, prefix: str, prompt_ids: list[int]) -> bool:
        """Set row `w` up to read `hook`'s follow-up prompt: keep the KV it shares with the sample
        (all but the sample's last token are in the cache) and queue the rest; False when there is
        nothing to read or more than ``hook.reserve`` tokens. Streams: the row moves into the band."""
        if self.kv_streams and not self.slots.band:  # read by the scorer after the batch
            return False
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
        if self.kv_streams:  # free the decode row now; the follow-up waits in the band
            band = self.slots.acquire_band()
            if band is None:
                self._read_band()
                band = self.slots.acquire_band()
            assert band is not None
            self.slots.move(w.slot, band)
            w.slot = band
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
        lg = self._exclusive(lambda: self._read_and_keep(p + c, len(p) - 1))
        z = lg[: len(c)].astype(np.float64)
        mx = z.max(axis=1)
        lse = mx + np.log(np.exp(z - mx[:, None]).sum(axis=1))
        return (z[np.arange(len(c)), c] - lse).tolist()

    def next_token_logprobs(self, prefix: str, then: Sequence[int] = ()) -> np.ndarray:
        """Log-softmax over the vocabulary of the token after `prefix` followed by token ids `then`
        (raw logits, T = 1): every candidate next token scored from one read (a judge's digits)."""
        ids = self.encode(prefix) + [int(t) for t in then]
        return log_softmax(self._exclusive(lambda: self._read_and_keep(ids, len(ids) - 1))[-1])

    def logprob_of(self, prefix: str, continuation: str | Sequence[int]) -> float:
        """Sum of `token_logprobs` (the model's log-probability of the continuation)."""
        return float(sum(self.token_logprobs(prefix, continuation)))

    def clear_cache(self) -> None:
        """Forget every cached sequence."""
        self._exclusive(self.slots.clear)

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
