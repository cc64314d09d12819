"""Conditional, joint and marginal on a fake backend with a known next-token table, computed by hand.

Labels ``s1``, ``s10``, ``s2`` under SmolLM2's digit-splitting tokenizer: ``s1`` is the
prefix pair of ``s10`` (``s`` ``1`` vs ``s`` ``1`` ``0``). Token names below: ``S`` = ``s``,
``ONE`` / ``ZERO`` / ``TWO`` the digits, ``SEP`` = ``", "`` (two tokens), ``CLOSE`` = ``"]}``.
"""

import numpy as np
import pytest

from labeldist.backends.tokenizer import HFTokenizer
from labeldist.estimators.marginal import MarginalSettings, marginal_search
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, LabelSet
from labeldist.runs.runner import Classifier, RunConfig, run_examples
from tests.marginal.fake import TableBackend

LS = LabelSet(("s1", "s10", "s2"))
NO_PRUNING = MarginalSettings(top_p=1.0, min_path_prob=0.0, max_depth=100, max_nodes=10_000)


@pytest.fixture(scope="module")
def tok(smol_tokenizer):
    return HFTokenizer(smol_tokenizer, "smol")


@pytest.fixture(scope="module")
def ids(tok):
    enc = tok.encode
    S, ONE, ZERO, TWO = (enc(x)[0] for x in ("s", "1", "0", "2"))
    assert enc("s10") == [S, ONE, ZERO]  # digit splitting: s1 is a token prefix of s10
    return dict(S=S, ONE=ONE, ZERO=ZERO, TWO=TWO, NONE=enc("none")[0], SEP=tuple(enc('", "')),
                CLOSE=tuple(enc('"]}')), OTHER=enc("zebra")[0], OPEN=tuple(enc('\n{"label": ["')))


def classifier(backend, methods=("generation", "marginal"), decoding="constrained", **marginal):
    config = RunConfig(methods=methods, prompt=PromptConfig(shots=0, chat=False), decoding=decoding,
                       marginal=MarginalSettings(**marginal) if marginal else MarginalSettings())
    return Classifier(backend, LS, config, [])


def constrained_table(i, outside=0.0):
    """Answers (normalised probabilities): none .3, {s1} .126, {s10} .21, {s1,s10} .0756, {s1,s2} .0084, {s2} .28.

    ``outside`` moves that share of the root's mass to a token outside the grammar."""
    S, ONE, ZERO, TWO, SEP, CLOSE = i["S"], i["ONE"], i["ZERO"], i["TWO"], i["SEP"], i["CLOSE"]
    k = 1.0 - outside
    s1sep = (S, ONE) + SEP
    return {
        (): {S: 0.7 * k, i["NONE"]: 0.3 * k},
        (i["NONE"],): {CLOSE[0]: 1.0},
        (S,): {ONE: 0.6, TWO: 0.4},
        (S, ONE): {ZERO: 0.5, SEP[0]: 0.2, CLOSE[0]: 0.3},
        (S, ONE, ZERO): {CLOSE[0]: 1.0},
        (S, ONE, SEP[0]): {SEP[1]: 1.0},
        s1sep: {S: 1.0},
        s1sep + (S,): {ONE: 0.9, TWO: 0.1},
        s1sep + (S, ONE): {ZERO: 1.0},
        s1sep + (S, ONE, ZERO): {CLOSE[0]: 1.0},
        s1sep + (S, TWO): {CLOSE[0]: 1.0},
        (S, TWO): {CLOSE[0]: 1.0},
        **{p + (CLOSE[0],): {CLOSE[1]: 1.0} for p in [(i["NONE"],), (S, ONE), (S, ONE, ZERO), s1sep + (S, ONE, ZERO),
                                                       s1sep + (S, TWO), (S, TWO)]},
    }


P_EXACT = {"s1": 0.126 + 0.0756 + 0.0084, "s10": 0.21 + 0.0756, "s2": 0.28 + 0.0084}


def search(backend, clf, settings):
    prompt = clf.build_prompt("x")
    return marginal_search(lambda paths, allowed: backend.expand([prompt] * len(paths), paths, allowed=allowed), clf.grammar, 3,
                           settings, constrained=True, none_index=3)


def test_marginal_without_pruning_is_exact_and_the_prefix_label_is_not_credited(tok, ids):
    backend = TableBackend(tok, constrained_table(ids), other=ids["OTHER"])
    with pytest.warns(UserWarning, match="start with the same token"):  # s1, s10, s2 all start with "s"
        clf = classifier(backend)
    res = search(backend, clf, NO_PRUNING)
    want = [P_EXACT[l] for l in LS.labels]
    # the s10 path (0.21) writes "s", "1" but never credits s1: P(s1) = .126 + .0756 + .0084 = .21, not .42
    np.testing.assert_allclose(res.lower, want, atol=1e-12)
    np.testing.assert_allclose(res.upper, want, atol=1e-12)
    np.testing.assert_allclose(res.estimate, want, atol=1e-12)
    assert res.explored_mass == pytest.approx(1.0) and res.pruned_mass == pytest.approx(0.0)
    assert res.none_mass == pytest.approx(0.3) and res.n_answers == 6
    # forced tokens (the separator's second token, s10's "0" after a used s1) get no node of their own:
    # every expanded node is a decision between at least two tokens
    g = clf.grammar
    for path in backend.expanded:
        st = g.initial()
        for t in path:
            st = g.advance(st, t)
        assert len(g.allowed(st)) >= 2, path
    assert res.nodes_expanded == len(backend.expanded) == len(set(backend.expanded))


