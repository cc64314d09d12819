"""Annotation statistics and inter-annotator agreement of a dataset (Table 1).

Input: per item, one label tuple per annotator (``labeldist.records.Example.annotations``; an empty
tuple or ``("none",)`` means the annotator chose no label). Annotators are anonymous: only the number
of annotators per item and their label sets are used, so items may have different numbers of
annotators ("missing annotators"), which Krippendorff's α handles and Cohen's κ does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.records import NONE_LABEL, LabelSet


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's α for nominal data, any number of coders, missing values allowed.

    Each unit u lists the values its m_u coders gave (``None`` = missing). Units with m_u < 2
    are not pairable and are ignored. With the coincidence matrix

        o_ck = Σ_u (number of ordered pairs of distinct coders of u with values (c, k)) / (m_u − 1),

    n_c = Σ_k o_ck and n = Σ_c n_c (the number of pairable values),

        α = 1 − D_o / D_e = 1 − (n − 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k

    (Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011, nominal metric δ = 1[c ≠ k]).
    Returns NaN when no unit is pairable or only one value occurs (D_e = 0).

    Examples
    --------
    Krippendorff (2011), example A: two coders, ten binary units.

    >>> a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    >>> b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    >>> round(krippendorff_alpha_nominal(list(zip(a, b))), 3)
    0.095
    """
    values: dict[Hashable, int] = {}
    rows = []
    for unit in units:
        present = [v for v in unit if v is not None]
        if len(present) < 2:
            continue
        row: dict[int, int] = {}
        for v in present:
            c = values.setdefault(v, len(values))
            row[c] = row.get(c, 0) + 1
        rows.append(row)
    if not rows:
        return math.nan
    counts = np.zeros((len(rows), len(values)))  # (n_units, n_values): n_uc
    for u, row in enumerate(rows):
        for c, k in row.items():
            counts[u, c] = k
    m = counts.sum(axis=1)  # (n_units,) coders per pairable unit
    # Σ_{c≠k} o_ck, unit by unit: ordered mismatched pairs (m_u² − Σ_c n_uc²) weighted by 1/(m_u − 1).
    disagree = np.sum((m**2 - (counts**2).sum(axis=1)) / (m - 1))
    n_c = counts.sum(axis=0)  # (n_values,): row sums of the coincidence matrix
    n = n_c.sum()
    expected = n**2 - np.sum(n_c**2)  # Σ_{c≠k} n_c n_k
    if expected == 0:
        return math.nan
    return float(1.0 - (n - 1) * disagree / expected)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's κ = (p_o − p_e) / (1 − p_e) of two raters over the same items (NaN when p_e = 1).

    p_o = share of items where a and b agree; p_e = Σ_c P_a(c) P_b(c) with P the raters' marginal
    shares. Equal to ``sklearn.metrics.cohen_kappa_score(a, b)``.

    Examples
    --------
    >>> round(cohen_kappa([0, 1, 0, 1], [0, 1, 1, 1]), 3)
    0.5
    """
    if len(a) != len(b) or not a:
        raise LabeldistError(f"cohen_kappa needs two equally long non-empty sequences; got {len(a)} and {len(b)}",
                             "pass one rating per item from each rater")
    cats = sorted(set(a) | set(b), key=repr)
    pa = np.array([sum(x == c for x in a) for c in cats]) / len(a)
    pb = np.array([sum(x == c for x in b) for c in cats]) / len(b)
    p_o = float(np.mean([x == y for x, y in zip(a, b)]))
    p_e = float(pa @ pb)
    return math.nan if p_e == 1.0 else (p_o - p_e) / (1.0 - p_e)


@dataclass(frozen=True)
class AgreementStats:
    """Table-1 statistics of one dataset.

    Attributes
    ----------
    n_items : int
        Items with at least one annotator.
    annotators_min, annotators_mean, annotators_max : annotators per item.
    labels_per_annotation_mean : mean number of labels in one annotator's label set, pooled over all
        (item, annotator) pairs.
    labels_per_aggregate_mean : mean number of aggregate labels per item.
    aggregate_label_counts : share of items with 0, 1, 2 and 3+ aggregate labels (keys ``"0"``,
        ``"1"``, ``"2"``, ``"3+"``), the paper's Table-1 columns.
    alpha_per_label : Krippendorff's α (nominal) of each label's binary presence data.
    alpha_mean : mean of the defined per-label α.
    alpha_label_sets : α treating each annotator's whole label set as one nominal value (exact
        agreement); for a single-label dataset this is the usual nominal α over its labels.
    n_items_pairable : items with >= 2 annotators (the only ones α uses).
    kappa_per_label, kappa_mean, kappa_label_sets : Cohen's κ, computed only when every pairable
        item has exactly two annotators (first vs second annotator tuple); ``None`` otherwise.
    aggregate_source : ``"gold"`` (passed in) or ``"majority >= <threshold>"`` / ``"plurality"``.
    """

    n_items: int
    annotators_min: int
    annotators_mean: float
    annotators_max: int
    labels_per_annotation_mean: float
    labels_per_aggregate_mean: float
    aggregate_label_counts: dict[str, float]
    alpha_per_label: dict[str, float]
    alpha_mean: float
    alpha_label_sets: float
    n_items_pairable: int
    kappa_per_label: dict[str, float] | None
    kappa_mean: float | None
    kappa_label_sets: float | None
    aggregate_source: str


def _nanmean(xs) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return float(np.mean(xs)) if xs else math.nan


def _aggregate(hot: np.ndarray, label_set: LabelSet, threshold: float) -> np.ndarray:
    frac = hot.mean(axis=0)  # (L,) share of annotators choosing each label
    if label_set.multilabel:
        return (frac >= threshold).astype(int)
    out = np.zeros(label_set.n_labels, dtype=int)
    if frac.max() > 0:
        out[int(np.argmax(frac))] = 1  # plurality; ties go to the first label in label-set order
    return out


def annotation_agreement(annotations: Sequence[Sequence[Sequence[str]]], label_set: LabelSet, *,
                         gold: Sequence[Sequence[str]] | None = None,
                         aggregate_threshold: float = 0.5) -> AgreementStats:
    """Annotators per item, labels per item and inter-annotator agreement (Table 1).

    Parameters
    ----------
    annotations : sequence over items of sequences over annotators of label tuples
        ``Example.annotations`` of each item. Items with no annotator are skipped.
    label_set : LabelSet
    gold : sequence of label tuples, optional
        Aggregate labels per item (same order as ``annotations``). When omitted: for multi-label
        sets the labels chosen by a share >= ``aggregate_threshold`` of the annotators (ties count,
        the reference's MFRC rule); for single-label sets the plurality label.
    aggregate_threshold : float, default=0.5

    Examples
    --------
    >>> ls = LabelSet(("joy", "anger"))
    >>> s = annotation_agreement([(("joy",), ("joy",)), (("anger",), ())], ls)
    >>> s.annotators_mean, s.labels_per_annotation_mean, s.aggregate_label_counts["1"]
    (2.0, 0.75, 1.0)
    """
    if gold is not None and len(gold) != len(annotations):
        raise LabeldistError(f"{len(gold)} gold label sets for {len(annotations)} items", "pass one per item")
    hots, aggs, sets = [], [], []
    for i, item in enumerate(annotations):
        if not item:
            continue
        hot = np.array([label_set.multi_hot(ann) for ann in item], dtype=int).reshape(len(item), label_set.n_labels)
        hots.append(hot)
        sets.append(["+".join(l for l, on in zip(label_set.labels, row) if on) or NONE_LABEL for row in hot])
        aggs.append(np.array(label_set.multi_hot(gold[i])) if gold is not None
                    else _aggregate(hot, label_set, aggregate_threshold))
    if not hots:
        raise LabeldistError("no item has annotator labels", "pass Example.annotations (one label tuple per annotator)")
    m = np.array([h.shape[0] for h in hots])
    n_agg = np.array([a.sum() for a in aggs])
    shares = {"0": np.mean(n_agg == 0), "1": np.mean(n_agg == 1), "2": np.mean(n_agg == 2), "3+": np.mean(n_agg >= 3)}
    alpha = {l: krippendorff_alpha_nominal([h[:, j] for h in hots]) for j, l in enumerate(label_set.labels)}
    pairable = [i for i, k in enumerate(m) if k >= 2]
    kappa = kappa_sets = None
    if pairable and all(m[i] == 2 for i in pairable):
        kappa = {l: cohen_kappa([hots[i][0, j] for i in pairable], [hots[i][1, j] for i in pairable])
                 for j, l in enumerate(label_set.labels)}
        kappa_sets = cohen_kappa([sets[i][0] for i in pairable], [sets[i][1] for i in pairable])
    source = "gold" if gold is not None else (
        f"majority >= {aggregate_threshold:g}" if label_set.multilabel else "plurality")
    return AgreementStats(
        n_items=len(hots), annotators_min=int(m.min()), annotators_mean=float(m.mean()), annotators_max=int(m.max()),
        labels_per_annotation_mean=float(np.concatenate([h.sum(axis=1) for h in hots]).mean()),
        labels_per_aggregate_mean=float(n_agg.mean()),
        aggregate_label_counts={k: float(v) for k, v in shares.items()},
        alpha_per_label=alpha, alpha_mean=_nanmean(alpha.values()),
        alpha_label_sets=krippendorff_alpha_nominal(sets), n_items_pairable=len(pairable),
        kappa_per_label=kappa, kappa_mean=None if kappa is None else _nanmean(kappa.values()),
        kappa_label_sets=kappa_sets, aggregate_source=source,
    )
