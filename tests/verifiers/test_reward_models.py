"""ORM/PRM adapters on tiny randomly initialised models built from configs (no download).

Checks shapes (one score per text / per step), step alignment with the separator tokens,
batch-vs-one-by-one equality (within 1e-4), and FLOPs accounting.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from itslab.types import Problem  # noqa: E402
from itslab.verifiers import OutcomeRewardModel, ProcessRewardModel  # noqa: E402
from itslab.verifiers.prm import FORMATS, PRMFormat  # noqa: E402

P = Problem(id="toy/rm", prompt="what is two plus three ?", answer="5", meta={"question": "what is two plus three ?"})
TEXTS = [
    "two plus three is five",
    "we add two and three\n\nso it is 5\n\nthe answer is 5",
    "step 1 : 2 + 3 = 5\n\nthe answer is 5",
    "so we add x + y\n\nthen z - 3\n\nit is 6\n\nthe answer is 6",
    "5",
]
N_STEPS = [1, 3, 2, 4, 1]


def _cfg(cls, vocab, **kw):
    torch.manual_seed(0)  # test-only: the tiny model's random init
    return cls(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
        **kw,
    )


@pytest.fixture(scope="module")
def llama_lm(tiny_tokenizer):
    return transformers.LlamaForCausalLM(_cfg(transformers.LlamaConfig, len(tiny_tokenizer))).eval()


@pytest.fixture(scope="module")
def llama_cls(tiny_tokenizer):
    return transformers.LlamaForSequenceClassification(
        _cfg(transformers.LlamaConfig, len(tiny_tokenizer), num_labels=1)
    ).eval()


@pytest.fixture(scope="module")
def qwen_tok_cls(tiny_tokenizer):
    return transformers.Qwen2ForTokenClassification(
        _cfg(transformers.Qwen2Config, len(tiny_tokenizer), num_labels=2)
    ).eval()


def _batch_equals_single(v, texts):
    batched = v.score(P, texts)
    single = [v.score(P, [t])[0] for t in texts]
    assert [len(s) for s in batched] == [len(s) for s in single]
    for b, s in zip(batched, single):
        assert b == pytest.approx(s, abs=1e-4)
    return batched


def test_orm_shapes_batching_and_cost(llama_cls, tiny_tokenizer):
    orm = OutcomeRewardModel(llama_cls, tiny_tokenizer, batch_size=3)
    scores = _batch_equals_single(orm, TEXTS)
    assert all(len(s) == 1 for s in scores) and len({s for s in scores}) > 1
    u = orm.cost(P, TEXTS)
    n_tok = sum(len(orm.encode(P, t)) for t in TEXTS)
    n_params = sum(p.numel() for p in llama_cls.parameters())
    assert (u.verifier_calls, u.verifier_tokens) == (len(TEXTS), n_tok)
    assert u.verifier_flops == pytest.approx(2 * n_params * n_tok)


def test_orm_reads_the_last_real_token_even_if_it_is_the_pad_id(llama_cls, tiny_tokenizer):
    orm = OutcomeRewardModel(llama_cls, tiny_tokenizer, chat=False)
    ids = orm.encode(P, "the answer is 5")
    with torch.inference_mode():
        ref = llama_cls.score(llama_cls.model(input_ids=torch.tensor([ids])).last_hidden_state)[0, -1, 0].item()
    assert orm.score(P, ["the answer is 5"])[0][0] == pytest.approx(ref, abs=1e-5)


def test_orm_uses_the_chat_template(llama_cls, tiny_tokenizer):
    chat = OutcomeRewardModel(llama_cls, tiny_tokenizer)
    plain = OutcomeRewardModel(llama_cls, tiny_tokenizer, chat=False)
    ids = chat.encode(P, "5")
    assert tiny_tokenizer.decode(ids).startswith("[ user ]")
    assert chat.encode(P, "5") != plain.encode(P, "5")
    assert (
        OutcomeRewardModel(llama_cls, tiny_tokenizer, max_length=4).encode(P, "the answer is 5")
        == plain.encode(P, "the answer is 5")[-4:]
    )


def test_math_shepherd_alignment_and_batching(llama_lm, tiny_tokenizer):
    prm = ProcessRewardModel(llama_lm, tiny_tokenizer, format="math_shepherd", batch_size=2)
    scores = _batch_equals_single(prm, TEXTS)
    assert [len(s) for s in scores] == N_STEPS and all(0 < x < 1 for s in scores for x in s)
    ((ids, pos),) = prm.encode(P, TEXTS[1])
    tag = tiny_tokenizer.convert_tokens_to_ids("ки")
    assert [i for i, t in enumerate(ids) if t == tag] == pos  # read exactly at the step tags
    # the reference readout: softmax over ('+', '-') logits of the full LM at each tag
    plus, minus = (tiny_tokenizer.convert_tokens_to_ids(t) for t in ("+", "-"))
    with torch.inference_mode():
        logits = llama_lm(input_ids=torch.tensor([ids])).logits[0]
    ref = torch.softmax(logits[pos][:, [plus, minus]], dim=-1)[:, 0].tolist()
    assert list(scores[1]) == pytest.approx(ref, abs=1e-5)


def test_qwen_prm_format_alignment_and_batching(qwen_tok_cls, tiny_tokenizer):
    prm = ProcessRewardModel(qwen_tok_cls, tiny_tokenizer, format="qwen_prm", batch_size=4)
    scores = _batch_equals_single(prm, TEXTS)
    assert [len(s) for s in scores] == N_STEPS
    ((ids, pos),) = prm.encode(P, TEXTS[3])
    sep = tiny_tokenizer.convert_tokens_to_ids("<extra_0>")
    assert [i for i, t in enumerate(ids) if t == sep] == pos
    text = tiny_tokenizer.decode(ids)
    assert text.startswith("[ system ] Please reason") and "[ user ] what is two plus three ?" in text
    with torch.inference_mode():
        probs = torch.softmax(qwen_tok_cls(input_ids=torch.tensor([ids])).logits[0], dim=-1)[:, 1]
    assert list(scores[3]) == pytest.approx(probs[pos].tolist(), abs=1e-5)


def test_token_classification_with_custom_tag(qwen_tok_cls, tiny_tokenizer):
    fmt = PRMFormat("hash_tag", "token_class", step_tag=" #", label=1)
    prm = ProcessRewardModel(qwen_tok_cls, tiny_tokenizer, format=fmt)
    scores = _batch_equals_single(prm, TEXTS)
    assert [len(s) for s in scores] == N_STEPS


def test_prefix_classification_scores_every_prefix(llama_cls, tiny_tokenizer):
    prm = ProcessRewardModel(llama_cls, tiny_tokenizer, format="prefix_classification", batch_size=3)
    orm = OutcomeRewardModel(llama_cls, tiny_tokenizer, chat=False)
    scores = _batch_equals_single(prm, TEXTS)
    assert [len(s) for s in scores] == N_STEPS
    # the last prefix is the whole solution: its score is the ORM's on the same text
    q = Problem(id=P.id, prompt=P.meta["question"] + " ", answer=P.answer)
    assert scores[1][-1] == pytest.approx(orm.score(q, [TEXTS[1]])[0][0], abs=1e-4)
    u = prm.cost(P, [TEXTS[1]])
    assert u.verifier_calls == 1 and u.verifier_tokens == sum(len(ids) for ids, _ in prm.encode(P, TEXTS[1]))


def test_prm_cost_matches_tokens_read(llama_lm, tiny_tokenizer):
    prm = ProcessRewardModel(llama_lm, tiny_tokenizer, format="math_shepherd")
    u = prm.cost(P, TEXTS)
    n_tok = sum(len(ids) for t in TEXTS for ids, _ in prm.encode(P, t))
    assert (u.verifier_calls, u.verifier_tokens) == (len(TEXTS), n_tok)
    assert u.verifier_flops == pytest.approx(2 * prm.n_params * n_tok)


def test_prm_errors(llama_lm, tiny_tokenizer):
    with pytest.raises(ValueError, match="unknown PRM format 'nope'"):
        ProcessRewardModel(llama_lm, tiny_tokenizer, format="nope")
    with pytest.raises(ValueError, match="longer than max_length"):
        ProcessRewardModel(llama_lm, tiny_tokenizer, format="math_shepherd", max_length=3).score(P, [TEXTS[3]])
    assert set(FORMATS) == {"math_shepherd", "qwen_prm", "token_classification", "prefix_classification"}


@pytest.mark.gpu
def test_reward_models_score_the_same_on_a_cuda_device(llama_cls, llama_lm, tiny_tokenizer):
    """The adapters send inputs to the model's device: on CUDA (float32) the scores are the CPU's."""
    import copy

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    makers = (
        (llama_cls, lambda m: OutcomeRewardModel(m, tiny_tokenizer, batch_size=3)),
        (llama_lm, lambda m: ProcessRewardModel(m, tiny_tokenizer, format="math_shepherd", batch_size=2)),
    )
    for model, make in makers:
        want = make(model).score(P, TEXTS)
        got = make(copy.deepcopy(model).to("cuda")).score(P, TEXTS)
        assert [len(s) for s in got] == [len(s) for s in want]
        for g, w in zip(got, want):
            assert g == pytest.approx(w, abs=1e-4)
