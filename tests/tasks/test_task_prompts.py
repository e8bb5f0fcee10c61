"""Prompt templates: plain prefixes, chat messages, few-shot from GSM8K train."""

import os
from pathlib import Path

import pytest

from itslab.protocols import STEP_DELIMITER
from itslab.tasks import TEMPLATES, format_messages, format_prompt, load, with_template
from itslab.tasks.prompts import PromptTemplate, gsm8k_steps, worked_solution
from itslab.types import Problem

DATA = os.environ.get("ITSLAB_DATA_DIR")
needs_data = pytest.mark.skipif(not DATA or not Path(DATA, "gsm8k").is_dir(), reason="no ITSLAB_DATA_DIR")

P = Problem(
    id="toy/0",
    prompt="",
    answer="7",
    meta={"question": "Tom has 3 apples and buys 4 more. How many?", "solution": "3 + 4 = 7", "source": "arithmetic"},
)


def test_zero_shot_prompt_and_messages():
    text = format_prompt(P, "zero_shot_boxed")
    assert text.endswith("Question: Tom has 3 apples and buys 4 more. How many?\nAnswer:")
    assert "\\boxed{}" in text
    msgs = format_messages(P, "zero_shot_hash")
    assert len(msgs) == 1 and msgs[0]["role"] == "user" and "####" in msgs[0]["content"]


def test_few_shot_with_explicit_shots():
    shots = [P, P]
    text = format_prompt(P, "few_shot_hash", shots=shots)
    assert text.count("Question:") == 3 and text.count("#### 7") == 2
    msgs = format_messages(P, "few_shot_boxed", shots=shots)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert msgs[1]["content"].endswith("The final answer is \\boxed{7}.")


@needs_data
def test_few_shot_defaults_to_gsm8k_train():
    p = load("gsm8k", limit=1)[0]
    text = format_prompt(p, "few_shot_hash")
    train = load("gsm8k", "train", limit=4)
    assert all(t.meta["question"] in text for t in train)
    assert "<<" not in text  # calculator annotations stripped
    q = with_template(p, "few_shot_hash")
    assert q.prompt == text and q.meta["template"] == "few_shot_hash" and len(q.messages) == 9


def test_gsm8k_steps_strip_annotations():
    assert gsm8k_steps("a = <<2*3=6>>6\nb = 7\n#### 7") == f"a = 6{STEP_DELIMITER}b = 7"


def test_boxed_solutions_are_not_boxed_twice():
    p = Problem(id="m", prompt="", answer="2", meta={"solution": "so \\boxed{2}"})
    assert worked_solution(p, "boxed") == "so \\boxed{2}"


def test_bad_template():
    with pytest.raises(ValueError, match="unknown prompt template 'nope'"):
        format_prompt(P, "nope")
    with pytest.raises(ValueError, match="answer_format"):
        PromptTemplate("x", "latex")
    assert set(TEMPLATES) >= {"zero_shot_boxed", "zero_shot_hash", "few_shot_hash"}


def test_chat_templated_prefix_with_a_tokenizer():
    class Tok:
        chat_template = "x"

        def apply_chat_template(self, msgs, tokenize, add_generation_prompt):
            assert tokenize is False and add_generation_prompt is True
            return "".join(f"<{m['role']}>{m['content']}" for m in msgs) + "<assistant>"

    text = format_prompt(P, "zero_shot_boxed", tokenizer=Tok())
    assert text.startswith("<user>Tom has 3 apples") and text.endswith("<assistant>")
    assert format_prompt(P, "zero_shot_boxed", tokenizer=object()) == format_prompt(P, "zero_shot_boxed")
