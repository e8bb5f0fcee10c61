"""Fixtures for the reward-model tests: an offline word-level tokenizer (no download)."""

from __future__ import annotations

import pytest

WORDS = (
    "what is two plus three five six step the answer so we add then it Tom has apples buys more how many "
    "does have now yes no correct solution question proposed x y z a b c"
).split()
CHAT_TEMPLATE = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} [end] {% endfor %}"


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A PreTrainedTokenizerFast over a word-level vocabulary, built in memory, with a chat template."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "<extra_0>"]
    symbols = ["+", "-", "=", ".", ":", "?", "[", "]", "ки", "#", "\\", "{", "}", "$", ",", "*", "/"]
    digits = [str(i) for i in range(100)]
    roles = [
        "user",
        "assistant",
        "system",
        "end",
        "Please",
        "reason",
        "by",
        "and",
        "put",
        "your",
        "final",
        "within",
        "boxed",
        "Step",
    ]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(specials + symbols + digits + list(WORDS) + roles))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        additional_special_tokens=["<extra_0>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast
