"""The paper's test sets (A.4) and the demo/test overlap check.

Main test set: ``n`` items (200 by default) spread uniformly over the cells

* multi-label data: label type {none, single, multi} (number of gold labels 0, 1, >= 2)
  × annotators {agree, disagree} — 6 cells;
* single-label data: {agree, disagree} — 2 cells.

An item's annotators *agree* when every annotator gave the same label set, i.e. every
``q_l`` is 0 or 1; otherwise they *disagree*. Only items whose human vector is a real
distribution (kind ``annotators`` or ``fractions``) can be placed; ``single_annotator``
and ``aggregate_only`` items are left out. If a split has no such item at all
(aggregate-only corpora such as SemEval), the cells fall back to label type only and a
warning says so.

Quotas: items are dealt one at a time round-robin over the cells in the order above, so
each cell gets ``n // n_cells`` and the first ``n % n_cells`` cells one more. A cell with
too few items gives all it has and the others stay balanced within one item; a warning
names the shortfall
(``strict=True`` raises instead). Sampling: candidates sorted by id, one
permutation per cell from the "test_set" random stream (``np.random.default_rng(seed)``) (prefix = chosen items), then the
whole set is shuffled with the same generator — deterministic for a given seed and data.

Multi-label-only set: ``n`` items with >= 2 gold labels, drawn the same way.

The reference's id lists (``main_test_set`` etc.) were built by no published script;
this rule follows the paper's description, not those lists.
"""

from __future__ import annotations

import warnings
from typing import Sequence


from labeldist import streams
from labeldist.data._common import normalize_text
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, Example

TYPES = ("none", "single", "multi")
AGREEMENT = ("agree", "disagree")
#: ``--test-set`` choices.
TEST_SET_KINDS = ("main", "multilabel")


def _pool(data: Dataset | Sequence[Example], splits: Sequence[str] | None) -> tuple[list[Example], bool | None]:
    if isinstance(data, Dataset):
        from labeldist.data.registry import eval_splits

        names = tuple(splits) if splits is not None else eval_splits(data.name)
        examples = [ex for s in names for ex in data.split(s)]
        return examples, data.label_set.multilabel
    return list(data), None


def agreement_of(example: Example) -> str | None:
    """``agree`` / ``disagree`` for items with a real human distribution, else None."""
    h = example.human
    if h is None or not h.is_distribution:
        return None
    return "agree" if all(p <= 1e-9 or p >= 1 - 1e-9 for p in h.probs) else "disagree"


def label_type_of(example: Example) -> str | None:
    if example.gold is None:
        return None
    return TYPES[min(len(example.gold), 2)]


def cell_of(example: Example, multilabel: bool, *, use_agreement: bool = True) -> str | None:
    """The stratification cell of an item, e.g. ``"multi/disagree"``; None if it cannot be placed."""
    agree = agreement_of(example) if use_agreement else ""
    if agree is None:
        return None
    if not multilabel:
        return agree or "all"
    kind = label_type_of(example)
    if kind is None:
        return None
    return f"{kind}/{agree}" if agree else kind


def _cells(multilabel: bool, use_agreement: bool) -> list[str]:
    if not multilabel:
        return list(AGREEMENT) if use_agreement else ["all"]
    return [f"{t}/{a}" for t in TYPES for a in AGREEMENT] if use_agreement else list(TYPES)


def _draw(groups: dict[str, list[Example]], quotas: dict[str, int], seed: int) -> tuple[Example, ...]:
    rng = streams.rng("test_set", seed)
    chosen: list[Example] = []
    for cell, k in quotas.items():
        cands = sorted(groups.get(cell, []), key=lambda ex: ex.id)
        perm = rng.permutation(len(cands))
        chosen += [cands[i] for i in perm[:k]]
    return tuple(chosen[i] for i in rng.permutation(len(chosen)))


def _allocate(sizes: dict[str, int], n: int) -> tuple[dict[str, int], int]:
    """Deal ``n`` items one at a time round-robin over the cells that still have items.

    Without shortage this is ``n // n_cells`` each plus one for the first ``n % n_cells``
    cells; a short cell gives what it has and the rest stay balanced within one item.
    Returns the quotas and how many of ``n`` could not be placed.
    """
    quotas = dict.fromkeys(sizes, 0)
    left = n
    while left > 0:
        dealt = False
        for c in sizes:
            if left > 0 and quotas[c] < sizes[c]:
                quotas[c] += 1
                left -= 1
                dealt = True
        if not dealt:
            break
    return quotas, left


