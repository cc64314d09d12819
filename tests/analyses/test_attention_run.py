"""`labeldist run --attention` on the tiny random Llama: attention rows, region masses, the reference's off-by-one."""

import numpy as np
import pytest
import torch

from labeldist.analyses.attention import label_step_attention
from labeldist.errors import LabeldistError
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import (
    Example,
    ExampleRecord,
    GenerationRecord,
    LabelSet,
    PromptIds,
    StepAttention,
    StepScores,
)
from labeldist.runs.attention import attach_attention, step_attention
from labeldist.runs.runner import Classifier, RunConfig, run_examples

LS = LabelSet(("joy", "anger", "fear"))
TEXTS = ["I won the lottery!", "You broke my phone again.", "There is a spider on my bed.", "What a day.",
         "Thanks so much, you are the best!", "The train is late and I am furious.", "Nothing to say.",
         "I love it and I hate it."]


@pytest.fixture(scope="module")
def classifier(tiny_backend):
    torch.set_num_threads(1)
    return Classifier(tiny_backend, LS, RunConfig(model="tiny", prompt=PromptConfig(shots=0), attention=True,
                                                  batch_size=4))


@pytest.fixture(scope="module")
def records(classifier, tiny_backend):
    """Records of a three-label answer at label positions 0, 3 and 7 (the random model itself rarely writes two)."""
    answer = tiny_backend.tokenizer.encode('joy", "anger", "fear"]}')
    assert len(answer) > 7
    recs = []
    for i, text in enumerate(TEXTS[:3]):
        rec = ExampleRecord(f"t{i}", text)
        rec.generation = GenerationRecord("", answer, ["joy", "anger", "fear"], [], "grammar")
        rec.steps = [StepScores(j, answer[j], lab, np.zeros(4)) for j, lab in zip((0, 3, 7), ("joy", "anger", "fear"))]
        recs.append(rec)
    recs.append(ExampleRecord("t9", "one label only", generation=GenerationRecord("", answer[:2], ["joy"], [], "grammar"),
                              steps=[StepScores(0, answer[0], "joy", np.zeros(4))]))
    attach_attention(tiny_backend, [classifier.build_prompt(r.text) for r in recs], recs)
    return recs


def _full_rows(backend, prompt: PromptIds, generated, queries):
    """Attention rows from one plain forward of the whole sequence with output_attentions (eager)."""
    model = backend.model
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            out = model(torch.tensor([list(prompt.ids) + list(generated)]), output_attentions=True)
    finally:
        model.set_attn_implementation(previous)
    full = torch.stack([a[0] for a in out.attentions])  # (layers, heads, T, T)
    return full[:, :, queries, : max(queries) + 1].permute(2, 0, 1, 3).double().numpy()


def test_attention_rows_sum_to_one_per_head_and_match_a_plain_forward(tiny_backend):
    prompt = PromptIds((tuple(range(300, 330)), tuple(range(400, 412))))
    generated, queries = [5, 6, 7, 8, 9, 10], [42, 44, 47]
    before = tiny_backend.model.config._attn_implementation
    rows = tiny_backend.attention_rows(prompt, generated, queries)
    assert tiny_backend.model.config._attn_implementation == before  # eager only for that forward
    assert rows.shape == (3, 2, 4, 48)  # (queries, layers, heads, keys up to the last query)
    for k, q in enumerate(queries):
        np.testing.assert_allclose(rows[k, :, :, : q + 1].sum(-1), 1.0, atol=1e-6)  # every head's causal row
        assert np.all(rows[k, :, :, q + 1 :] == 0.0)  # nothing on later keys
    np.testing.assert_allclose(rows, _full_rows(tiny_backend, prompt, generated, queries), atol=1e-6)
    with pytest.raises(LabeldistError, match="lies in the cached 30-token prompt prefix"):
        tiny_backend.attention_rows(prompt, generated, [20])


