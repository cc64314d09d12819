"""Choose the few-shot demonstrations: once per run, seeded, identical for every query.

REFERENCE §2.5. The reference's main prompt dataset swallowed its ``seed`` argument, so
each query got fresh random demos from OS entropy (not reproducible). labeldist samples
the demos once from the run's "demos" random stream (``np.random.default_rng(seed)``, see
:mod:`labeldist.streams`) and uses them for every query — the reference's evident intent.

Strategies
----------
``multilabel`` (default for multi-label sets)
    ⌊shots · ratio⌋ demos with ≥ 2 gold labels (ratio 0.5), the rest with exactly one;
    demos with no label are never used. Shuffled.
``uniform`` (default for single-label sets)
    ⌊shots / buckets⌋ demos per label (plus a ``none`` bucket for multi-label sets, holding
    the examples with no label), without replacement; the remainder drawn at random from
    the unused pool. Shuffled.
``random``
    ``shots`` demos uniformly without replacement.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist import streams
from labeldist.errors import LabeldistError
from labeldist.records import Example, LabelSet

STRATEGIES = ("multilabel", "uniform", "random")


def default_strategy(label_set: LabelSet) -> str:
    return "multilabel" if label_set.multilabel else "uniform"


def _take(rng: np.random.Generator, pool: list[int], k: int) -> list[int]:
    if k <= 0 or not pool:
        return []
    k = min(k, len(pool))
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]


def sample_demos(
    pool: Sequence[Example],
    label_set: LabelSet,
    shots: int,
    *,
    strategy: str | None = None,
    seed: int = 0,
    ratio: float = 0.5,
    rng: np.random.Generator | None = None,
) -> list[Example]:
    """Pick ``shots`` demonstrations from ``pool`` (examples with gold labels).

    ``rng`` is the run's "demos" stream (:mod:`labeldist.streams`); without it the stream
    is made from ``seed``.
    """
    strategy = strategy or default_strategy(label_set)
    if strategy not in STRATEGIES:
        raise LabeldistError(f"unknown demo sampling {strategy!r}", f"use one of {', '.join(STRATEGIES)}")
    if shots <= 0:
        return []
    usable = [i for i, ex in enumerate(pool) if ex.gold is not None]
    if len(usable) < shots:
        raise LabeldistError(
            f"{shots} demonstrations requested but only {len(usable)} labelled training examples are available",
            "lower --shots or provide more training data",
        )
    rng = rng if rng is not None else streams.rng("demos", seed)
    if strategy == "random":
        chosen = _take(rng, usable, shots)
    elif strategy == "multilabel":
        multi = [i for i in usable if len(pool[i].gold) > 1]
        single = [i for i in usable if len(pool[i].gold) == 1]
        n_multi = min(int(shots * ratio), len(multi))
        chosen = _take(rng, multi, n_multi)
        chosen += _take(rng, single, shots - len(chosen))
        if len(chosen) < shots:
            rest = [i for i in multi if i not in chosen]
            chosen += _take(rng, rest, shots - len(chosen))
        if len(chosen) < shots:
            raise LabeldistError(
                f"only {len(chosen)} training examples with at least one label for {shots} demonstrations",
                "lower --shots or use --demo-sampling random",
            )
    else:  # uniform
        buckets = [[i for i in usable if lab in pool[i].gold] for lab in label_set.labels]
        if label_set.multilabel:
            buckets.append([i for i in usable if not pool[i].gold])
        per = shots // len(buckets)
        chosen = []
        for b in buckets:
            chosen += _take(rng, [i for i in b if i not in chosen], per)
        rest = [i for i in usable if i not in chosen]
        chosen += _take(rng, rest, shots - len(chosen))
    order = rng.permutation(len(chosen))
    return [pool[chosen[i]] for i in order]
