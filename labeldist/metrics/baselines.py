"""Reference predictions that keep alignment metrics honest (paper §A.6).

When most labels are absent, a constant distribution scores well on NLL and L1 while
being useless as a classifier; reporting these rows next to every method shows how much
of a method's NLL/L1 is earned. Both return float64 arrays of shape (n_examples, n_labels).
"""

from __future__ import annotations

import numpy as np

from labeldist.errors import LabeldistError


def base_rate_baseline(base_rates, n_examples: int) -> np.ndarray:
    """Every example gets each label's train-split base rate (its frequency in the aggregate gold).

    Examples
    --------
    >>> base_rate_baseline([0.1, 0.3], 2).tolist()
    [[0.1, 0.3], [0.1, 0.3]]
    """
    rates = np.asarray(base_rates, dtype=np.float64)
    if rates.ndim != 1 or rates.size == 0 or not np.all(np.isfinite(rates)) or np.any((rates < 0) | (rates > 1)):
        raise LabeldistError(
            f"base rates must be one probability in [0, 1] per label; got {rates.tolist()!r}",
            "recompute train_base_rates from the train split's gold labels",
        )
    return np.tile(rates, (n_examples, 1))


def uniform_baseline(n_examples: int, n_labels: int, *, multilabel: bool = True) -> np.ndarray:
    """Every label gets 0.5 (multi-label: maximal uncertainty per label) or 1/n_labels (single-label).

    Examples
    --------
    >>> uniform_baseline(1, 4).tolist(), uniform_baseline(1, 4, multilabel=False).tolist()
    ([[0.5, 0.5, 0.5, 0.5]], [[0.25, 0.25, 0.25, 0.25]])
    """
    return np.full((n_examples, n_labels), 0.5 if multilabel else 1.0 / n_labels)
