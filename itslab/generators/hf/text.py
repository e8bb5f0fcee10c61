"""Text <-> token ids for the transformers engine: prefix-stable encoding, faithful decoding, chat.

Strategies speak in text, the prefix cache in token ids. Two details keep them in step:

* prefix-stable encoding: a prefix ending in whitespace is tokenized as it reads when more text
  follows. Byte-level BPE (GPT-2 style, as in SmolLM2 and Qwen2.5) merges a trailing "\\n\\n"
  into one token only at the very end of a string and splits it before a word, so a step
  prefix re-tokenized together with its next step would otherwise disagree with its own cached
  tokens at every step boundary. It is also how the model saw paragraph breaks in training.
* continuation decoding with a few prompt tokens of context, which keeps a leading space that
  SentencePiece tokenizers drop when a continuation is decoded on its own.

>>> class Toy:  # a character-level tokenizer is enough to show the interface
...     bos_token_id = None; eos_token_id = 0; chat_template = None
...     def encode(self, text, add_special_tokens=False): return [ord(c) for c in text]
...     def decode(self, ids, **kw): return "".join(chr(i) for i in ids)
>>> codec = TextCodec(Toy())
>>> codec.encode("ab "), codec.decode_continuation([97], [98, 99])
([97, 98, 32], 'bc')
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

_DECODE = {"skip_special_tokens": True, "clean_up_tokenization_spaces": False}
_EXACT = {"skip_special_tokens": False, "clean_up_tokenization_spaces": False}


class TextCodec:
    """Wraps a Hugging Face tokenizer with the engine's encoding conventions."""

    def __init__(self, tokenizer: Any, extra_eos: Sequence[int | None] = ()) -> None:
        self.tokenizer = tokenizer
        eos = {tokenizer.eos_token_id, *extra_eos}
        self.eos_ids = frozenset(int(i) for i in eos if i is not None)
        bos = tokenizer.bos_token_id
        # add a BOS only for tokenizers that add one themselves (Llama, Gemma), not for ChatML ones
        self.auto_bos = bos if bos is not None and tokenizer.encode("a", add_special_tokens=True)[:1] == [bos] else None

    def _plain(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def stable_ids(self, text: str) -> list[int]:
        """Tokens of `text` as they read when more text follows (see the module docstring)."""
        plain = self._plain(text)
        if not text or not text[-1].isspace():
            return plain
        probe = self._plain(text + "x")
        for k in range(len(probe) - 1, 0, -1):  # longest token prefix whose text is a prefix of `text`
            head = self.tokenizer.decode(probe[:k], **_EXACT)
            if text.startswith(head):
                rest = text[len(head) :]
                return probe[:k] + (self._plain(rest) if rest else [])
        return plain

    def encode(self, text: str) -> list[int]:
        """Prefix token ids: prefix-stable, plus BOS where the tokenizer would add one; never empty."""
        ids = self.stable_ids(text)
        if self.auto_bos is not None and ids[:1] != [self.auto_bos]:
            ids = [self.auto_bos] + ids
        if not ids:  # an empty prefix still needs one token to condition on
            bos = self.tokenizer.bos_token_id
            ids = [bos if bos is not None else min(self.eos_ids)]
        return ids

    def encode_continuation(self, text: str) -> list[int]:
        """Tokens of a continuation on its own (the lm-evaluation-harness convention for scoring)."""
        return self._plain(text)

    def decode_continuation(self, prompt_ids: Sequence[int], ids: Sequence[int]) -> str:
        """Text of generated `ids` as they read after the prompt (special tokens such as EOS dropped)."""
        ctx = list(prompt_ids[-4:])
        head = self.tokenizer.decode(ctx, **_DECODE)
        full = self.tokenizer.decode(ctx + list(ids), **_DECODE)
        return full[len(head) :] if full.startswith(head) else self.tokenizer.decode(list(ids), **_DECODE)

    def window_text(self, ids: Sequence[int]) -> str:
        """Decoded text of a short window of tokens (for incremental stop-string checks)."""
        return self.tokenizer.decode(list(ids), **_DECODE)

    def chat_prompt(self, messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True) -> str:
        """Prompt text from chat messages via the tokenizer's chat template (e.g. ChatML for SmolLM2)."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError("this tokenizer has no chat template; pass a plain text prompt instead")
        return self.tokenizer.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=add_generation_prompt
        )
