"""Constrained answers end to end on the tiny random model: every item answers under the grammar,
forced tokens are appended in one forward pass, the grammar's diagnostics are recorded; binary
breakdown is counterbalanced by default."""

import numpy as np
import pytest

from labeldist.backends.base import Backend
from labeldist.labels.grammar import AnswerGrammar
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, LabelSet, ModelInfo
from labeldist.runs.runner import Classifier, RunConfig, run_examples

LS = LabelSet(("joy", "anger", "offensive language"))
DEMOS = [Example("d1", "so happy", ("joy",)), Example("d2", "you idiot", ("anger", "offensive language")),
         Example("d3", "lovely", ("joy",))]
TEXTS = ["what a day", "I hate this so much", "nothing to say", "wow", "the bus is late again, ugh"]


def classify(backend, *, decoding="constrained", demos=DEMOS, shots=3, **cfg):
    config = RunConfig(methods=("generation",), prompt=PromptConfig(shots=shots), decoding=decoding, **cfg)
    clf = Classifier(backend, LS, config, demos)
    records, summary = run_examples(clf, [Example(f"t{i}", t) for i, t in enumerate(TEXTS)], progress=False)
    return clf, records, summary


@pytest.mark.parametrize("shots", [0, 3])
def test_every_item_answers_within_the_grammar(tiny_backend, shots):
    clf, records, summary = classify(tiny_backend, demos=DEMOS if shots else [], shots=shots)
    g: AnswerGrammar = clf.grammar
    assert summary.fallbacks == {} and summary.examples_without_label_token == 0
    for rec in records:
        gen = rec.generation
        assert gen.stop_reason == "grammar" and gen.diagnostics.constrained and gen.diagnostics.well_formed
        assert gen.prefilled == clf.prompter.pieces.opening
        st = g.initial()  # the generated ids are a complete path of the grammar
        for t in gen.ids:
            assert t in g.allowed(st)
            st = g.advance(st, t)
        assert g.done(st)
        # the first generated token is the first label slot by construction
        assert rec.steps and rec.steps[0].position == 0
        assert [s.label for s in rec.steps] == (gen.parsed or ["none"])
        for s in rec.steps:
            assert s.outside_mass is None or 0.0 <= s.outside_mass <= 1.0
            assert s.token_id == gen.ids[s.position]
    assert summary.mean_outside_mass is not None and 0 <= summary.grammar_override_share <= 1


def test_forced_tokens_cost_one_forward_per_decision(tiny_backend):
    clf = Classifier(tiny_backend, LS, RunConfig(prompt=PromptConfig(shots=3)), DEMOS)
    prompts = [clf.build_prompt(t) for t in TEXTS[: tiny_backend.batch_size]]  # one batch
    kw = dict(candidate_ids=clf.token_map.flat_ids, max_new_tokens=clf.max_new_tokens, constraint=clf.grammar)
    tiny_backend.generate(prompts[:1], **kw)  # the shared prefix is now cached
    before = dict(tiny_backend.stats)
    gens = tiny_backend.generate(prompts, **kw)
    calls = tiny_backend.stats["forward_calls"] - before["forward_calls"]
    decisions = max(int((~g.forced).sum()) for g in gens)
    n_tokens = max(len(g.ids) for g in gens)
    # one batched forward for the prompts' tails, then at most one per round of decisions (the last
    # decision of a row needs none, unless the grammar then forces a label slot, whose distribution is
    # read): forced tokens never cost a forward of their own
    assert calls <= decisions + 1
    assert any(g.forced.any() for g in gens) and n_tokens > decisions
    for g in gens:
        assert len(g.slots) == len(g.ids) == len(g.outside_mass) == len(g.forced)
        decided = ~np.isnan(g.outside_mass)
        assert np.all((g.outside_mass[decided] >= 0) & (g.outside_mass[decided] <= 1))
        assert not np.any(np.isnan(g.candidate_scores[:-1][~g.forced[:-1]]))


