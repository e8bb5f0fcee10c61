"""The in-process transformers engine: `HFGenerator`, batched seeded sampling with automatic prefix caching.

Each prefix is read once, reusing the longest token prefix already in a radix-tree KV cache, and
all n samples of all requests decode in one left-padded batch. Accounting, sampling and stop
strings follow the shared backend conventions (architecture.md, "Backends").
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from itslab.generators.common import empty_completions, find_stop, validate_requests
from itslab.generators.hf.batch import BatchKV, cache_supported
from itslab.generators.hf.cache import RadixKVCache
from itslab.generators.hf.decode import Row, decode
from itslab.generators.hf.load import forward_keywords, load_pretrained, resolve_device, resolve_dtype, text_dims
from itslab.generators.hf.sampling import RowParams
from itslab.generators.hf.text import TextCodec
from itslab.rng import sample_uniforms
from itslab.types import Completion, Request


def _serialised(fn: Any) -> Any:
    """Run the method under the engine's lock: the KV cache, the model and the tokenizer are not
    safe to use from two threads at once (the runner's cross-problem batching uses threads)."""

    @functools.wraps(fn)
    def wrapper(self: "HFGenerator", *a: Any, **kw: Any) -> Any:
        with self._lock:
            return fn(self, *a, **kw)

    return wrapper


class HFGenerator:
    """Transformers backend with batched seeded sampling and automatic prefix caching.

    ``model_or_path`` is a hub id, a local directory, a ``.gguf`` path, or an already loaded
    model (then pass `tokenizer`). ``cache_bytes`` caps the prefix cache (0 disables it);
    ``max_batch`` caps the rows decoded together; ``cache_samples`` keeps every finished sample
    in the cache (what step-wise search needs; turn off for pure best-of-N). ``num_threads``
    sets torch's (process-wide) CPU thread count (default: ``ITSLAB_NUM_THREADS`` if set, else
    torch's own): on a busy machine 1 thread can be several times faster than spinning OpenMP
    threads that compete with other processes (measured here: a demo sweep took 142 s with 2
    threads beside another busy process, 15 s with 1).
    """

    def __init__(
        self,
        model_or_path: Any,
        *,
        tokenizer: Any = None,
        gguf_file: str | None = None,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        cache_bytes: int = 1 << 30,
        max_batch: int = 64,
        cache_samples: bool = True,
        model_id: str | None = None,
        local_files_only: bool = False,
        num_threads: int | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"HFGenerator.max_batch must be >= 1, got {max_batch}")
        if num_threads is None and os.environ.get("ITSLAB_NUM_THREADS"):
            num_threads = int(os.environ["ITSLAB_NUM_THREADS"])
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        if isinstance(model_or_path, (str, Path)):
            dev = resolve_device(device)
            self.model, self.tokenizer = load_pretrained(
                model_or_path,
                gguf_file=gguf_file,
                device=dev,
                dtype=resolve_dtype(dtype, dev),
                local_files_only=local_files_only,
            )
            default_id = str(model_or_path) if gguf_file is None else f"{model_or_path}/{gguf_file}"
        else:
            if tokenizer is None:
                raise ValueError("HFGenerator: pass tokenizer= when giving a loaded model")
            self.model, self.tokenizer = model_or_path.eval(), tokenizer
            default_id = getattr(model_or_path.config, "name_or_path", "") or type(model_or_path).__name__
        if not cache_supported(self.model):
            raise NotImplementedError(
                f"HFGenerator supports full-attention decoders only; {type(self.model).__name__} "
                "uses sliding-window or linear-attention cache layers"
            )
        self._lock = threading.RLock()
        self.model_id = model_id or default_id
        self.n_params = float(self.model.num_parameters())
        self.device = next(self.model.parameters()).device
        self.dtype = next(self.model.parameters()).dtype
        self.max_batch = max_batch
        self.cache_samples = cache_samples
        self.prefix_cache = RadixKVCache(cache_bytes)
        self._cache_kw, self._has_keep = forward_keywords(self.model)
        self._dims = text_dims(self.model)
        gen_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        self.codec = TextCodec(self.tokenizer, gen_eos if isinstance(gen_eos, (list, tuple)) else [gen_eos])

    # -- text ----------------------------------------------------------------------------------
    @_serialised
    def encode(self, text: str) -> list[int]:
        """Token ids the engine reads for a prefix (prefix-stable, see `itslab.generators.hf.text`)."""
        return self.codec.encode(text)

    def chat_prompt(self, messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True) -> str:
        """Prompt text from chat messages via the model's chat template (e.g. ChatML for SmolLM2)."""
        return self.codec.chat_prompt(messages, add_generation_prompt=add_generation_prompt)

    def count_tokens(self, text: str) -> int:
        """Length of `text` in this model's tokens (what a prefix costs to read when uncached)."""
        return len(self.encode(text))

    def format_prompt(self, problem: Any) -> str:
        """The text prefix for a `Problem`: its chat messages (or its prompt as one user turn) through
        the chat template. Strategies and pools call this (see `itslab.protocols.prompt_for`), so instruct
        models see the format they were tuned on."""
        messages = problem.messages or ({"role": "user", "content": problem.prompt},)
        return self.chat_prompt(messages)

    # -- model calls -----------------------------------------------------------------------------
    def _forward(self, ids: Sequence[int], kv: BatchKV, start: int, keep: int) -> torch.Tensor:
        """Feed tokens ``ids[start:]`` to a one-row slab holding ``ids[:start]``; return the logits of
        the last `keep` (at least one) fed positions [T, V]."""
        x = torch.tensor([list(ids[start:])], dtype=torch.long, device=self.device)
        pos = torch.arange(start, len(ids), device=self.device)[None]
        kw: dict[str, Any] = {self._cache_kw: kv.cache}
        n_keep = max(1, int(keep))
        if self._has_keep and n_keep < len(ids) - start:
            # the LM head over the full vocabulary is a large share of a forward pass: skip unread rows
            kw["logits_to_keep"] = n_keep
        return self.model(input_ids=x, position_ids=pos, use_cache=True, **kw).logits[0][-n_keep:]

    def _prefill(self, ids: Sequence[int], limit: int, keep: int = 1) -> tuple[BatchKV, torch.Tensor, int]:
        """Read `ids` once, reusing the longest cached prefix (at most `limit` tokens).

        Returns the one-row slab holding all of `ids`, the logits of the last `keep` fed positions
        (see `_forward`), and the number of tokens served from the cache. The sequence is then
        added to the cache.
        """
        n_layers, heads, head_dim = self._dims
        m, pieces = self.prefix_cache.match(ids, limit=limit)
        kv = BatchKV(n_layers, 1, heads, head_dim, m, len(ids), self.dtype, self.device)
        if m:
            kv.put_prompt(slice(0, 1), pieces)
        logits = self._forward(ids, kv, m, keep)
        self.prefix_cache.insert(ids, kv.row_slicer(0))
        return kv, logits, m

    # -- Generator protocol -------------------------------------------------------------------
    @_serialised
    def generate(self, requests: Sequence[Request], *, ignore_eos: bool = False) -> list[list[Completion]]:
        """Sample ``requests[i].n`` continuations of each prefix (accounting: architecture.md, "Backends").

        ``ignore_eos=True`` keeps sampling past end-of-sequence (for fixed-length benchmarks).
        """
        validate_requests(requests)
        out: list[list[Completion | None]] = [[None] * r.n for r in requests]
        ids = [self.encode(r.prefix) for r in requests]
        units = []
        for i, r in enumerate(requests):
            if r.max_tokens == 0:
                out[i] = list(empty_completions(r))
                continue
            units += [(i, j, min(r.n, j + self.max_batch)) for j in range(0, r.n, self.max_batch)]
        batch: list[tuple[int, int, int]] = []
        for u in units:
            if batch and sum(b[2] - b[1] for b in batch) + u[2] - u[1] > self.max_batch:
                self._run_batch(batch, requests, ids, out, ignore_eos)
                batch = []
            batch.append(u)
        if batch:
            self._run_batch(batch, requests, ids, out, ignore_eos)
        return out  # type: ignore[return-value]

    @torch.inference_mode()
    def _run_batch(
        self,
        units: list[tuple[int, int, int]],
        requests: Sequence[Request],
        ids: list[list[int]],
        out: list[list[Any]],
        ignore_eos: bool,
    ) -> None:
        prefills: dict[int, tuple[list[torch.Tensor], torch.Tensor, int]] = {}
        for i, _, _ in units:
            if i not in prefills:
                kv1, logits, m = self._prefill(ids[i], limit=len(ids[i]) - 1)
                prefills[i] = ([kv1.row_slicer(0)(0, len(ids[i]))], logits[-1], m)
        width = max(len(ids[i]) for i, _, _ in units)
        n_rows = sum(j1 - j0 for _, j0, j1 in units)
        room = max(requests[i].max_tokens for i, _, _ in units)
        n_layers, heads, head_dim = self._dims
        kv = BatchKV(n_layers, n_rows, heads, head_dim, width, width + min(room, 128), self.dtype, self.device)
        rows: list[Row] = []
        first = []
        for u, (i, j0, j1) in enumerate(units):
            r = requests[i]
            kv.put_prompt(slice(len(rows), len(rows) + j1 - j0), prefills[i][0])
            rows += [Row(u, j, len(ids[i]), r.max_tokens, r.stop) for j in range(j0, j1)]
            first.append(prefills[i][1].expand(j1 - j0, -1))
        params = RowParams.build(
            [requests[units[w.unit][0]].temperature for w in rows],
            [requests[units[w.unit][0]].top_p for w in rows],
            [requests[units[w.unit][0]].top_k or 0 for w in rows],
            [sample_uniforms(requests[units[w.unit][0]].seed, w.j, w.max_tokens) for w in rows],
            self.device,
        )

        def on_leave(row: Row, slicer) -> None:
            if self.cache_samples:
                i = units[row.unit][0]
                self.prefix_cache.insert(ids[i] + row.tokens[:-1], slicer)

        decode(
            self.model,
            self._cache_kw,
            kv,
            rows,
            params,
            torch.cat(first),
            codec=self.codec,
            eos=frozenset() if ignore_eos else self.codec.eos_ids,
            on_leave=on_leave,
        )
        shared = set()
        for row in rows:
            i = units[row.unit][0]
            cached = len(ids[i]) if i in shared else prefills[i][2]
            shared.add(i)
            out[i][row.j] = self._completion(requests[i], ids[i], row, cached)

    def _completion(self, r: Request, prompt_ids: list[int], row: Row, cached: int) -> Completion:
        text = self.codec.decode_continuation(prompt_ids, row.tokens)
        hit = None if row.stop is None else find_stop(text, (row.stop,))
        if hit is not None:  # the stop fired in the newest tokens: cut what the last token added after it
            text = text[: hit[0]]
        return Completion(
            text=text,
            n_tokens=len(row.tokens),
            n_prompt_tokens=len(prompt_ids),
            n_cached_tokens=cached,
            token_ids=tuple(row.tokens),
            logprobs=tuple(row.logprobs),
            finish_reason=row.finish or "length",
            seed=r.seed,
            meta={"index": row.j, "stop": row.stop},
        )

    # -- hooks ---------------------------------------------------------------------------------
    @_serialised
    @torch.inference_mode()
    def token_logprobs(self, prefix: str, continuation: str | Sequence[int]) -> list[float]:
        """Log-probability of each continuation token given the prefix (raw logits, T=1).

        A text continuation is tokenized on its own and appended to the prefix's tokens (the
        lm-evaluation-harness convention); pass token ids (e.g. ``Completion.token_ids``) to score
        exactly what was generated. The cached KV of the prefix is reused and the scored
        sequence is cached (self-evaluation, Xie et al. 2023, scores many texts after one prompt).
        """
        p = self.encode(prefix)
        c = (
            self.codec.encode_continuation(continuation)
            if isinstance(continuation, str)
            else [int(t) for t in continuation]
        )
        if not c:
            return []
        full = p + c
        # only the rows that predict the continuation: positions len(p) - 1 .. len(full) - 1 (the
        # last row predicts past the end and is dropped); the prefix cache guarantees m <= len(p) - 1
        kv, logits, m = self._prefill(full, limit=len(p) - 1, keep=len(c) + 1)
        logp = torch.log_softmax(logits[: len(c)].float(), dim=-1)
        return logp.gather(1, torch.tensor(c, device=logp.device)[:, None]).squeeze(1).tolist()

    def logprob_of(self, prefix: str, continuation: str | Sequence[int]) -> float:
        """Sum of `token_logprobs` (the model's log-probability of the continuation)."""
        return float(sum(self.token_logprobs(prefix, continuation)))

    @_serialised
    @torch.inference_mode()
    def hidden_states(self, texts: Sequence[str], *, layer: int = -1, pool: str = "last") -> np.ndarray:
        """Hidden state of each text at `layer` (-1 = final, 0 = embeddings), pooled "last" or "mean".

        Returns float32 ``[len(texts), hidden_size]``; for probes of correctness or confidence.
        """
        if pool not in ("last", "mean"):
            raise ValueError(f"hidden_states pool must be 'last' or 'mean', got {pool!r}")
        rows = []
        for t in texts:
            x = torch.tensor([self.encode(t)], device=self.device)
            h = self.model(input_ids=x, output_hidden_states=True, use_cache=False).hidden_states[layer][0]
            rows.append((h[-1] if pool == "last" else h.mean(0)).float().cpu().numpy())
        return np.stack(rows) if rows else np.zeros((0, self.model.config.hidden_size), np.float32)

    def continue_with(self, request: Request, forced: str = "Wait", *, strip: Sequence[str] = ()) -> list[Completion]:
        """Forced continuation for budget forcing (s1, Muennighoff et al. 2025).

        Strips the first of `strip` (e.g. an end-of-thinking marker) that ends ``request.prefix``,
        appends `forced` (e.g. "Wait") and samples `request.n` continuations. Texts returned
        continue *after* `forced` (``meta["forced"]`` records it); the earlier prefix is served
        from the prefix cache, so only the forced tokens are re-read.
        """
        prefix = request.prefix
        for s in strip:
            if s and prefix.endswith(s):
                prefix = prefix[: -len(s)]
                break
        res = self.generate([dataclasses.replace(request, prefix=prefix + forced)])[0]
        return [dataclasses.replace(c, meta={**c.meta, "forced": forced}) for c in res]

    def __repr__(self) -> str:
        return (
            f"HFGenerator({self.model_id!r}, device={self.device.type}, dtype={self.dtype}, "
            f"cache={self.prefix_cache.nbytes / 2**20:.0f}/{self.prefix_cache.max_bytes / 2**20:.0f} MiB)"
        )