def test_stored_masses_are_the_regions_of_the_predicting_querys_row(tiny_backend, classifier, records):
    assert [len(r.attention) for r in records] == [2, 2, 2, 0]  # every label step after the first
    multi = records[:3]
    for rec in multi:
        prompt = classifier.build_prompt(rec.text)
        P = len(prompt)
        pos = [s.position for s in rec.steps]
        rows = _full_rows(tiny_backend, prompt, rec.generation.ids, [P + j - 1 for j in pos[1:]])
        for k, a in enumerate(rec.attention, start=1):
            row = rows[k - 1]
            mass = lambda keys: float(row[:, :, keys].sum(-1).mean(-1).mean())  # noqa: E731
            assert (a.step, a.position, a.prompt_len) == (k, pos[k], P)
            assert a.input + a.generated == pytest.approx(1.0, abs=1e-6)  # the two regions cover the causal row
            assert a.input == pytest.approx(mass(list(range(P))), abs=1e-6)
            assert a.labels == pytest.approx(mass([P + j for j in pos[:k]]), abs=1e-6)  # the label tokens themselves
            assert a.labels_reference == pytest.approx(mass([P + j - 1 for j in pos[: k + 1]]), abs=1e-6)
            assert a.labels != pytest.approx(a.labels_reference)  # the off-by-one reads other keys
            assert (a.n_input, a.n_generated, a.n_labels, a.n_labels_reference) == (P, pos[k], k, k + 1)
            assert a.per_token("labels") == pytest.approx(a.labels / k)


def test_attention_survives_the_record_round_trip(records):
    rec = records[0]
    again = ExampleRecord.from_dict(rec.to_dict())
    assert again.attention == rec.attention
    d = rec.attention[0].to_dict()
    assert d["per_token"]["input"] == pytest.approx(d["input"] / d["n_input"])
    plain = ExampleRecord("x", "t")
    assert "attention" not in plain.to_dict() and ExampleRecord.from_dict(plain.to_dict()).attention == []


def test_the_runner_attaches_attention_to_every_batch_it_generates(classifier, monkeypatch):
    import labeldist.runs.runner as runner

    calls = []
    real = runner.attach_attention
    monkeypatch.setattr(runner, "attach_attention", lambda b, p, r: (calls.append((list(p), list(r))), real(b, p, r)))
    recs, _ = run_examples(classifier, [Example(f"t{i}", t) for i, t in enumerate(TEXTS)], progress=False)
    assert sum(len(r) for _, r in calls) == len(TEXTS) and len(calls) == 2  # batches of 4
    for prompts, batch in calls:
        assert prompts == [classifier.build_prompt(r.text) for r in batch]
    for rec in recs:
        assert len(rec.attention) == max(0, len(rec.steps) - 1)


def test_step_attention_agrees_with_the_analysis_definition_of_both_key_sets():
    rng = np.random.default_rng(3)
    P, pos = 7, [0, 2, 5, 9]
    for k in (1, 2, 3):
        row = rng.dirichlet(np.ones(P + pos[k]), size=(3, 2))  # (layers, heads, causal keys)
        s = step_attention(row, P, pos, k)
        fixed = label_step_attention(row, P, pos, pos[k])
        ref = label_step_attention(row, P, pos, pos[k], label_keys="reference")
        assert (s.input, s.generated, s.labels) == pytest.approx((fixed.input, fixed.generated, fixed.labels))
        assert s.labels_reference == pytest.approx(ref.labels) and s.n_labels_reference == ref.n_labels
    with pytest.raises(LabeldistError, match="is not a later step"):
        step_attention(row, P, pos, 0)


def test_attention_needs_the_local_backend_and_the_generation_group():
    with pytest.raises(LabeldistError, match="--attention needs the model's attention weights, which --backend http"):
        RunConfig(backend="http", attention=True)
    with pytest.raises(LabeldistError, match="only the generation group makes"):
        RunConfig(methods=("unary",), attention=True)
    assert "attention" not in RunConfig().to_dict() and RunConfig(attention=True).to_dict()["attention"] is True

    class NoAttention:
        pass

    rec = ExampleRecord("x", "t")
    with pytest.raises(LabeldistError, match="cannot return attention weights"):
        attach_attention(NoAttention(), [PromptIds(((1, 2),))], [rec])


def test_step_attention_record_rejects_unknown_regions():
    a = StepAttention(1, 3, 10, 0.8, 0.2, 0.1, 0.15, 10, 3, 1, 2)
    assert a.per_token("generated") == pytest.approx(0.2 / 3)
    with pytest.raises(KeyError, match="unknown attention region 'prompt'"):
        a.mass("prompt")
