"""Real SmolLM2-135M, fp32: where the model's free answer already follows the answer grammar, constrained
decoding gives the same tokens, the same label steps and the same probabilities."""

import numpy as np
import pytest

from labeldist.methods import METHODS
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, LabelSet
from labeldist.runs.runner import Classifier, RunConfig, run_examples

pytestmark = pytest.mark.slow

LS = LabelSet(("joy", "anger", "surprise"))
DEMOS = [Example("r1", "What a beautiful morning.", ("joy",)),
         Example("r2", "You scared me half to death!", ("anger", "surprise")),
         Example("r3", "I can't believe you did that to me.", ("anger",)),
         Example("r4", "Best birthday ever, thank you all!", ("joy", "surprise"))]
TEXTS = ["I won the lottery, amazing!", "This is outrageous, I'm so mad.", "The bus is late again.",
         "Wow, I did not see that coming at all.", "Thank you so much for the flowers!", "Stop lying to me."]


def run(backend, decoding):
    clf = Classifier(backend, LS, RunConfig(prompt=PromptConfig(shots=4), decoding=decoding), DEMOS)
    records, _ = run_examples(clf, [Example(f"t{i}", t) for i, t in enumerate(TEXTS)], progress=False)
    return clf, records


def test_constrained_equals_free_where_the_free_answer_follows_the_grammar(smol_backend):
    clf, constrained = run(smol_backend, "constrained")
    _, free = run(smol_backend, "free")
    n_open = len(clf.grammar.opening_ids)
    same = 0
    for c, f in zip(constrained, free):
        free_ids = f.generation.ids
        if free_ids[:n_open] != clf.grammar.opening_ids or free_ids[n_open:] != c.generation.ids:
            continue  # the free answer left the grammar: nothing to compare
        same += 1
        assert [s.position + n_open for s in c.steps] == [s.position for s in f.steps]
        assert [s.label for s in c.steps] == [s.label for s in f.steps]
        for sc, sf in zip(c.steps, f.steps):
            np.testing.assert_allclose(sc.scores, sf.scores, atol=1e-4)
        # the token-level methods see the same labels and the same model log-probabilities; their values differ
        # by definition (constrained: the constrained sampler's probabilities, free: the model's from the first token)
        assert [(s.label, s.start + n_open, s.end + n_open) for s in c.generation.label_spans] == \
            [(s.label, s.start, s.end) for s in f.generation.label_spans]
        cl, fl = np.array(c.generation.token_logprobs, dtype=float), np.array(f.generation.token_logprobs, dtype=float)
        ok = ~np.isnan(cl)
        np.testing.assert_allclose(cl[ok], fl[n_open:][ok], atol=1e-4)
        for m in c.methods:
            if "token_logprobs" in METHODS[m].reads:
                continue
            np.testing.assert_allclose(c.methods[m], f.methods[m], atol=1e-5, err_msg=m)
    assert same >= 2, "SmolLM2 should answer at least two of these texts in the demos' format"
