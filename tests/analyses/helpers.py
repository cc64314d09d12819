"""Hand-built traces for the analyses tests."""

from __future__ import annotations

from labeldist.analyses import Trace

CANDS = ("a", "b", "c", "none")


def trace(id, probs, predicted, *, gold=None, step_labels=None, candidates=CANDS, multilabel=True):
    """A trace whose generated labels default to each step's argmax."""
    if step_labels is None:
        step_labels = tuple(candidates[max(range(len(p)), key=lambda i: (p[i], -i))] for p in probs)
    return Trace(id=id, candidates=candidates, step_probs=probs, step_labels=step_labels,
                 predicted=tuple(predicted), gold=None if gold is None else tuple(gold), multilabel=multilabel)
