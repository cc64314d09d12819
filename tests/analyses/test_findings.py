"""Verdicts of paper findings from intervals and rules."""

import numpy as np
import pytest

from labeldist.analyses import PAPER_FINDINGS, Rule, assess, evaluate_findings
from labeldist.errors import LabeldistError
from labeldist.metrics import Interval
from tests.analyses.helpers import trace


@pytest.mark.parametrize("iv, rule, verdict", [
    ((0.6, 0.55, 0.7), Rule(">", 0.5), "holds"),
    ((0.4, 0.3, 0.45), Rule(">", 0.5), "does not hold"),
    ((0.5, 0.45, 0.55), Rule(">", 0.5), "inconclusive"),
    ((0.55, 0.5, 0.6), Rule(">", 0.5), "inconclusive"),  # touching the threshold is not enough
    ((0.3, 0.2, 0.4), Rule("<", 0.5), "holds"),
    ((0.7, 0.6, 0.8), Rule("<", 0.5), "does not hold"),
    ((0.01, -0.02, 0.03), Rule("within", 0.05), "holds"),
    ((0.1, 0.08, 0.2), Rule("within", 0.05), "does not hold"),
    ((-0.1, -0.2, -0.06), Rule("within", 0.05), "does not hold"),
    ((0.04, 0.0, 0.07), Rule("within", 0.05), "inconclusive"),
    ((float("nan"),) * 3, Rule(">", 0.0), "inconclusive"),
])
def test_assess(iv, rule, verdict):
    assert assess(Interval(*iv), rule) == verdict


def test_rule_validation():
    with pytest.raises(LabeldistError):
        Rule("=", 0.0)
    with pytest.raises(LabeldistError):
        Rule("within", 0.0)
    assert Rule("within", 0.05).describe() == "within ±0.05" and Rule(">", 0).describe() == "> 0"


def _run(n, seed):
    """Spiky traces, two labels each: the 2nd-ranked label is never next and never predicted,
    the first label is always gold and the second never."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        top = 0.9 + 0.09 * rng.random()
        p1 = [top, (1 - top) * 0.6, (1 - top) * 0.4, 0.0]   # a, then b second
        p2 = [(1 - top) * 0.4, 0.0, top, (1 - top) * 0.6]   # c
        out.append(trace(f"e{i}", [p1, p2], ("a", "c"), gold=("a",)))
    return out


def test_evaluate_findings_on_clear_synthetic_runs():
    traces = _run(40, 0)
    by_ratio = {0.0: [trace(t.id, t.step_probs[:1], ("a",), gold=t.gold) for t in traces],
                0.5: traces[:20] + [trace(t.id, t.step_probs[:1], ("a",), gold=t.gold) for t in traces[20:]],
                1.0: traces}
    found = {f.key: f for f in evaluate_findings(traces, instruction_order=("a", "b", "c"),
                                                 traces_by_ratio=by_ratio, n_boot=200)}
    assert list(found) == list(PAPER_FINDINGS)
    assert found["first_step_spiky"].verdict == "holds"
    assert found["second_rarely_next"].interval.estimate == 0.0 and found["second_rarely_next"].verdict == "holds"
    assert found["second_never_predicted"].interval.estimate == 1.0
    assert found["accuracy_falls_with_order"].interval.estimate == 1.0
    assert found["multilabel_rate_rises"].interval.estimate == pytest.approx(1.0)
    assert found["multilabel_rate_rises"].verdict == "holds"
    assert found["follows_instruction_order"].verdict == "holds"  # every pair (a, c) in instruction order
    # top-1 is the same at both steps of every example: no stopping signal, later steps as spiky
    assert found["no_stopping_signal"].interval.estimate == pytest.approx(0.0)
    assert found["no_stopping_signal"].verdict == "holds" and found["later_steps_spiky"].verdict == "holds"
    reverse = {f.key: f for f in evaluate_findings(traces, instruction_order=("c", "b", "a"), n_boot=50)}
    assert reverse["follows_instruction_order"].verdict == "does not hold"
    row = found["first_step_spiky"].row()
    assert set(row) == {"finding", "statistic", "value [95% CI]", "rule", "verdict", "paper"}


def test_findings_without_optional_inputs_and_with_overrides():
    traces = _run(30, 1)
    found = {f.key: f for f in evaluate_findings(traces, rules={"first_step_spiky": Rule(">", 0.999)}, n_boot=100)}
    assert "follows_instruction_order" not in found and "multilabel_rate_rises" not in found
    assert found["first_step_spiky"].verdict == "does not hold"
    with pytest.raises(LabeldistError, match="unknown finding"):
        evaluate_findings(traces, rules={"nope": Rule(">", 0)})
