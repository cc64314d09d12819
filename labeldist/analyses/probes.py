"""Linear probes on the first label step's hidden state: Gold, Pred and Pred 2+ (paper Fig 7, REFERENCE §4.7).

Inputs per example i: features x_i (the last-layer hidden state at the first generated label),
gold labels G_i, the model's own parsed labels S_i (multi-hot) and f_i, the label it generated
first. Probes are :class:`labeldist.supervised.ProbeClassifier` (standardise → L2 logistic
regression, one binary model per label) fitted with **cross-fitting**: the examples are split into
``n_folds`` seeded folds and every example is predicted by probes fitted on the other folds, so
one run's examples give out-of-fold predictions for all of them (the reference trained on the
train split instead). A label with fewer than two positive or negative training items in a fold
gets the constant prediction of its training majority.

With ŷ = 1[p >= 0.5] and micro-F1 = 2 TP / (2 TP + FP + FN), pooled over examples and labels:

* **Gold**: probes fitted on G, scored against G;
* **Pred**: probes fitted on S, scored against S;
* **Pred 2+**: the Pred probes scored against S without the first generated label — the column f_i
  is removed from both ŷ_i and S_i — over the examples with at least one generated label; the
  paper's claim is that this is much lower than Pred (the first-label state says little about
  later labels);
* **Perf**: the model's own labels S against G.

Each micro-F1 is a ratio of per-example sums, so its interval is a cluster bootstrap over examples
(:mod:`labeldist.analyses.intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeldist.analyses.intervals import N_BOOT, GroupedSample, joint_interval, sample_interval
from labeldist.errors import LabeldistError
from labeldist.metrics import Interval

@dataclass(frozen=True)
class ProbeResult:
    """Micro-F1 of the probes and of the model, with intervals; ``pred_drop`` = Pred − Pred 2+.

    ``n_constant`` counts the (fold, label, target) fits replaced by a constant for too few items.
    """

    gold: Interval
    pred: Interval
    pred_2plus: Interval
    perf: Interval
    pred_drop: Interval
    n_examples: int
    n_2plus: int
    n_folds: int
    n_constant: int

    def row(self, **extra) -> dict:
        return {**extra, "examples": self.n_examples, "Gold": self.gold, "Pred": self.pred, "Pred 2+": self.pred_2plus,
                "Perf (model)": self.perf, "Pred − Pred 2+": self.pred_drop, "constant fits": self.n_constant}


def _micro_sample(ids, target: np.ndarray, pred: np.ndarray) -> GroupedSample:
    """micro-F1 as Σ_i 2 TP_i / Σ_i (2 TP_i + FP_i + FN_i)."""
    t, p = target.astype(bool), pred.astype(bool)
    tp, fp, fn = (t & p).sum(1), (~t & p).sum(1), (t & ~p).sum(1)
    return GroupedSample(tuple(ids), 2.0 * tp, 2.0 * tp + fp + fn)


def _fit_predict(X_tr, y_tr, X_te, *, Cs, pca, seed) -> tuple[np.ndarray, bool]:
    """0/1 predictions of one label's probe; a constant (training majority) when a side is too small."""
    from labeldist.supervised import MIN_PER_CLASS, ProbeClassifier
    from labeldist.supervised._validation import TARGET_KINDS

    hard_targets = TARGET_KINDS[1]  # 0/1 targets (the word is also a method's name, which only the registry may use)

    n_pos = int(y_tr.sum())
    if n_pos < MIN_PER_CLASS or len(y_tr) - n_pos < MIN_PER_CLASS:
        return np.full(len(X_te), float(n_pos * 2 >= len(y_tr) and n_pos > 0)), True
    k = None if pca is None else min(pca, X_tr.shape[0], X_tr.shape[1])
    probe = ProbeClassifier(multilabel=True, targets=hard_targets, Cs=tuple(Cs), pca=k, seed=seed)
    probe.fit(X_tr, y_tr[:, None])
    return (probe.predict_proba(X_te)[:, 0] >= 0.5).astype(float), False


