"""Breakdown scoring: one batched forward on the prefix cache equals the first step of `generate`
on each full prompt (tolerance 1e-4 on logits, fp32, same kernel), and the probabilities follow
the formulas by hand."""

import numpy as np
import pytest
import torch

from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, LabelSet
from labeldist.runs.runner import Classifier, RunConfig

LS = LabelSet(("joy", "anger"))
DEMOS = [Example("d1", "so happy", ("joy",)), Example("d2", "so mad", ("anger",)),
         Example("d3", "happy and mad", ("joy", "anger"))]


def _scored(backend, methods, **cfg):
    config = RunConfig(methods=methods, prompt=PromptConfig(shots=3), **cfg)
    clf = Classifier(backend, LS, config, DEMOS)
    (rec,) = clf.classify_batch([Example("q", "what a day")])
    return clf, rec


def _first_step_logits(backend, text):
    ids = torch.tensor([backend.tokenizer.bos_ids + backend.tokenizer.encode(text)])
    out = backend.model.generate(ids, max_new_tokens=1, do_sample=False, output_logits=True,
                                 return_dict_in_generate=True, pad_token_id=backend.tokenizer.pad_id)
    return out.logits[0][0].double().numpy()


def test_unary_single_forward_equals_generate_first_step_and_formula(tiny_backend):
    clf, rec = _scored(tiny_backend, ("unary",))
    from labeldist.prompts.breakdown import build_unary_prompt

    prompt = build_unary_prompt("what a day", clf.breakdown.headers["unary"], LS)
    targets = clf.breakdown.targets["unary"]
    for e, text in enumerate(prompt.texts()):
        logits = _first_step_logits(tiny_backend, text)
        for w in ("reasonable", "unreasonable"):
            np.testing.assert_allclose(rec.unary.scores[w][e], logits[targets[w]], atol=1e-4)
        # by hand: P(reasonable) = e^r / (e^r + e^u), r/u = max over each word's variants
        r, u = logits[targets["reasonable"]].max(), logits[targets["unreasonable"]].max()
        expected = 1 / (1 + np.exp(u - r))
        np.testing.assert_allclose(rec.unary.p_reasonable[e], expected, atol=1e-4)
    # multi-label: label probabilities are P(reasonable | l) for the real labels, none excluded
    np.testing.assert_allclose(rec.methods["unary"], rec.unary.p_reasonable[:2])


def test_binary_single_forward_equals_generate_and_bt(tiny_backend):
    clf, rec = _scored(tiny_backend, ("binary",), binary_both_orders=False)  # the paper's single order
    from labeldist.estimators.bradley_terry import fit_bradley_terry
    from labeldist.prompts.breakdown import build_binary_prompt

    prompt = build_binary_prompt("what a day", clf.breakdown.headers["binary"], LS)
    t = clf.breakdown.targets["binary"]
    p = []
    for e, text in enumerate(prompt.texts()):
        logits = _first_step_logits(tiny_backend, text)
        np.testing.assert_allclose(rec.binary.scores["a"][e], logits[t["a"]], atol=1e-4)
        a, b = logits[t["a"]].max(), logits[t["b"]].max()
        p.append(1 / (1 + np.exp(b - a)))
    np.testing.assert_allclose(rec.binary.pair_probs, p, atol=1e-4)
    # pairs over (joy, anger, none): (0,1), (0,2), (1,2); multi-label p_l = sigma(s_l - s_none)
    assert rec.binary.pairs == [[0, 1], [0, 2], [1, 2]]
    s = fit_bradley_terry(np.array([[0, 1], [0, 2], [1, 2]]), np.array(p), 3)
    np.testing.assert_allclose(rec.methods["binary"], 1 / (1 + np.exp(-(s[:2] - s[2]))), atol=1e-4)
    assert rec.cost["binary"].prompts == 3


def test_both_orders_doubles_prompts_and_reports_disagreement(tiny_backend):
    _, rec = _scored(tiny_backend, ("binary",), binary_both_orders=True)
    assert rec.cost["binary"].prompts == 6
    d = rec.binary.position_disagreement
    assert 0.0 <= d <= 1.0
    # the run summary averages it over items
    from labeldist.runs.runner import Classifier, RunConfig, run_examples

    clf = Classifier(tiny_backend, LS, RunConfig(methods=("binary",), prompt=PromptConfig(shots=3),
                                                 binary_both_orders=True), DEMOS)
    _, summary = run_examples(clf, [Example("q", "what a day")], progress=False)
    assert summary.binary_position_disagreement == pytest.approx(d, abs=1e-6)


def test_too_many_pairs_is_refused_before_any_work(tiny_backend):
    import pytest

    from labeldist.errors import LabeldistError

    big = LabelSet(tuple(f"label{i:02d}x" for i in range(41)))
    with pytest.raises(LabeldistError, match=r"--max-binary-pairs"):
        from labeldist.runs.breakdown_runner import BreakdownScorer

        BreakdownScorer(tiny_backend, big, [], RunConfig(methods=("binary",)), ["binary"])


def test_chat_template_prompt_adds_generation_prompt(tiny_backend):
    from labeldist.prompts.fewshot import FewShotPrompter

    p = FewShotPrompter(PromptConfig(chat=True, shots=3), LS, DEMOS, tiny_backend.tokenizer)
    prefix, full = p.text("what a day")
    assert full.rstrip().endswith("<|im_start|>assistant")  # SmolLM2's template, generation prompt added
    assert full.count("<|im_start|>user") == 4 and "Input: so happy" in full
    ids = p.build("what a day")
    assert list(ids.ids) == tiny_backend.tokenizer.encode(full) and ids.segments[0]
