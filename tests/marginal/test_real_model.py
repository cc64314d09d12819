"""The marginal search on real and tiny transformers models: exact against brute force, node caches, runs."""


import numpy as np
import pytest
import torch

from labeldist.estimators.marginal import MarginalSettings, marginal_search
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, ExampleRecord, LabelSet
from labeldist.runs.runner import Classifier, RunConfig, run_examples

LS = LabelSet(("joy", "anger", "fear"))
DEMOS = [Example("d1", "so happy", ("joy",)), Example("d2", "you scared me, idiot", ("anger", "fear"))]
NO_PRUNING = MarginalSettings(top_p=1.0, min_path_prob=0.0, max_depth=100, max_nodes=10_000, batch_nodes=8)


def answers(grammar):
    """Every complete answer of the grammar: (token ids, allowed tokens at each step, labels)."""
    out = []

    def walk(state, ids, allowed):
        if grammar.done(state):
            out.append((ids, allowed, frozenset(grammar.labels_in(state))))
            return
        ok = grammar.allowed(state)
        for t in ok:
            walk(grammar.advance(state, t), ids + [t], allowed + [ok])

    walk(grammar.initial(), [], [])
    return out


def brute_force(backend, prompt, grammar, normalize: bool) -> np.ndarray:
    """P(label in answer) by scoring every answer with one full forward of prompt + answer (no cache)."""
    probs = np.zeros(LS.n_labels)
    total = 0.0
    n = len(prompt.ids)
    for ids, allowed, labels in answers(grammar):
        with torch.no_grad():
            logits = backend.model(torch.tensor([list(prompt.ids) + ids])).logits[0].double()
        lp = torch.log_softmax(logits[n - 1: n - 1 + len(ids)], dim=-1)
        logp = 0.0
        for k, (t, ok) in enumerate(zip(ids, allowed)):
            logp += float(lp[k, t]) - (float(torch.logsumexp(lp[k, list(ok)], dim=0)) if normalize else 0.0)
        p = np.exp(logp)
        total += p
        for c in labels:
            if c < LS.n_labels:
                probs[c] += p
    if normalize:
        assert total == pytest.approx(1.0, abs=1e-6)
    return probs


@pytest.mark.slow
@pytest.mark.parametrize("normalize", [True, False])
def test_marginal_without_pruning_equals_brute_force_enumeration(smol_backend, normalize):
    torch.set_num_threads(2)
    clf = Classifier(smol_backend, LS, RunConfig(methods=("marginal",), prompt=PromptConfig(shots=2)), DEMOS)
    assert len(answers(clf.grammar)) == 1 + 3 + 6 + 6  # none, then every ordered set of distinct labels
    prompt = clf.build_prompt("I can't believe you broke it, I'm furious")
    before = smol_backend.stats["forward_tokens"]
    res = marginal_search(lambda p, a: smol_backend.expand([prompt] * len(p), p, allowed=a), clf.grammar, 3,
                          MarginalSettings(**{**NO_PRUNING.to_dict(), "normalize": normalize}), constrained=True,
                          none_index=3)
    cost = smol_backend.stats["forward_tokens"] - before
    want = brute_force(smol_backend, prompt, clf.grammar, normalize)
    np.testing.assert_allclose(res.lower, want, atol=2e-5)
    if normalize:
        np.testing.assert_allclose(res.upper, want, atol=2e-5)
        assert res.n_answers == 16
    else:
        np.testing.assert_allclose(np.array(res.upper) - res.outside_mass, want, atol=2e-5)
    # every node costs its own new tokens: never the prompt again
    assert cost < len(prompt.ids) + res.nodes_expanded * 8


