"""Outcome reward models through transformers: a sequence-classification head scores a solution.

An ORM (Cobbe et al. 2021, "Training Verifiers to Solve Math Word Problems"; Lightman et al.
2023) reads the question and a whole solution and returns one score. Here it is any
``AutoModelForSequenceClassification`` checkpoint: with one label the raw logit is the reward
(Bradley-Terry reward models), with two or more the probability of the positive label.

Real models (need the hub or a local copy; not downloaded by tests)::

    orm = OutcomeRewardModel.from_pretrained("Skywork/Skywork-Reward-Llama-3.1-8B-v0.2",
                                             device="cuda", dtype="bfloat16")
    orm.score(problem, [solution_a, solution_b])   # -> [(r_a,), (r_b,)]

The input is the problem's chat messages plus the solution as the assistant turn, rendered
with the tokenizer's chat template when it has one (as reward models are trained), else the
plain-text prompt followed by the solution. Scoring is batched (length-sorted, right-padded),
runs on the model's device, and FLOPs (2·params·tokens read) are charged in `Usage`.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from itslab.budget import CostModel
from itslab.protocols import Scores
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts


def chat_prefix(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> str | None:
    """The chat-templated text of `messages` plus an assistant turn, cut where the assistant's
    content starts (None when the tokenizer has no chat template)."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    marker = "<<ITSLAB-ANSWER-MARKER>>"
    msgs = [dict(m) for m in messages] + [{"role": "assistant", "content": marker}]
    rendered = tokenizer.apply_chat_template(msgs, tokenize=False)
    return rendered.split(marker, 1)[0] if marker in rendered else None


def problem_messages(problem: Problem) -> list[dict[str, str]]:
    """The problem's chat messages, or its prompt as one user turn."""
    return [dict(m) for m in (problem.messages or ({"role": "user", "content": problem.prompt},))]


class OutcomeRewardModel:
    """An outcome verifier backed by a transformers sequence-classification model.

    `label`: which class is "correct" for multi-class heads (default: the last). `max_length`
    truncates from the left, keeping the end of the solution where the answer is.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        batch_size: int = 8,
        max_length: int | None = None,
        label: int | None = None,
        chat: bool | None = None,
        name: str | None = None,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_length, self.label, self.chat = batch_size, max_length, label, chat
        model_id = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        self.name = name or f"orm:{model_id}"
        self._n_params: int | None = None

    @classmethod
    def from_pretrained(
        cls,
        model_id: str,
        *,
        device: str | None = None,
        dtype: Any = "auto",
        trust_remote_code: bool = False,
        **kwargs: Any,
    ) -> "OutcomeRewardModel":
        """Load a sequence-classification reward model and its tokenizer (hub id or local folder)."""
        from transformers import AutoModelForSequenceClassification

        from itslab.verifiers._hf import load_pretrained

        model, tok = load_pretrained(
            AutoModelForSequenceClassification,
            model_id,
            device=device,
            dtype=dtype,
            trust_remote_code=trust_remote_code,
        )
        return cls(model, tok, name=f"orm:{model_id}", **kwargs)

    @property
    def n_params(self) -> int:
        """Parameter count, for FLOPs."""
        if self._n_params is None:
            from itslab.verifiers._hf import n_params

            self._n_params = n_params(self.model)
        return self._n_params

    def encode(self, problem: Problem, text: str) -> list[int]:
        """Token ids the model reads for one solution (prompt + solution, left-truncated to `max_length`)."""
        chat = chat_prefix(self.tokenizer, problem_messages(problem)) if self.chat is not False else None
        if self.chat and chat is None:
            raise ValueError(f"{self.name}: chat=True but the tokenizer has no chat template")
        prefix = problem.prompt if chat is None else chat
        ids = self.tokenizer(prefix + text, add_special_tokens=chat is None)["input_ids"]
        if self.max_length is not None and len(ids) > self.max_length:
            ids = ids[-self.max_length :]
        if not ids:
            raise ValueError(f"{self.name}: empty input for problem {problem.id!r}")
        return list(ids)

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """One reward per text, batched on the model's device."""
        from itslab.verifiers import _hf

        texts = as_texts(texts, f"{self.name}.score")
        seqs = [self.encode(problem, t) for t in texts]

        def fn(ids, mask):
            return _hf.class_scores(_hf.sequence_logits(self.model, ids, mask), self.label).tolist()

        vals = _hf.run_batches(seqs, self.batch_size, _hf.pad_id(self.tokenizer), _hf.model_device(self.model), fn)
        return [(float(v),) for v in vals]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text; tokens = the exact token counts `score` feeds the model."""
        texts = as_texts(texts, f"{self.name}.cost")
        n_tok = sum(len(self.encode(problem, t)) for t in texts)
        return CostModel(verifier_params=self.n_params).verifier_usage(len(texts), n_tok)
