"""The HTTP backend's node expansion and per-token log-probabilities, from what a server returns
(top-k log-probabilities per one-token request), without a server: ``_complete`` is replaced by a table."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from labeldist.backends.http import HTTPBackend, _Client
from labeldist.backends.http_protocol import Completion, Step
from labeldist.estimators.marginal import MarginalSettings, marginal_search
from labeldist.labels.spans import grammar_label_spans
from tests.marginal.fake import TableBackend
from tests.marginal.test_toy_values import LS, P_EXACT, classifier, constrained_table, ids  # noqa: F401
from tests.marginal.test_toy_values import tok  # noqa: F401


def served(table_backend, prompt_len: int, k: int, exact: str):
    """An HTTPBackend whose server answers from ``table_backend``'s table with its top-k."""
    b = HTTPBackend.__new__(HTTPBackend)
    b.tokenizer, b.top_logprobs, b.exact_mode, b.flavor, b.served_model = table_backend.tokenizer, k, exact, "openai", None
    b._context, b._eos = 100_000, frozenset()
    b.index = type("I", (), {"vocab_size": len(table_backend.tokenizer)})()
    b.client = _Client(["http://x"], timeout=1, retries=0, backoff=0, api_key=None)
    b.stats = b.client.stats
    b._pool = ThreadPoolExecutor(2)

    def complete(seq, *, max_tokens, force=None, echo=False, top_logprobs=None):
        b.client.count("requests")
        row = table_backend.row(tuple(seq[prompt_len:]))
        top = np.argsort(-row)[:k]
        lp = {int(t): float(row[t]) for t in top if np.isfinite(row[t])}
        best = int(top[0])
        return Completion([Step(best, float(row[best]), lp, kth=min(lp.values()))], "length", "")

    def exact_one(seq, token, mode):
        return float(table_backend.row(tuple(seq[prompt_len:]))[token])

    b._complete, b._exact_one = complete, exact_one
    return b


@pytest.mark.parametrize("exact", ["echo", "bound"])
def test_served_expansion_gives_the_same_marginal_or_wider_bounds(tok, ids, exact):  # noqa: F811
    table = TableBackend(tok, constrained_table(ids), other=ids["OTHER"])
    with pytest.warns(UserWarning):
        clf = classifier(table)
    prompt = clf.build_prompt("x")
    http = served(table, len(prompt.ids), k=2, exact=exact)
    settings = MarginalSettings(top_p=1.0, min_path_prob=0.0, max_depth=100)
    rows = http.expand([prompt] * 2, [(), (ids["S"],)], allowed=[(ids["S"], ids["NONE"]), (ids["ONE"], ids["TWO"])])
    assert rows.shape == (2, len(tok)) and np.isnan(rows).sum() > 0  # only the top-k (and exact) are known
    res = marginal_search(lambda p, a: http.expand([prompt] * len(p), p, allowed=a), clf.grammar, 3, settings,
                          constrained=True, none_index=3)
    want = np.array([P_EXACT[l] for l in LS.labels])
    if exact == "echo":  # allowed tokens outside the top-k are scored exactly: the same values
        np.testing.assert_allclose(res.lower, want, atol=1e-12)
        assert res.bounded_values == 0
    else:  # the node after "s", "1" has 3 allowed tokens, top-2 listed: the third is bounded, never guessed
        assert res.bounded_values >= 1 and http.stats["bounded_expansions"] >= 1
        assert np.all(np.array(res.lower) <= want + 1e-12) and np.all(np.array(res.upper) >= want - 1e-12)
        assert res.pruned_mass > 0
    http.close()


def test_served_constrained_answer_has_logprobs_for_forced_label_tokens(tok, ids):  # noqa: F811
    table = TableBackend(tok, constrained_table(ids), other=ids["OTHER"])
    with pytest.warns(UserWarning):
        clf = classifier(table)
    prompt = clf.build_prompt("x")
    http = served(table, len(prompt.ids), k=5, exact="echo")
    (g,) = http.generate([prompt], candidate_ids=[], max_new_tokens=20, constraint=clf.grammar)
    ref = table.generate([prompt], candidate_ids=[], max_new_tokens=20, constraint=clf.grammar)[0]
    assert g.ids == ref.ids  # s, 1, 0 (s10), closing
    end = max(s.end for s in grammar_label_spans(clf.grammar, g.ids))
    # every token up to the label's end and the decision to close; the forced rest of the closing is never asked
    np.testing.assert_allclose(g.token_logprobs[:end + 1], ref.token_logprobs[:end + 1])
    assert g.forced[end + 1:].all() and np.isnan(g.token_logprobs[end + 1:]).all()
    http.close()
