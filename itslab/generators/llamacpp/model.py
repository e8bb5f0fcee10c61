"""One llama.cpp model and context through llama-cpp-python's low-level C API (for `LlamaCppGenerator`).

`LlamaModel` owns what the C API hands out — the model, a context with a *unified* KV cache
(cells shared between sequences, so prefix copies are free) and a reusable ``llama_batch`` — and
frees them on `close`. It tokenizes (special tokens in the text parsed, as Hugging Face
tokenizers do), keeps a byte-piece table of the whole vocabulary (detokenizing a sample is then
a join, not a C call per token), renders chat templates with llama.cpp's built-in renderer,
and runs batches: `put` one token (token, position, sequence id, whether to return logits),
`decode` the batch, read `logits`.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np


def llama_lib() -> Any:
    """The ``llama_cpp`` module, or an ImportError saying which extra installs it."""
    try:
        import llama_cpp
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the llama.cpp backend needs llama-cpp-python: pip install 'itslab[llamacpp]'") from e
    return llama_cpp


WEIGHT_TYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0", "f16": "LLAMA_FTYPE_MOSTLY_F16"}


def requantized(path: Path, weights: str) -> Path:
    """A copy of the GGUF at `path` with its weights converted to `weights` (cached; made once).

    Why: llama.cpp decodes a batch of rows fast on CPU only for weight types with matrix-matrix
    kernels (llamafile's tinyBLAS and the repacked AVX2 kernels: Q8_0, Q4_0, F16, ...); other
    types, such as the embedded model's Q4_1, fall back to one dot product per row and gain
    little from batching. Q8_0 re-quantizes the Q4_1 values with ~1/17 of their step size as
    extra error, F16 holds them almost exactly (at 2.7x the bytes).
    """
    if weights not in WEIGHT_TYPES:
        raise ValueError(f"weights must be one of {sorted(WEIGHT_TYPES)}, got {weights!r}")
    from itslab import settings as config

    out = config.cache_dir() / "requantized" / f"{path.stem}.{weights}.gguf"
    if out.is_file():
        return out
    L = llama_lib()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    params = L.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize, params.nthread = getattr(L, WEIGHT_TYPES[weights]), True, default_threads()
    rc = L.llama_model_quantize(str(path).encode(), str(tmp).encode(), params)
    if rc != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"llama.cpp could not convert {path} to {weights} (code {rc})")
    os.replace(tmp, out)  # atomic: the cache holds a whole file or none
    return out


CPU_SYSFS = Path("/sys/devices/system/cpu")  # Linux's CPU topology (a module constant, for tests)


def default_threads() -> int:
    """``$ITSLAB_LLAMA_THREADS``, else the physical cores this process may run on.

    One thread per core: llama.cpp's threads spin at barriers, so two on the hyper-threads of one
    core (or more than the free cores) slow decoding down; half the logical cores, llama-cpp-python's
    default, is right only with 2-way SMT and leaves half the cores idle on a machine without it
    (a 2-vCPU VM decoded with one thread). Unknown topology: half the logical cores.
    """
    env = os.environ.get("ITSLAB_LLAMA_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"ITSLAB_LLAMA_THREADS must be a positive integer, got {env!r}")
        return int(env)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 2))
    cores = set()
    for c in cpus:
        try:  # the logical CPUs sharing c's core, e.g. "0,8" or "0-1"; one entry per physical core
            cores.add((CPU_SYSFS / f"cpu{c}" / "topology" / "thread_siblings_list").read_text().strip())
        except OSError:
            return max(1, len(cpus) // 2)
    return max(1, len(cores))


class LlamaModel:
    """A GGUF model with one context of `n_ctx` KV cells, `n_seq_max` sequences and batches of `n_batch` tokens.

    ``kv_unified=False`` gives every sequence its own KV stream of ``n_ctx`` cells (llama.cpp's
    per-sequence streams), so a row's attention spans only its own cells; ``n_ctx_seq`` is then the
    cells of one sequence and the context holds ``n_ctx * n_seq_max`` in all.
    """

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_batch: int,
        n_seq_max: int,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        kv_unified: bool = True,
        verbose: bool = False,
    ) -> None:
        L = self.lib = llama_lib()
        if not path.is_file():
            raise FileNotFoundError(f"llama.cpp: GGUF file {path} does not exist")
        if not verbose:  # llama.cpp logs through this logger; keep loading quiet unless asked
            lg = logging.getLogger("llama-cpp-python")
            if lg.level == logging.NOTSET:
                lg.setLevel(logging.ERROR)
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = n_gpu_layers
        self._model = L.llama_model_load_from_file(str(path).encode(), mp)
        if not self._model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx if kv_unified else n_ctx * n_seq_max
        cp.n_batch, cp.n_ubatch, cp.n_seq_max = n_batch, n_batch, n_seq_max
        cp.n_threads = cp.n_threads_batch = n_threads or default_threads()
        cp.kv_unified = kv_unified
        cp.no_perf = True
        self._ctx = L.llama_init_from_model(self._model, cp)
        if not self._ctx:
            L.llama_model_free(self._model)
            self._model = None
            raise RuntimeError(f"llama.cpp could not create a context (n_ctx={n_ctx}, n_seq_max={n_seq_max})")
        self.memory = L.llama_get_memory(self._ctx)
        self._vocab = L.llama_model_get_vocab(self._model)
        self.n_vocab = int(L.llama_vocab_n_tokens(self._vocab))
        self.n_ctx, self.n_batch = int(L.llama_n_ctx(self._ctx)), n_batch
        self.n_ctx_seq, self.kv_unified = int(L.llama_n_ctx_seq(self._ctx)), kv_unified
        self.n_params = float(L.llama_model_n_params(self._model))
        self._batch = L.llama_batch_init(n_batch, 0, 1)
        self.pieces = [self._piece(t) for t in range(self.n_vocab)]
        self.eog = np.array([bool(L.llama_vocab_is_eog(self._vocab, t)) for t in range(self.n_vocab)])

    # -- tokens and text -----------------------------------------------------------------
    def _piece(self, tok: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self.lib.llama_token_to_piece(self._vocab, tok, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.lib.llama_token_to_piece(self._vocab, tok, buf, -n, 0, False)
        return buf.raw[:n]

    def tokenize(self, text: str, *, add_special: bool) -> list[int]:
        """Token ids of `text` (special tokens parsed; BOS added when `add_special` and the model wants one)."""
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        arr = (ctypes.c_int32 * cap)()
        n = self.lib.llama_tokenize(self._vocab, raw, len(raw), arr, cap, add_special, True)
        if n < 0:
            raise RuntimeError(f"llama.cpp could not tokenize a text of {len(raw)} bytes")
        return list(arr[:n])

    def start_token(self) -> int:
        """The token an empty prefix conditions on: BOS, else EOS."""
        bos = int(self.lib.llama_vocab_bos(self._vocab))
        return bos if bos >= 0 else int(self.lib.llama_vocab_eos(self._vocab))

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text of token ids (special tokens render as nothing)."""
        return b"".join(self.pieces[int(t)] for t in ids).decode("utf-8", errors="replace")

    def chat_prompt(self, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = True) -> str:
        """Prompt text from chat messages via the GGUF's chat template (llama.cpp's built-in renderer)."""
        L = self.lib
        tmpl = L.llama_model_chat_template(self._model, None)
        if not tmpl:
            raise ValueError("this GGUF has no chat template; pass a plain text prompt")
        keep = [(m["role"].encode(), m["content"].encode()) for m in messages]
        arr = (L.llama_chat_message * len(keep))(*[L.llama_chat_message(r, c) for r, c in keep])
        size = 256 + 2 * sum(len(r) + len(c) for r, c in keep)
        buf = ctypes.create_string_buffer(size)
        n = L.llama_chat_apply_template(tmpl, arr, len(keep), add_generation_prompt, buf, size)
        if n > size:
            buf = ctypes.create_string_buffer(n)
            n = L.llama_chat_apply_template(tmpl, arr, len(keep), add_generation_prompt, buf, n)
        if n < 0:
            raise ValueError("llama.cpp's renderer does not support this GGUF's chat template")
        return buf.raw[:n].decode("utf-8")

    # -- batches -------------------------------------------------------------------------
    def put(self, k: int, tok: int, pos: int, seq: int, want_logits: bool) -> None:
        """Set batch entry `k`: token `tok` at position `pos` of sequence `seq`."""
        b = self._batch
        b.token[k], b.pos[k], b.n_seq_id[k], b.logits[k] = tok, pos, 1, want_logits
        b.seq_id[k][0] = seq

    def decode(self, n: int, on_full: Callable[[], bool]) -> None:
        """Run the first `n` batch entries; while the KV cache is full, call `on_full` (free something) and retry."""
        self._batch.n_tokens = n
        while True:
            rc = self.lib.llama_decode(self._ctx, self._batch)
            if rc == 0:
                return
            if rc == 1 and on_full():  # llama.cpp restores the cache when it returns 1
                continue
            raise RuntimeError(
                f"llama_decode failed with code {rc} on a batch of {n} tokens "
                f"(1 = KV cache full: raise n_ctx={self.n_ctx} or lower max_batch)"
            )

    def logits(self, n: int) -> np.ndarray:
        """Logits of the last batch's `n` output entries, [n, V] (a view, valid until the next decode)."""
        return np.ctypeslib.as_array(self.lib.llama_get_logits(self._ctx), shape=(n, self.n_vocab))

    def prefill(
        self, ids: Sequence[int], seq: int, start: int, out_from: int, on_full: Callable[[], bool]
    ) -> np.ndarray:
        """Read ``ids[start:]`` into sequence `seq` (which holds ``ids[:start]``), `n_batch` tokens at a
        time; return copies of the logits at positions ``out_from .. len(ids)-1``."""
        rows = []
        for c0 in range(start, len(ids), self.n_batch):
            c1 = min(c0 + self.n_batch, len(ids))
            for k, p in enumerate(range(c0, c1)):
                self.put(k, ids[p], p, seq, p >= out_from)
            self.decode(c1 - c0, on_full)
            n_out = c1 - max(c0, out_from)
            if n_out > 0:
                rows.append(self.logits(n_out).copy())
        return np.concatenate(rows) if rows else np.zeros((0, self.n_vocab), np.float32)

    def close(self) -> None:
        """Free the batch, context and model (idempotent)."""
        L = self.lib
        if getattr(self, "_batch", None) is not None:
            L.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "_ctx", None):
            L.llama_free(self._ctx)
            self._ctx = None
        if getattr(self, "_model", None):
            L.llama_model_free(self._model)
            self._model = None