def test_free_decoding_reads_only_the_answer_and_counts_fallbacks(tiny_backend):
    _, records, summary = classify(tiny_backend, decoding="free")
    for rec in records:
        assert not rec.generation.diagnostics.constrained and rec.generation.prefilled == ""
        if not rec.steps:
            assert rec.method_diagnostics["first_step"].fallback
    assert summary.examples_without_label_token == sum(not r.steps for r in records)
    assert summary.fallbacks.get("first_step", 0) == summary.examples_without_label_token


class PositionBiased(Backend):
    """Answers "a" with probability 0.7 whatever the pair: pure position bias."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.info = ModelInfo("biased", "fake", "test")
        self.stats = {"forward_tokens": 0, "forward_calls": 0}
        self.a, self.b = tokenizer.encode(" a")[0], tokenizer.encode(" b")[0]

    eos_ids = frozenset()
    context_length = 100_000

    def generate(self, prompts, **kw):
        raise AssertionError("breakdown never generates")

    def score_next(self, prompts, *, candidate_ids):
        row = [np.log(0.7) if c == self.a else np.log(0.3) if c == self.b else -30.0 for c in candidate_ids]
        scores = np.tile(row, (len(prompts), 1))
        return scores, np.zeros_like(scores, dtype=bool)


def test_binary_both_orders_cancels_a_constant_position_bias(tiny_backend):
    backend = PositionBiased(tiny_backend.tokenizer)
    ex = [Example("q", "what a day")]
    both = Classifier(backend, LS, RunConfig(methods=("binary",), prompt=PromptConfig(shots=3)), DEMOS)
    (rec,), summary = run_examples(both, ex, progress=False)
    # P(i > j) = (0.7 + 1 - 0.7) / 2 = 0.5 for every pair: every label equally likely, sigma(0) = 0.5
    np.testing.assert_allclose(rec.binary.pair_probs, 0.5)
    np.testing.assert_allclose(rec.methods["binary"], [0.5, 0.5, 0.5])
    assert rec.binary.position_disagreement == 1.0 and summary.binary_position_disagreement == 1.0
    one = Classifier(backend, LS, RunConfig(methods=("binary",), prompt=PromptConfig(shots=3),
                                            binary_both_orders=False), DEMOS)
    (rec1,), _ = run_examples(one, ex, progress=False)
    p = rec1.methods["binary"]
    assert p[0] > p[1] > p[2]  # one order: the label shown first most often wins, by position alone


class Scripted:
    """A constraint that allows exactly one answer (every token forced), delegating slot marks to a grammar."""

    def __init__(self, grammar, path):
        self.g, self.path = grammar, list(path)

    def initial(self):
        return (0, self.g.initial())

    def allowed(self, state):
        i, _ = state
        return (self.path[i],) if i < len(self.path) else ()

    def advance(self, state, token):
        i, st = state
        return (i + 1, self.g.advance(st, token))

    def done(self, state):
        return state[0] >= len(self.path)

    def is_slot(self, state):
        return self.g.is_slot(state[1])


def test_a_forced_label_slot_still_gets_the_models_distribution(tiny_backend):
    from labeldist.records import PromptIds

    ls = LabelSet(("joy", "anger"))
    clf = Classifier(tiny_backend, ls, RunConfig(prompt=PromptConfig(shots=0)), [])
    tok = tiny_backend.tokenizer
    opening = clf.prompter.pieces.opening
    path = tok.encode(opening + 'joy", "anger"]}')[len(tok.encode(opening)):]
    prompt = clf.build_prompt("what a day")
    (gen,) = tiny_backend.generate([prompt], candidate_ids=clf.token_map.flat_ids, max_new_tokens=30,
                                   constraint=Scripted(clf.grammar, path))
    assert gen.ids == path and gen.forced.all() and gen.stop_reason == "grammar"
    slots = np.flatnonzero(gen.slots)
    assert len(slots) == 2  # joy, then anger: both forced, both read
    for t in slots:  # the unmasked distribution at the slot, as a plain forward over the same prefix gives it
        ref, _ = tiny_backend.score_next([PromptIds(prompt.segments + (tuple(path[:t]) or (),))] if t else [prompt],
                                         candidate_ids=clf.token_map.flat_ids)
        np.testing.assert_allclose(gen.candidate_scores[t], ref[0], atol=1e-4)