def sample_test_set(
    data: Dataset | Sequence[Example],
    *,
    n: int = 200,
    seed: int = 0,
    splits: Sequence[str] | None = None,
    multilabel: bool | None = None,
    kind: str = "main",
    strict: bool = False,
) -> tuple[Example, ...]:
    """The main test set (``kind="main"``, module docstring) or the multi-label-only set
    (``kind="multilabel"``).

    ``data`` is a Dataset (items from ``splits``, default the dataset's eval splits) or a
    sequence of examples. For plain examples pass ``multilabel=label_set.multilabel``; if
    omitted it is inferred as "some gold set does not have exactly one label" (a
    multi-label set whose items all have one label gives the same cells either way).
    """
    if kind == "multilabel":
        return sample_multilabel_test_set(data, n=n, seed=seed, splits=splits, strict=strict)
    if kind != "main":
        raise LabeldistError(f"unknown test set kind {kind!r}", f"use one of {', '.join(TEST_SET_KINDS)}")
    examples, ds_multilabel = _pool(data, splits)
    multilabel = ds_multilabel if multilabel is None else multilabel
    if multilabel is None:
        multilabel = any(ex.gold is not None and len(ex.gold) != 1 for ex in examples)
    if n < 1:
        raise LabeldistError(f"test set size n={n}", "use n >= 1")
    use_agreement = any(agreement_of(ex) is not None for ex in examples)
    if not use_agreement:
        warnings.warn("no item has a human distribution: stratifying by label type only", stacklevel=2)
    groups: dict[str, list[Example]] = {c: [] for c in _cells(multilabel, use_agreement)}
    for ex in examples:
        cell = cell_of(ex, multilabel, use_agreement=use_agreement)
        if cell is not None:
            groups[cell].append(ex)
    quotas, missing = _allocate({c: len(v) for c, v in groups.items()}, n)
    uniform = n // len(groups)
    short = {c: len(groups[c]) for c in groups if len(groups[c]) < uniform}
    if short or missing:
        msg = (f"test set: cells with fewer than {uniform} items: {short or 'none'}; "
               f"{n - missing} of {n} items drawn; per-cell counts {quotas}")
        if strict:
            raise LabeldistError(msg, "lower n, use more splits, or pass strict=False")
        warnings.warn(msg, stacklevel=2)
    return _draw(groups, quotas, seed)


def sample_multilabel_test_set(
    data: Dataset | Sequence[Example], *, n: int = 200, seed: int = 0, splits: Sequence[str] | None = None,
    strict: bool = False,
) -> tuple[Example, ...]:
    """``n`` items with at least two gold labels (the paper's "multi-label only" set)."""
    examples, _ = _pool(data, splits)
    multi = [ex for ex in examples if ex.gold is not None and len(ex.gold) >= 2]
    if len(multi) < n:
        msg = f"only {len(multi)} items with >= 2 gold labels for a multi-label set of {n}"
        if strict:
            raise LabeldistError(msg, "lower n or use more splits")
        warnings.warn(msg, stacklevel=2)
    return _draw({"multi": multi}, {"multi": min(n, len(multi))}, seed)


def check_no_overlap(demos: Sequence[Example], test_items: Sequence[Example]) -> None:
    """Raise a LabeldistError naming every demo that shares an id or a normalised text with a test item."""
    test_ids = {ex.id for ex in test_items}
    test_texts = {normalize_text(ex.text): ex.id for ex in test_items}
    clashes = []
    for d in demos:
        if d.id in test_ids:
            clashes.append(f"{d.id!r} (same id)")
        elif normalize_text(d.text) in test_texts:
            clashes.append(f"{d.id!r} (same text as test item {test_texts[normalize_text(d.text)]!r})")
    if clashes:
        shown = ", ".join(clashes[:10]) + (f" and {len(clashes) - 10} more" if len(clashes) > 10 else "")
        raise LabeldistError(f"{len(clashes)} demonstration(s) overlap the test items: {shown}",
                             "draw demos from the train split only, or drop these items from the test set")
