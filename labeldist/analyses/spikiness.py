"""Sorted first-step label probabilities per example: how spiky the first distribution is (Fig 4).

For each example the first label step's distribution with ``none`` deleted — **not** renormalised,
as in the reference (REFERENCE.md §8.2) — sorted descending. The reference skips an example when
its top probability is below 0.3 or it has no predicted label; that filter is on by default here and
its settings and counts are part of the result (:attr:`Spikiness.description`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labeldist.analyses.trace import Trace
from labeldist.errors import LabeldistError
from labeldist.records import NONE_LABEL

#: The reference's threshold on the (none-removed) top probability.
MIN_TOP = 0.3


@dataclass(frozen=True)
class Spikiness:
    """Sorted first-step probabilities, one row per kept example.

    ``sorted_probs[i]`` is example ``example_ids[i]``'s first-step distribution over the real labels,
    sorted descending (length L, no ``none``; rows do not sum to 1 when ``none`` had mass).
    ``filtered`` says whether the reference filter ran (``min_top``, ``require_prediction``); the
    ``n_skipped_*`` fields count what it dropped. Examples without label steps are always skipped.
    """

    example_ids: tuple[str, ...]
    sorted_probs: np.ndarray
    n_examples: int
    n_skipped_no_steps: int
    n_skipped_low_top: int
    n_skipped_no_prediction: int
    filtered: bool
    min_top: float
    require_prediction: bool

    @property
    def description(self) -> str:
        """One line stating the filter and its counts, for figure captions and tables."""
        kept = len(self.example_ids)
        head = f"{kept} of {self.n_examples} examples; none removed, not renormalised"
        skip = f"; skipped {self.n_skipped_no_steps} without a label step"
        if not self.filtered:
            return head + skip + "; no top/prediction filter"
        rules = [f"top < {self.min_top:g}: {self.n_skipped_low_top}"]
        if self.require_prediction:
            rules.append(f"no predicted label: {self.n_skipped_no_prediction}")
        return head + skip + "; reference filter skipped " + ", ".join(rules)

    def mean_by_rank(self) -> np.ndarray:
        """Mean k-th sorted probability, shape (L,); NaN when no example was kept."""
        if self.sorted_probs.shape[0] == 0:
            return np.full(self.sorted_probs.shape[1], np.nan)
        return self.sorted_probs.mean(axis=0)


def first_step_spikiness(traces: Sequence[Trace], *, filter: bool = True, min_top: float = MIN_TOP,
                         require_prediction: bool = True) -> Spikiness:
    """Sorted first-step distributions of ``traces`` (Fig 4).

    Parameters
    ----------
    traces : sequence of Trace
        All over the same candidates.
    filter : bool, default=True
        Apply the reference filter: skip when the top (none-removed) probability ``< min_top``, or
        (``require_prediction``) when the example has no predicted label.
    min_top : float, default=0.3
    require_prediction : bool, default=True

    Examples
    --------
    >>> t = Trace(id="a", candidates=("x", "y", "none"), step_probs=[[0.2, 0.7, 0.1]],
    ...           step_labels=("y",), predicted=("y",))
    >>> first_step_spikiness([t]).sorted_probs.tolist()
    [[0.7, 0.2]]
    """
    if not traces:
        raise LabeldistError("no traces to analyse", "pass at least one example")
    cands = traces[0].candidates
    if any(t.candidates != cands for t in traces):
        raise LabeldistError("traces have different candidate sets", "analyse one label set at a time")
    keep = [i for i, c in enumerate(cands) if c != NONE_LABEL]
    ids, rows = [], []
    n_empty = n_low = n_nopred = 0
    for t in traces:
        if t.n_steps == 0:
            n_empty += 1
            continue
        p = np.sort(t.step_probs[0, keep])[::-1]
        if filter and p[0] < min_top:
            n_low += 1
            continue
        if filter and require_prediction and not t.predicted:
            n_nopred += 1
            continue
        ids.append(t.id)
        rows.append(p)
    arr = np.array(rows, dtype=np.float64).reshape(len(rows), len(keep))
    return Spikiness(tuple(ids), arr, len(traces), n_empty, n_low, n_nopred, filter, min_top, require_prediction)