def test_node_tree_equals_full_forwards_and_costs_only_new_tokens(tiny_backend):
    clf = Classifier(tiny_backend, LS, RunConfig(methods=("marginal",), prompt=PromptConfig(shots=2)), DEMOS)
    prompt = clf.build_prompt("what a day")
    rng = np.random.default_rng(0)
    paths = [()] + [tuple(int(x) for x in rng.integers(100, 2000, size=k)) for k in (1, 2, 3)]
    paths += [paths[3] + (7,), paths[3] + (8, 9), paths[1] + (11,)]  # children of expanded nodes
    expand = lambda ps: tiny_backend.expand([prompt] * len(ps), ps)  # noqa: E731
    root = expand(paths[:1])  # the prompt: its prefix from the cache, its query prefilled once
    before = dict(tiny_backend.stats)
    got = np.concatenate([root, expand(paths[1:4]), expand(paths[4:])])
    for path, row in zip(paths, got):
        with torch.no_grad():
            ref = torch.log_softmax(tiny_backend.model(torch.tensor([list(prompt.ids) + list(path)])).logits[0, -1], -1)
        np.testing.assert_allclose(row, ref.numpy(), atol=1e-4)
    # then each new token once, never the prompt again (children reuse their parents' cache), one forward per batch
    assert tiny_backend.stats["forward_tokens"] - before["forward_tokens"] == 1 + 2 + 3 + 1 + 2 + 1
    assert tiny_backend.stats["forward_calls"] - before["forward_calls"] == 2


@pytest.mark.parametrize("decoding", ["constrained", "free"])
def test_run_records_the_three_methods_and_they_recompute_from_records(tiny_backend, decoding):
    config = RunConfig(methods=("generation", "marginal"), prompt=PromptConfig(shots=2), decoding=decoding)
    clf = Classifier(tiny_backend, LS, config, DEMOS)
    recs, summary = run_examples(clf, [Example(f"t{i}", t) for i, t in enumerate(["what a day", "go away", "eek"])],
                                 progress=False)
    assert summary.marginal_bound_gap is not None
    for rec in recs:
        m = rec.marginal
        assert m.settings["decoding"] == decoding and m.nodes_expanded >= 1
        assert np.all(np.array(m.lower) <= np.array(m.estimate) + 1e-12)
        assert np.all(np.array(m.estimate) <= np.array(m.upper) + 1e-12)
        assert m.explored_mass + m.pruned_mass == pytest.approx(1.0, abs=1e-6) or decoding == "constrained"
        assert rec.cost["marginal"].forward_tokens == m.forward_tokens > 0
        again = ExampleRecord.from_dict(rec.to_dict())
        assert again.to_dict() == rec.to_dict()
        if decoding == "constrained":
            g = rec.generation
            assert len(g.token_logprobs) == len(g.ids) == len(g.grammar_logprobs)
            # conditional = product of the label's (renormalised) token probabilities; joint(l) <= lower bound(l):
            # every completion of the greedy path up to l contains l
            for sp in g.label_spans:
                if sp.label in LS.labels:
                    j = LS.labels.index(sp.label)
                    assert rec.methods["conditional"][j] == pytest.approx(np.exp(sum(g.grammar_logprobs[sp.start:sp.end])))
                    assert rec.methods["joint"][j] <= m.lower[j] + 1e-5  # (two forward paths: fp32 round-off)
            assert m.explored_mass + m.pruned_mass == pytest.approx(1.0, abs=1e-6)


def test_searches_of_a_batch_share_forwards_and_give_each_items_own_result(tiny_backend):
    from labeldist.estimators.marginal import marginal_search_many

    clf = Classifier(tiny_backend, LS, RunConfig(methods=("marginal",), prompt=PromptConfig(shots=2)), DEMOS)
    prompts = [clf.build_prompt(t) for t in ["what a day", "go away", "eek", "the bus is late"]]
    settings = MarginalSettings(min_path_prob=0.001)
    alone, calls_alone = [], 0
    for p in prompts:
        before = tiny_backend.stats["forward_calls"]
        alone.append(marginal_search(lambda q, a, p=p: tiny_backend.expand([p] * len(q), q), clf.grammar, 3, settings,
                                     constrained=True, none_index=3))
        calls_alone += tiny_backend.stats["forward_calls"] - before
    before = tiny_backend.stats["forward_calls"]
    together = marginal_search_many(lambda o, q, a: tiny_backend.expand([prompts[i] for i in o], q), len(prompts),
                                    clf.grammar, 3, settings, constrained=True, none_index=3)
    calls_together = tiny_backend.stats["forward_calls"] - before
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a.lower, b.lower, atol=1e-5)
        np.testing.assert_allclose(a.upper, b.upper, atol=1e-5)
        assert a.nodes_expanded == b.nodes_expanded
    assert calls_together < calls_alone / 2  # one forward per round serves every item's frontier
