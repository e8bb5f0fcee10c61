"""OpenAI-compatible HTTP backend: `OpenAIGenerator` for vLLM, SGLang, llama.cpp servers, TGI or any such endpoint.

The completions API (raw prefixes, for step-level search) or the chat API, with bounded concurrency
and retries (`retry`); a batch is complete or raises `BackendError`, never partial. Per-sample
seeds, accounting from the server's ``usage`` and restored stop strings: architecture.md, "Backends".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from itslab import rng as itsrng
from itslab.generators.common import empty_completions, upper_bound_tokens, validate_requests
from itslab.generators.http.retry import BackendError, RetryPolicy, parse_retry_after, retryable_status
from itslab.generators.http.wire import ABSENT, parse_choice, request_body, restore_stop, sample_seed
from itslab.types import Completion, Request

log = logging.getLogger(__name__)
APIS = ("completions", "chat")
SAMPLE_MODES = ("per_sample", "server")


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # building a verifying context loads the CA bundle (~0.5 s): do it once per process
    return ssl.create_default_context()


def _verify(url: str) -> ssl.SSLContext:
    """TLS settings for httpx: the cached verifying context for https, a bare one for plain http."""
    return _tls_context() if url.startswith("https") else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, also inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as ex:  # a loop is running here: use a fresh one
        return ex.submit(asyncio.run, coro).result()


@dataclass
class HTTPStats:
    """Counters of one generator's traffic (HTTP requests sent, answered, retried, failed)."""

    sent: int = 0
    answered: int = 0
    retries: int = 0
    failures: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class OpenAIGenerator:
    """Generator over an OpenAI-compatible server (seeds and accounting: architecture.md, "Backends").

    `base_url` ends in ``/v1`` (e.g. ``http://127.0.0.1:8000/v1``); `model` is the served model
    name (asked from ``GET /models`` when None). `extra_body` is merged into every request
    (server-specific knobs, e.g. llama.cpp's ``{"repeat_penalty": 1.0, "min_p": 0.0}`` to get
    plain temperature sampling). `tokenizer` counts tokens for budget checks; by default the
    server's ``/tokenize`` endpoint is asked, else the UTF-8 byte length bounds it.
    ``logprobs=False`` never asks the server for per-token logprobs (completions carry none; token
    counts come from ``usage``), for strategies that do not read them on servers where they are
    dear: llama-cpp-python's server sorts the whole vocabulary in Python for every token it
    returns them for (~0.17 CPU-s per token for a 152k vocabulary, several decode steps' worth).
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api: str = "completions",
        samples: str = "per_sample",
        max_concurrency: int = 8,
        timeout: float = 120.0,
        retry: RetryPolicy = RetryPolicy(),
        api_key_env: str = "OPENAI_API_KEY",
        extra_body: Mapping[str, Any] | None = None,
        system_prompt: str | None = None,
        tokenizer: Callable[[str], int] | None = None,
        model_id: str | None = None,
        n_params: float = 0.0,
        jitter_seed: int = 0,
        logprobs: bool = True,
    ) -> None:
        if api not in APIS:
            raise ValueError(f"OpenAIGenerator.api must be one of {APIS}, got {api!r}")
        if samples not in SAMPLE_MODES:
            raise ValueError(f"OpenAIGenerator.samples must be one of {SAMPLE_MODES}, got {samples!r}")
        if not logprobs and samples == "server":
            raise ValueError(
                "OpenAIGenerator: samples='server' needs logprobs=True (they give each choice's token count)"
            )
        if max_concurrency < 1 or timeout <= 0:
            raise ValueError(
                f"OpenAIGenerator: need max_concurrency >= 1 and timeout > 0, got {max_concurrency}, {timeout}"
            )
        self.base_url = base_url.rstrip("/")
        self.api, self.samples, self.max_concurrency, self.timeout = api, samples, max_concurrency, timeout
        self.retry, self.extra_body, self.system_prompt = retry, dict(extra_body or {}), system_prompt
        self.api_key_env, self.jitter_seed, self.n_params = api_key_env, jitter_seed, float(n_params)
        self._tokenizer, self.logprobs = tokenizer, logprobs
        self._count_cache: dict[str, int] = {}
        self._count_route: str | None = None if tokenizer is None else "callable"
        self.stats = HTTPStats()
        self.model = model or self._discover_model()
        self.model_id = model_id or self.model

    # -- plumbing ------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    @property
    def endpoint(self) -> str:
        """The URL generation requests go to."""
        return f"{self.base_url}/{'chat/completions' if self.api == 'chat' else 'completions'}"

    def _discover_model(self) -> str:
        import httpx

        url = f"{self.base_url}/models"
        try:
            r = httpx.get(url, headers=self._headers(), timeout=self.timeout, verify=_verify(url))
            r.raise_for_status()
            return str(r.json()["data"][0]["id"])
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as e:
            raise BackendError(
                url, f"could not list the served models ({type(e).__name__}: {e}); pass model= explicitly"
            ) from None

    async def _post(self, client: Any, body: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """POST `body` to the endpoint with retries; the parsed JSON reply or `BackendError`."""
        import httpx

        url, last, status = self.endpoint, "", None
        for attempt in range(self.retry.max_retries + 1):
            retry_after = None
            self.stats.sent += 1
            try:
                r = await client.post(url, json=body, headers=self._headers())
            except httpx.TimeoutException as e:
                last, status = f"timed out after {self.timeout:g} s ({type(e).__name__})", None
            except httpx.TransportError as e:
                last, status = f"connection failed ({type(e).__name__}: {e})", None
            else:
                status = r.status_code
                self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
                if r.is_success:
                    try:
                        data = r.json()
                    except ValueError:
                        raise BackendError(
                            url, f"reply is not JSON: {r.text[:200]!r}", status=status, attempts=attempt + 1
                        ) from None
                    self.stats.answered += 1
                    return data
                last = r.text[:300]
                if not retryable_status(status):
                    self.stats.failures += 1
                    raise BackendError(url, f"{last} (client error: not retried)", status=status, attempts=attempt + 1)
                retry_after = parse_retry_after(r.headers.get("retry-after"))
            if attempt == self.retry.max_retries:
                break
            wait = self.retry.delay(attempt, rng, retry_after)
            self.stats.retries += 1
            log.info("retrying %s in %.2f s after %s", url, wait, f"HTTP {status}" if status else last)
            await asyncio.sleep(wait)
        self.stats.failures += 1
        raise BackendError(url, f"gave up: {last}", status=status, attempts=self.retry.max_retries + 1)

    # -- request and reply mapping -------------------------------------------------------
    def _body(self, r: Request, n: int, seed: int) -> dict[str, Any]:
        return request_body(
            r,
            n=n,
            seed=seed,
            model=self.model,
            api=self.api,
            extra=self.extra_body,
            system_prompt=self.system_prompt,
            logprobs=self.logprobs,
        )

    def _completion(
        self,
        r: Request,
        choice: Mapping[str, Any],
        usage: Mapping[str, Any],
        *,
        j: int,
        seed: int,
        n_choices: int,
        first: bool,
    ) -> Completion:
        text, toks, lps = parse_choice(choice, self.api)
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        n_prompt = int(usage.get("prompt_tokens") or 0)
        cached = int(((usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
        if n_choices == 1:  # the server's own count (some servers leave stop tokens out of the logprobs)
            n_tokens = int(usage.get("completion_tokens") or 0)
        elif lps is None:
            raise BackendError(
                self.endpoint,
                "the reply has no logprobs, so the tokens of each of its "
                f"{n_choices} choices are unknown; use samples='per_sample'",
            )
        else:
            n_tokens = len(lps)
        text, stop, source = restore_stop(
            text,
            finish,
            r.stop,
            choice.get("stop_reason", ABSENT),
            toks,
            n_generated=n_tokens if n_choices == 1 else None,
            kept=bool(self.extra_body.get("include_stop_str_in_output")),
        )
        return Completion(
            text=text,
            n_tokens=n_tokens,
            n_prompt_tokens=n_prompt,
            n_cached_tokens=cached if first else n_prompt,
            logprobs=None
            if (lps is None or not (r.logprobs and self.logprobs))
            else tuple(float(x or 0.0) for x in lps),
            finish_reason=finish,
            seed=r.seed,
            meta={"index": j, "stop": stop, "stop_source": source, "server_seed": seed},
        )

    async def _one(self, client: Any, sem: asyncio.Semaphore, r: Request, i: int, j0: int, n: int) -> list[Completion]:
        seed = sample_seed(r.seed, j0) if self.samples == "per_sample" else r.seed
        rng = itsrng.as_rng(np.random.SeedSequence([self.jitter_seed, i, j0]))
        async with sem:
            data = await self._post(client, self._body(r, n, seed), rng)
        choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
        if len(choices) != n:
            raise BackendError(
                self.endpoint,
                f"asked for n={n} choices, the server returned {len(choices)} "
                "(it may ignore n: use samples='per_sample')",
                status=200,
            )
        usage = data.get("usage") or {}
        return [
            self._completion(r, c, usage, j=j0 + k, seed=seed, n_choices=n, first=k == 0) for k, c in enumerate(choices)
        ]

    # -- Generator protocol --------------------------------------------------------------
    async def agenerate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """`generate` as a coroutine (for callers that run their own event loop)."""
        import httpx

        validate_requests(requests)
        jobs = []
        for i, r in enumerate(requests):
            if r.n == 0 or r.max_tokens == 0:  # nothing to ask the server
                continue
            jobs += [(i, j, 1) for j in range(r.n)] if self.samples == "per_sample" else [(i, 0, r.n)]
        sem = asyncio.Semaphore(self.max_concurrency)
        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout), limits=limits, verify=_verify(self.base_url)
        ) as client:
            tasks = [asyncio.ensure_future(self._one(client, sem, requests[i], i, j, n)) for i, j, n in jobs]
            try:
                parts = await asyncio.gather(*tasks)
            except BaseException:
                for t in tasks:  # fail fast: no partial batch is returned
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        out: list[list[Completion]] = [[] for _ in requests]
        for i, r in enumerate(requests):
            if r.max_tokens == 0:
                out[i] = empty_completions(r)
        for (i, _, _), cs in zip(jobs, parts):
            out[i].extend(cs)
        return out

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Sample ``requests[i].n`` continuations of each prefix from the server."""
        return run_sync(self.agenerate(requests))

    # -- token counting ------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Prompt length in tokens: `tokenizer`, else the server's tokenize endpoint, else the shared fallback
        (`itslab.generators.common.upper_bound_tokens`)."""
        if text in self._count_cache:
            return self._count_cache[text]
        n = self._count(text)
        if len(self._count_cache) > 4096:
            self._count_cache.clear()
        self._count_cache[text] = n
        return n

    def _count(self, text: str) -> int:
        if self._tokenizer is not None:
            return int(self._tokenizer(text))
        if self._count_route != "bytes":
            import httpx

            root = self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url
            # (url, body, reply field holding the answer): vLLM, llama.cpp's llama-server, llama-cpp-python
            routes = {
                "vllm": (f"{root}/tokenize", {"model": self.model, "prompt": text}, "count"),
                "llama-server": (f"{root}/tokenize", {"content": text, "add_special": True}, "tokens"),
                "llama-cpp-python": (f"{root}/extras/tokenize/count", {"input": text}, "count"),
            }
            for name in [self._count_route] if self._count_route else list(routes):
                url, body, key = routes[name]
                try:
                    r = httpx.post(url, json=body, headers=self._headers(), timeout=self.timeout, verify=_verify(url))
                    got = r.json().get(key) if r.is_success else None
                except (httpx.HTTPError, ValueError, AttributeError):
                    got = None
                if got is not None:
                    self._count_route = name
                    return len(got) if isinstance(got, list) else int(got)
            self._count_route = "bytes"
        return upper_bound_tokens(text)

    def format_prompt(self, problem: Any) -> str:
        """The problem's prompt as sent (the server applies any chat template in chat mode)."""
        return problem.prompt

    def __repr__(self) -> str:  # never shows the API key
        return (
            f"OpenAIGenerator({self.base_url!r}, model={self.model!r}, api={self.api!r}, "
            f"samples={self.samples!r}, max_concurrency={self.max_concurrency})"
        )