def _cross_fit(X, Y, folds, **kw) -> tuple[np.ndarray, int]:
    out = np.zeros_like(Y)
    n_const = 0
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        for j in range(Y.shape[1]):
            out[te, j], const = _fit_predict(X[tr], Y[tr, j], X[te], **kw)
            n_const += const
    return out, n_const


def probe_analysis(X, gold, predicted, first, *, ids=None, n_folds: int = 2, Cs=(1.0,), pca: int | None = None,
                   seed: int = 0, n_boot: int = N_BOOT, confidence: float = 0.95) -> ProbeResult:
    """Gold / Pred / Pred 2+ probes and the model's own micro-F1 (module docstring).

    Parameters
    ----------
    X : array of shape (n, d)
        First-label-step features.
    gold, predicted : arrays of shape (n, L)
        Multi-hot gold labels and the model's parsed labels.
    first : array of shape (n,)
        Column of the first generated label, −1 when the model generated none.
    ids : sequence of str, optional
        Example ids (default ``0..n-1``), the bootstrap's clusters.
    n_folds : int, default=2
    Cs, pca : passed to :class:`labeldist.supervised.ProbeClassifier` (a single C: no dev split).
    seed : int
        Seeds the folds, the PCA and the bootstrap.
    """
    X = np.asarray(X, dtype=np.float64)
    G = np.asarray(gold, dtype=np.float64)
    S = np.asarray(predicted, dtype=np.float64)
    first = np.asarray(first, dtype=int)
    n = X.shape[0] if X.ndim == 2 else -1
    if n < 2 or G.shape != S.shape or G.ndim != 2 or G.shape[0] != n or first.shape != (n,):
        raise LabeldistError(f"probe inputs disagree: X {X.shape}, gold {G.shape}, predicted {S.shape}, "
                             f"first {first.shape}", "pass X (n, d), gold and predicted (n, L), first (n,) with n >= 2")
    if not np.all(np.isfinite(X)) or not set(np.unique(np.concatenate([G.ravel(), S.ravel()]))) <= {0.0, 1.0}:
        raise LabeldistError("probe features must be finite and labels 0/1", "pass multi-hot gold and predictions")
    if np.any((first >= G.shape[1]) | (first < -1)) or np.any(S[first >= 0, first[first >= 0]] != 1):
        raise LabeldistError("a first generated label is not among that example's predicted labels",
                             "pass the index of the first label of each example's parsed labels (−1 for none)")
    if not 2 <= n_folds <= n:
        raise LabeldistError(f"n_folds={n_folds} must be in [2, {n}]", "use e.g. n_folds=2")
    ids = tuple(str(i) for i in (range(n) if ids is None else ids))
    folds = np.random.default_rng(seed).permutation(n) % n_folds
    kw = dict(Cs=Cs, pca=pca, seed=seed)
    gold_hat, c1 = _cross_fit(X, G, folds, **kw)
    pred_hat, c2 = _cross_fit(X, S, folds, **kw)
    has = np.flatnonzero(first >= 0)
    later_t, later_p = S[has].copy(), pred_hat[has].copy()
    later_t[np.arange(has.size), first[has]] = 0.0  # the first generated label leaves both sides
    later_p[np.arange(has.size), first[has]] = 0.0
    boot = dict(n_boot=n_boot, seed=seed, confidence=confidence)
    s_pred = _micro_sample(ids, S, pred_hat)
    s_later = _micro_sample([ids[i] for i in has], later_t, later_p)
    return ProbeResult(
        gold=sample_interval(_micro_sample(ids, G, gold_hat), **boot), pred=sample_interval(s_pred, **boot),
        pred_2plus=sample_interval(s_later, **boot), perf=sample_interval(_micro_sample(ids, G, S), **boot),
        pred_drop=joint_interval([s_pred, s_later], lambda r: r[0] - r[1], **boot),
        n_examples=n, n_2plus=int(has.size), n_folds=n_folds, n_constant=c1 + c2,
    )
