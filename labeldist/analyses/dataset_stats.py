"""Table 1 of the paper for one loaded dataset: items, annotators per item, labels per item, agreement.

Items with per-annotator labels (``Example.annotations``) go through
:func:`labeldist.analyses.agreement.annotation_agreement` (Krippendorff's α per label, and Cohen's κ
when every pairable item has exactly two annotators), with the dataset's own aggregate labels when
every such item has one (else the majority rule of that function). A dataset without annotator
labels gets the aggregate columns only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.analyses.agreement import annotation_agreement
from labeldist.analyses.tables import agreement_row
from labeldist.records import Dataset


def dataset_stats_row(ds: Dataset, *, splits: Sequence[str] | None = None) -> dict:
    """One Table-1 row over the items of ``splits`` (default: every split)."""
    names = list(splits or ds.splits)
    examples = [e for s in names for e in ds.split(s)]
    annotated = [e for e in examples if e.annotations]
    head = {"splits": "+".join(names), "multilabel": ds.label_set.multilabel, "labels": ds.label_set.n_labels}
    if annotated:
        gold = [e.gold for e in annotated]
        stats = annotation_agreement([e.annotations for e in annotated], ds.label_set,
                                     gold=gold if all(g is not None for g in gold) else None)
        row = agreement_row(ds.name, stats)
        return {"dataset": row.pop("dataset"), **head, **row, "aggregate": stats.aggregate_source}
    with_gold = [e for e in examples if e.gold is not None]
    n = np.array([len(e.gold) for e in with_gold])
    shares = {"0": n == 0, "1": n == 1, "2": n == 2, "3+": n >= 3}
    return {"dataset": ds.name, **head, "items": len(examples), "annotators/item (min/mean/max)": "—",
            "labels/annotator": None, "labels/aggregate": float(n.mean()) if n.size else None,
            "alpha (mean over labels)": None, "alpha (label sets)": None, "kappa (mean over labels)": None,
            **{f"{k} labels": float(v.mean()) if n.size else None for k, v in shares.items()},
            "aggregate": "gold (no annotator labels)"}
