"""Train-split base rates: the frequency of each label in the aggregate gold (paper §A.6 baseline)."""

from __future__ import annotations

from typing import Sequence

from labeldist.records import Example, LabelSet


def train_base_rates(examples: Sequence[Example], label_set: LabelSet) -> list[float] | None:
    """r_l = (# labelled examples whose gold contains l) / (# labelled examples), labels order.

    Examples without an aggregate label (``gold`` None, e.g. a plurality tie) are left out;
    None when no example is labelled.

    >>> ls = LabelSet(("a", "b"))
    >>> train_base_rates([Example("1", "x", ("a",)), Example("2", "y", ()), Example("3", "z")], ls)
    [0.5, 0.0]
    """
    labelled = [e for e in examples if e.gold is not None]
    if not labelled:
        return None
    return [sum(lab in e.gold for e in labelled) / len(labelled) for lab in label_set.labels]