def test_a_pruned_branch_widens_the_bounds_by_its_mass(tok, ids):
    backend = TableBackend(tok, constrained_table(ids), other=ids["OTHER"])
    with pytest.warns(UserWarning):
        clf = classifier(backend)
    res = search(backend, clf, MarginalSettings())  # the reference's pruning: path probability 0.01
    # {s1, s2} branch: after "s1", "s" "2" its path probability is .0084 < .01 and s2 is not yet closed,
    # so the node is pruned: s1 is already written (lower bound), s2 and s10 are still possible (upper bound)
    lower = dict(zip(LS.labels, res.lower))
    upper = dict(zip(LS.labels, res.upper))
    assert lower["s1"] == pytest.approx(P_EXACT["s1"]) == pytest.approx(upper["s1"])
    assert lower["s2"] == pytest.approx(0.28) and upper["s2"] == pytest.approx(0.28 + 0.0084)
    assert lower["s10"] == pytest.approx(0.2856) and upper["s10"] == pytest.approx(0.2856 + 0.0084)
    assert res.pruned_mass == pytest.approx(0.0084) and res.explored_mass == pytest.approx(1 - 0.0084)
    # estimate: the pruned mass at the explored answers' rate of s2: .28 + .0084 * .28 / .9916
    assert dict(zip(LS.labels, res.estimate))["s2"] == pytest.approx(0.28 + 0.0084 * 0.28 / 0.9916)
    assert res.settings["min_path_prob"] == 0.01 and res.settings["top_p"] == 0.99 and res.settings["max_depth"] == 20


def test_unnormalised_search_keeps_the_mass_outside_the_grammar_out_of_the_lower_bound(tok, ids):
    backend = TableBackend(tok, constrained_table(ids, outside=0.2), other=ids["OTHER"])
    with pytest.warns(UserWarning):
        clf = classifier(backend)
    norm = search(backend, clf, NO_PRUNING)
    np.testing.assert_allclose(norm.lower, [P_EXACT[l] for l in LS.labels], atol=1e-12)  # renormalised: unchanged
    raw = search(backend, clf, MarginalSettings(top_p=1.0, min_path_prob=0.0, max_depth=100, normalize=False))
    np.testing.assert_allclose(raw.lower, [0.8 * P_EXACT[l] for l in LS.labels], atol=1e-12)
    np.testing.assert_allclose(raw.upper, [0.8 * P_EXACT[l] + 0.2 for l in LS.labels], atol=1e-12)
    assert raw.outside_mass == pytest.approx(0.2) and raw.explored_mass == pytest.approx(0.8)


def test_conditional_and_joint_on_the_greedy_answer_by_hand(tok, ids):
    """Greedy answer "s1", "s2" (normalised): s .7, 1 .6 | SEP .5 (of 0 .3, SEP .5, CLOSE .2) | forced SEP[1], s | 2 .8."""
    S, ONE, ZERO, TWO, SEP, CLOSE = ids["S"], ids["ONE"], ids["ZERO"], ids["TWO"], ids["SEP"], ids["CLOSE"]
    k = 0.8  # 0.2 of the root's mass is outside the grammar
    table = {(): {S: 0.7 * k, ids["NONE"]: 0.3 * k}, (S,): {ONE: 0.6, TWO: 0.4},
             (S, ONE): {ZERO: 0.3, SEP[0]: 0.5, CLOSE[0]: 0.2}, (S, ONE, SEP[0]): {SEP[1]: 1.0},
             (S, ONE) + SEP: {S: 1.0}, (S, ONE) + SEP + (S,): {TWO: 0.8, ONE: 0.2},
             (S, ONE) + SEP + (S, TWO): {CLOSE[0]: 1.0}, (S, ONE) + SEP + (S, TWO, CLOSE[0]): {CLOSE[1]: 1.0}}
    backend = TableBackend(tok, table, other=ids["OTHER"])
    with pytest.warns(UserWarning):
        clf = classifier(backend, methods=("generation",))
    (rec,), summary = run_examples(clf, [Example("e", "x")], progress=False)
    assert rec.generation.parsed == ["s1", "s2"] and summary.fallbacks == {}
    assert [(s.label, s.start, s.end) for s in rec.generation.label_spans] == [("s1", 0, 2), ("s2", 4, 6)]
    m = rec.methods
    np.testing.assert_allclose(m["conditional"], [0.7 * 0.6, 0.0, 1.0 * 0.8])  # s10 is not written: 0
    np.testing.assert_allclose(m["joint"], [0.7 * 0.6, 0.0, 0.7 * 0.6 * 0.5 * 1 * 1 * 0.8])
    # the model's own probabilities instead of the constrained sampler's: the root's 0.2 outside mass counts
    clf_raw = Classifier(backend, LS, RunConfig(methods=("generation",), prompt=PromptConfig(shots=0, chat=False),
                                                marginal=MarginalSettings(normalize=False), joint="label_tokens"), [])
    (raw,), _ = run_examples(clf_raw, [Example("e", "x")], progress=False)
    np.testing.assert_allclose(raw.methods["conditional"], [0.56 * 0.6, 0.0, 0.8])
    np.testing.assert_allclose(raw.methods["joint"], [0.56 * 0.6, 0.0, 0.56 * 0.6 * 0.8])  # label tokens only


