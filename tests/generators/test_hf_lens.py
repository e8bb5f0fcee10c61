"""The logit lens on the transformers engine (early exit, Sun et al. 2024, arXiv:2401.09964):
`LensReadout`'s curves and exit layers on hand-made guesses, and `logit_lens` on the embedded
SmolLM2-135M, whose last layer must be the model's own greedy choice."""

from __future__ import annotations

import numpy as np
import pytest

from itslab.generators.hf.lens import LensReadout, concat


def test_curves_and_exit_layers_by_hand():
    # 4 layers x 3 positions; layer 4 is the output
    preds = np.array([[7, 1, 5], [2, 1, 5], [9, 1, 6], [9, 1, 5]])
    r = LensReadout.from_predictions(preds, np.array([9, 3, 5]))
    assert r.agreement().tolist() == [2 / 3, 2 / 3, 2 / 3, 1.0]
    assert r.accuracy().tolist() == [1 / 3, 1 / 3, 1 / 3, 2 / 3]
    # position 0 settles at layer 3, position 1 at layer 1, position 2 only at layer 4 (layer 3 differs)
    assert r.exit_layer().tolist() == [3, 1, 4]
    assert r.saved_fraction().tolist() == [0.25, 0.75, 0.0]
    both = concat([r, r])
    assert both.agree.shape == (4, 6) and both.exit_layer().tolist() == [3, 1, 4] * 2


@pytest.fixture(scope="module")
def smollm():
    pytest.importorskip("torch")
    from itslab import models

    return models.load("smollm2-135m", device="cpu", cache_bytes=0, num_threads=1)


def test_logit_lens_on_smollm2(smollm):
    from itslab.generators.hf.lens import logit_lens
    from itslab.types import Request

    text = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a"
    r = logit_lens(smollm, text, max_tokens=24)
    ids = smollm.encode(text)
    n = min(24, len(ids) - 1)
    assert r.agree.shape == r.correct.shape == (30, n)
    assert r.agreement()[-1] == 1.0 and (r.exit_layer() >= 1).all() and (r.exit_layer() <= 30).all()
    # the last position's final-layer guess is the engine's greedy token after the text minus its last token
    head = smollm.tokenizer.decode(ids[:n])
    greedy = smollm.generate([Request(head, n=1, max_tokens=1, temperature=0.0, seed=0)])[0][0]
    assert r.correct[-1, -1] == (greedy.token_ids[0] == ids[n])
    with pytest.raises(ValueError, match="at least 2 tokens"):
        logit_lens(smollm, "x", max_tokens=0)
