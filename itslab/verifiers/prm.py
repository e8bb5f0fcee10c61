"""Process reward models through transformers: one score per step, read at step-separator tokens.

A PRM (Lightman et al. 2023, "Let's Verify Step by Step", arXiv:2305.20050) scores every step of a
solution. Released PRMs differ in how steps are marked and read; `PRMFormat` captures that, and
`FORMATS` holds Math-Shepherd, Qwen2.5-Math-PRM, any token-classification head, and a sequence
classifier applied to every step prefix (docs/methods.md). The whole input is tokenized at once,
as the models were trained, and each tag is located through the fast tokenizer's character
offsets, so a tag that merges with its neighbour is still found; steps and tags are checked to
pair one-to-one on every call.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Sequence

from itslab.budget import CostModel
from itslab.protocols import STEP_DELIMITER, Scores
from itslab.types import Problem, Usage
from itslab.verifiers.base import as_texts, split_steps
from itslab.verifiers.reward_models import chat_prefix


@dataclass(frozen=True)
class PRMFormat:
    """How a PRM marks steps and where its per-step score is read.

    `readout`: ``lm`` (good/bad token probabilities of a causal LM at the tag), ``token_class``
    (a per-token class head at the tag; `label` = positive class, default last; one class =
    sigmoid of the logit) or ``prefix`` (a sequence-classification head on each step prefix).
    """

    name: str
    readout: str
    step_tag: str = STEP_DELIMITER
    good_token: str = "+"
    bad_token: str = "-"
    label: int | None = None
    step_prefix: str = ""
    step_joiner: str = ""
    question_sep: str = " "
    system: str | None = None
    chat: bool = False

    def __post_init__(self) -> None:
        if self.readout not in ("lm", "token_class", "prefix"):
            raise ValueError(f"PRMFormat.readout must be 'lm', 'token_class' or 'prefix', got {self.readout!r}")
        if self.readout != "prefix" and not self.step_tag:
            raise ValueError("PRMFormat.step_tag must be non-empty for tag readouts")


FORMATS: dict[str, PRMFormat] = {
    "math_shepherd": PRMFormat("math_shepherd", "lm", step_tag=" ки", step_prefix="Step {i}: ", step_joiner="\n"),
    "qwen_prm": PRMFormat(
        "qwen_prm",
        "token_class",
        step_tag="<extra_0>",
        label=1,
        chat=True,
        system="Please reason step by step, and put your final answer within \\boxed{}.",
    ),
    "token_classification": PRMFormat("token_classification", "token_class"),
    "prefix_classification": PRMFormat("prefix_classification", "prefix", step_tag="", step_joiner=STEP_DELIMITER),
}
_AUTO = {
    "lm": "AutoModelForCausalLM",
    "token_class": "AutoModelForTokenClassification",
    "prefix": "AutoModelForSequenceClassification",
}


def _question(problem: Problem) -> str:
    # PRMs were trained on the bare question, not on our instruction-wrapped prompt
    return str(problem.meta.get("question", problem.prompt))


class ProcessRewardModel:
    """A process verifier backed by a transformers model in one of the `FORMATS` (or a custom `PRMFormat`)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        format: str | PRMFormat = "math_shepherd",
        batch_size: int = 8,
        max_length: int | None = None,
        delimiter: str = STEP_DELIMITER,
        name: str | None = None,
    ) -> None:
        fmt = FORMATS[format] if isinstance(format, str) and format in FORMATS else format
        if not isinstance(fmt, PRMFormat):
            raise ValueError(f"unknown PRM format {format!r}; valid: {sorted(FORMATS)} or a PRMFormat")
        self.format: PRMFormat = fmt
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_length, self.delimiter = batch_size, max_length, delimiter
        self.name = name or f"prm:{self.format.name}"
        self._n_params: int | None = None

    @classmethod
    def from_pretrained(
        cls,
        model_id: str,
        *,
        format: str | PRMFormat,
        device: str | None = None,
        dtype: Any = "auto",
        trust_remote_code: bool = False,
        **kwargs: Any,
    ) -> "ProcessRewardModel":
        """Load a PRM and its tokenizer; the Auto class follows the format's readout
        (Qwen2.5-Math-PRM needs ``trust_remote_code=True`` and loads through ``AutoModel``).

        Real models need the hub or a local copy (tests use tiny random models instead)::

            prm = ProcessRewardModel.from_pretrained("peiyi9979/math-shepherd-mistral-7b-prm",
                                                     format="math_shepherd")
            prm = ProcessRewardModel.from_pretrained("Qwen/Qwen2.5-Math-PRM-7B", format="qwen_prm",
                                                     trust_remote_code=True, dtype="bfloat16")
            prm.score(problem, [solution])   # -> [(s_1, ..., s_n)], one per step split on STEP_DELIMITER
        """
        import transformers

        from itslab.verifiers._hf import load_pretrained

        fmt = FORMATS[format] if isinstance(format, str) else format
        auto = (
            transformers.AutoModel
            if trust_remote_code and fmt.readout == "token_class"
            else getattr(transformers, _AUTO[fmt.readout])
        )
        model, tok = load_pretrained(auto, model_id, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
        return cls(model, tok, format=fmt, name=f"prm:{model_id}", **kwargs)

    @property
    def n_params(self) -> int:
        """Parameter count, for FLOPs."""
        if self._n_params is None:
            from itslab.verifiers._hf import n_params

            self._n_params = n_params(self.model)
        return self._n_params

    # -- input construction -------------------------------------------------------------
    def _head(self, problem: Problem) -> tuple[str, bool]:
        f = self.format
        if f.chat:
            msgs = ([{"role": "system", "content": f.system}] if f.system else []) + [
                {"role": "user", "content": _question(problem)}
            ]
            head = chat_prefix(self.tokenizer, msgs)
            if head is None:
                raise ValueError(f"{self.name}: format {f.name!r} needs a tokenizer with a chat template")
            return head, True
        return _question(problem) + f.question_sep, False

    def _steps(self, text: str) -> list[str]:
        tag = self.format.step_tag.strip()
        steps = [s.strip() for s in split_steps(text, self.delimiter)]
        return [s.replace(tag, "") for s in steps] if tag else steps

    def _body(self, steps: Sequence[str], with_tags: bool) -> tuple[str, list[int]]:
        """Steps as the format writes them, and the character index of each tag's last character."""
        f, s, ends = self.format, "", []
        for i, st in enumerate(steps):
            s += (f.step_joiner if i else "") + f.step_prefix.format(i=i + 1) + st
            if with_tags:
                s += f.step_tag
                ends.append(len(s) - 1)
        return s, ends

    def _tokenize(self, text: str, chat: bool) -> tuple[list[int], list[int]]:
        enc = self.tokenizer(text, add_special_tokens=not chat, return_offsets_mapping=True)
        return list(enc["input_ids"]), [a for a, _ in enc["offset_mapping"]]

    def encode(self, problem: Problem, text: str) -> list[tuple[list[int], list[int]]]:
        """Model inputs for one solution: ``[(token ids, read positions)]`` — one input holding
        every step tag, or (prefix readout) one input per step prefix, read at its last token."""
        head, chat = self._head(problem)
        steps = self._steps(text)
        if self.format.readout == "prefix":
            out = []
            for i in range(len(steps)):
                ids, _ = self._tokenize(head + self._body(steps[: i + 1], False)[0], chat)
                ids = self._truncate(ids, [len(ids) - 1], problem)[0]
                out.append((ids, [len(ids) - 1]))
            return out
        body, ends = self._body(steps, True)
        if not getattr(self.tokenizer, "is_fast", False):
            raise TypeError(f"{self.name}: a fast tokenizer is needed (character offsets locate the step tags)")
        ids, starts = self._tokenize(head + body, chat)
        pos = [bisect.bisect_right(starts, len(head) + c) - 1 for c in ends]
        if len(set(pos)) != len(steps) or min(pos) < 0:
            raise ValueError(
                f"{self.name}: could not align {len(steps)} steps with step tags {self.format.step_tag!r} "
                f"in problem {problem.id!r} (token positions {pos})"
            )
        return [self._truncate(ids, pos, problem)]

    def _truncate(self, ids: list[int], pos: list[int], problem: Problem) -> tuple[list[int], list[int]]:
        if self.max_length is None or len(ids) <= self.max_length:
            return ids, pos
        cut = len(ids) - self.max_length  # drop the start: the question, not the steps being scored
        if min(pos) < cut:
            raise ValueError(
                f"{self.name}: solution for {problem.id!r} is longer than max_length={self.max_length} tokens"
            )
        return ids[cut:], [p - cut for p in pos]

    # -- scoring ------------------------------------------------------------------------
    def _token_scores(self, ids: Any, mask: Any) -> list[Any]:
        """Per row, a score for every token position (then read at the tags)."""
        import torch

        from itslab.verifiers import _hf

        f = self.format
        if f.readout == "lm":
            good, bad = self._candidate_ids()
            h = _hf.hidden_states(self.model, ids, mask)
            head = self.model.get_output_embeddings() if h is not None else None
            if head is not None:  # only the two candidate rows of the LM head: no [B, T, vocab] tensor
                w = head.weight[[good, bad]]
                logits = h @ w.T + (head.bias[[good, bad]] if getattr(head, "bias", None) is not None else 0)
            else:
                logits = self.model(input_ids=ids, attention_mask=mask).logits[..., [good, bad]]
            return list(torch.softmax(logits.float(), dim=-1)[..., 0].cpu())
        out = self.model(input_ids=ids, attention_mask=mask)
        logits = out.logits if hasattr(out, "logits") else out[0]
        return list(_hf.class_scores(logits, f.label).cpu())

    def _candidate_ids(self) -> tuple[int, int]:
        f, tok = self.format, self.tokenizer
        pair = tok(f"{f.good_token} {f.bad_token}", add_special_tokens=False)["input_ids"]
        if len(pair) == 2:  # as Math-Shepherd's reference code does: encode "+ -" together
            return pair[0], pair[1]
        return (
            tok(f.good_token, add_special_tokens=False)["input_ids"][-1],
            tok(f.bad_token, add_special_tokens=False)["input_ids"][-1],
        )

    def score(self, problem: Problem, texts: Sequence[str]) -> list[Scores]:
        """One score per step per text (steps split on the delimiter), batched on the model's device."""
        from itslab.verifiers import _hf

        texts = as_texts(texts, f"{self.name}.score")
        inputs = [self.encode(problem, t) for t in texts]
        flat = [x for enc in inputs for x in enc]
        dev, pad = _hf.model_device(self.model), _hf.pad_id(self.tokenizer)
        if self.format.readout == "prefix":

            def fn(ids, mask):
                return _hf.class_scores(_hf.sequence_logits(self.model, ids, mask), self.format.label).tolist()

            vals = iter(_hf.run_batches([ids for ids, _ in flat], self.batch_size, pad, dev, fn))
            return [tuple(float(next(vals)) for _ in enc) for enc in inputs]
        rows = _hf.run_batches([ids for ids, _ in flat], self.batch_size, pad, dev, self._token_scores)
        return [tuple(float(rows[i][p]) for p in flat[i][1]) for i in range(len(flat))]

    def cost(self, problem: Problem, texts: Sequence[str]) -> Usage:
        """One call per text; tokens = the exact token counts `score` feeds the model (every prefix, for ``prefix``)."""
        texts = as_texts(texts, f"{self.name}.cost")
        n_tok = sum(len(ids) for t in texts for ids, _ in self.encode(problem, t))
        return CostModel(verifier_params=self.n_params).verifier_usage(len(texts), n_tok)