def free_table(i):
    """Free answers after the opening: none .2; "s1", "s1" .4 (s1 written twice); "s1" .4."""
    O, S, ONE, SEP, CLOSE = i["OPEN"], i["S"], i["ONE"], i["SEP"], i["CLOSE"]
    t = {O[:k]: {O[k]: 1.0} for k in range(len(O))}
    s1 = O + (S, ONE)
    t.update({O: {S: 0.8, i["NONE"]: 0.2}, O + (S,): {ONE: 1.0}, s1: {SEP[0]: 0.5, CLOSE[0]: 0.5},
              s1 + SEP[:1]: {SEP[1]: 1.0}, s1 + SEP: {S: 1.0}, s1 + SEP + (S,): {ONE: 1.0},
              s1 + SEP + (S, ONE): {CLOSE[0]: 1.0}, s1 + SEP + (S, ONE, CLOSE[0]): {CLOSE[1]: 1.0},
              s1 + CLOSE[:1]: {CLOSE[1]: 1.0}, O + (i["NONE"],): {CLOSE[0]: 1.0},
              O + (i["NONE"], CLOSE[0]): {CLOSE[1]: 1.0}})
    return t


def test_free_decoding_counts_a_label_written_twice_once(tok, ids):
    backend = TableBackend(tok, free_table(ids), other=ids["OTHER"], eos=tok.hf.eos_token_id)
    with pytest.warns(UserWarning):
        clf = classifier(backend, decoding="free")
    (rec,), _ = run_examples(clf, [Example("e", "x")], progress=False)
    res = rec.marginal
    # P(s1 in answer) = .4 + .4 = .8: each answer once (the reference's expected count would be 2 * .4 + .4 = 1.2)
    np.testing.assert_allclose(res.lower, [0.8, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(res.upper, [0.8, 0.0, 0.0], atol=1e-12)
    assert res.none_mass == pytest.approx(0.2) and res.settings["decoding"] == "free"
    # greedy: the tie SEP / CLOSE goes to the lower id (SEP): "s1", "s1"; the first occurrence is read
    gen = rec.generation
    assert gen.parsed == ["s1"] and gen.label_spans[0].label == "s1" and len(gen.label_spans) == 1
    np.testing.assert_allclose(rec.methods["conditional"], [0.8, 0.0, 0.0])
    np.testing.assert_allclose(rec.methods["joint"], [0.8, 0.0, 0.0])  # the opening's tokens have probability 1


def test_free_comma_answer_ended_by_a_merged_line_end_is_read(qwen_tokenizer):
    # Qwen writes " negative" + "\n\n" (one token) + "Question": the answer text is cut at the label,
    # and the reader must still see the boundary token after it (conditional = P(" negative") = .7)
    q = HFTokenizer(qwen_tokenizer, "qwen")
    NEG, POS, NN, QU = (q.encode(x)[0] for x in (" negative", " positive", "\n\n", "Question"))
    assert q.encode(" negative\n\nQuestion") == [NEG, NN, QU]
    table = {(): {NEG: 0.7, POS: 0.3}, (NEG,): {NN: 1.0}, (NEG, NN): {QU: 1.0}}
    backend = TableBackend(q, table, other=q.encode("zebra")[0], eos=qwen_tokenizer.eos_token_id)
    ls = LabelSet(("negative", "neutral", "positive"), multilabel=False)
    config = RunConfig(methods=("generation",), decoding="free",
                       prompt=PromptConfig(shots=0, chat=False, label_format="comma", template="Question: {text}\nAnswer: {label}\n\n"))
    (rec,), _ = run_examples(Classifier(backend, ls, config, []), [Example("e", "x")], progress=False)
    assert rec.generation.parsed == ["negative"]
    assert [(s.label, s.start, s.end) for s in rec.generation.label_spans] == [("negative", 0, 1)]
    np.testing.assert_allclose(rec.methods["conditional"], [0.7, 0.0, 0.0])
