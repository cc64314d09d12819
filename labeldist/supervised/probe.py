"""Linear probes: L2 logistic regression on fixed features (LLM hidden states, frozen embeddings).

Pipeline (paper Table 2 "probe" rows; REFERENCE §4.7, REFERENCE-METHODS-2 §2.1)::

    z   = PCA_k( (x - mu) / sigma )                      # StandardScaler, optional PCA(k)
    multi-label:  p_l = sigmoid(w_l . z + b_l)           # one binary model per label
    single-label: p   = softmax(W z + b)                 # one multinomial model

Each model minimises, by L-BFGS (scikit-learn ``LogisticRegression``, intercept unpenalised)::

    C * sum_i sum_c y_ic * (-log p_c(z_i))  +  ||w||^2 / 2

Soft targets use the duplication trick: item i enters once as a positive row weighted q_il
and once as a negative row weighted 1 - q_il (single-label: one row per class c weighted
q_ic; zero-weight rows are dropped). The weighted loss is then exactly the cross-entropy
against q, and hard targets are the special case q in {0, 1}, so both modes share one path.
Each item's weights sum to 1, so C means the same as on unduplicated data.

Penalty selection: every C in ``Cs`` is fitted on train and scored by NLL on dev (never
test). Multi-label picks C **per label**: the multi-label NLL is a sum of independent
per-label terms, so the per-label argmin also minimises the total. Single-label picks one C.
Ties go to the smaller C (the stronger penalty). The kept model is the train-only fit at
the chosen C (no refit on train + dev).

Differences from the reference (``train_probes.py``): the reference centres nothing
(``with_mean=False``), applies ``TruncatedSVD(max(d // 4, 512))``, and fits unpenalised
SAGA models on hard labels with an internal 80/20 split; its single-label branch keeps only
the last class. Here: centred scaling, optional PCA, a dev-chosen L2 penalty, soft or hard
targets, and a proper softmax over classes.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from labeldist.errors import LabeldistError
from labeldist.numeric import EPS, sigmoid, softmax
from labeldist.supervised._artifacts import atomic_dir, check_labels, read_manifest, write_manifest
from labeldist.supervised._validation import (
    check_features, check_min_counts, check_target_kind, check_targets, label_names,
)

FORMAT = "labeldist-probe"
ARRAYS = "probe.npz"
def _binary_nll(q: np.ndarray, p: np.ndarray) -> float:
    """Mean over items of -[q log p + (1 - q) log(1 - p)], for one label."""
    p = np.clip(p, EPS, 1.0 - EPS)
    return float(np.mean(-(q * np.log(p) + (1.0 - q) * np.log1p(-p))))


def _categorical_nll(q: np.ndarray, p: np.ndarray) -> float:
    """Mean over items of -sum_c q_c log p_c."""
    return float(np.mean(-(q * np.log(np.clip(p, EPS, 1.0 - EPS))).sum(axis=1)))


class ProbeClassifier(BaseEstimator):
    """Standardise → optional PCA → L2 logistic regression, with the penalty chosen on dev NLL.

    Parameters
    ----------
    multilabel : bool, default=True
        One binary model per label (sigmoid outputs) when True; one multinomial model over
        the labels as classes (softmax, rows sum to 1) when False.
    targets : {"soft", "hard"}, default="soft"
        ``"soft"``: Y holds annotator fractions q in [0, 1]. ``"hard"``: Y holds 0/1 gold.
    pca : int or None, default=None
        Number of principal components kept after scaling; None keeps all features.
    Cs : sequence of float, default=(0.01, 0.1, 1.0, 10.0)
        Inverse penalty strengths tried (scikit-learn's C); all must be finite and > 0.
    max_iter : int, default=1000
        L-BFGS iterations per fit. Fits that stop at the limit are recorded in
        ``cv_results_["converged"]`` (the ConvergenceWarning is not printed).
    tol : float, default=1e-6
        L-BFGS tolerance.
    seed : int, default=0
        ``random_state`` of the PCA (the logistic fits are deterministic).
    n_threads : int or None, default=1
        BLAS threads during ``fit`` (threadpoolctl); None leaves the process setting.
        L-BFGS does matrix-vector products, which gain little from threads and suffer
        from oversubscription: on a loaded 2-core machine one fit of 2000 × 896 rows took
        2.6 s with 2 OpenBLAS threads and 0.14 s with 1.

    Attributes
    ----------
    labels_ : tuple of str
        Label names, in column order.
    n_features_in_ : int
        Feature dimension d seen in ``fit``.
    n_components_ : int
        Dimension k after the optional PCA (``d`` without PCA).
    coef_ : ndarray of shape (n_labels, k)
        Weights on the scaled (and projected) features. For a two-class single-label set
        the first row is zero (softmax form of the binary model).
    intercept_ : ndarray of shape (n_labels,)
    C_ : ndarray of shape (n_labels,)
        Chosen C per label (one value repeated for single-label sets).
    cv_results_ : dict
        ``"C"`` (n_C,) ascending; ``"dev_nll"`` mean dev NLL, (n_C, n_labels) per label for
        multi-label, (n_C,) for single-label; ``"converged"`` bool of the same shape.
    dev_nll_ : float
        Dev NLL of the kept model, in ``labeldist.metrics.nll_loss`` form (summed over labels
        for multi-label, mean over items); NaN when fitted without dev data.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4)); Y = (X[:, :1] > 0).astype(float)
    >>> probe = ProbeClassifier(targets="hard", Cs=(1.0,)).fit(X, Y)
    >>> probe.predict_proba(np.array([[3.0, 0, 0, 0], [-3.0, 0, 0, 0]])).round(2).tolist()
    [[1.0], [0.0]]
    """

    def __init__(self, *, multilabel: bool = True, targets: str = "soft", pca: int | None = None,
                 Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0), max_iter: int = 1000, tol: float = 1e-6,
                 seed: int = 0, n_threads: int | None = 1):
        self.multilabel = multilabel
        self.targets = targets
        self.pca = pca
        self.Cs = Cs
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.n_threads = n_threads

    # ------------------------------------------------------------------ fit
    def _check_params(self, n_train: int, n_features: int) -> np.ndarray:
        check_target_kind(self.targets)
        Cs = np.asarray(sorted(float(c) for c in self.Cs), dtype=np.float64)
        if Cs.size == 0 or not np.all(np.isfinite(Cs) & (Cs > 0)):
            raise LabeldistError(f"Cs must be a non-empty list of finite positive numbers; got {list(self.Cs)!r}",
                                 "pass e.g. Cs=(0.01, 0.1, 1, 10)")
        if self.pca is not None:
            k = self.pca
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= min(n_train, n_features):
                raise LabeldistError(f"pca={k!r} components is not an integer in [1, min(n_train, n_features)] = "
                                     f"[1, {min(n_train, n_features)}]", "lower pca, or pass pca=None")
        return Cs

    def _rows(self, Z: np.ndarray, Y: np.ndarray, j: int | None):
        """Weighted rows of the duplication trick (module docstring): (Z_aug, y_aug, w_aug)."""
        if j is not None:  # binary model of label j
            q = Y[:, j]
            pos, neg = np.flatnonzero(q > 0.0), np.flatnonzero(q < 1.0)
            idx = np.concatenate([pos, neg])
            y = np.concatenate([np.ones(pos.size, dtype=int), np.zeros(neg.size, dtype=int)])
            w = np.concatenate([q[pos], 1.0 - q[neg]])
        else:  # multinomial: one row per (item, class) with weight q_ic
            items, classes = np.nonzero(Y > 0.0)
            idx, y, w = items, classes.astype(int), Y[items, classes]
        return Z[idx], y, w

    def _fit_one(self, Z, y, w, C: float) -> tuple[np.ndarray, np.ndarray, bool]:
        """One L-BFGS fit; coef in softmax/sigmoid form, plus whether it converged."""
        lr = LogisticRegression(C=C, solver="lbfgs", max_iter=self.max_iter, tol=self.tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # recorded in cv_results_ instead
            lr.fit(Z, y, sample_weight=w)
        converged = bool(np.all(np.atleast_1d(lr.n_iter_) < self.max_iter))
        coef, intercept = lr.coef_, lr.intercept_
        if not self.multilabel and coef.shape[0] == 1:  # binary single-label: softmax over [0, w.z + b]
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        return coef, intercept, converged

    def fit(self, X_train, Y_train, X_dev=None, Y_dev=None, *, labels: Sequence[str] | None = None):
        """Fit on train, choosing C on dev.

        Parameters
        ----------
        X_train : array-like of shape (n_train, n_features)
        Y_train : array-like of shape (n_train, n_labels)
            Targets of the kind set by ``targets`` (q fractions or 0/1 gold).
        X_dev, Y_dev : array-like of shape (n_dev, n_features) / (n_dev, n_labels), optional
            Dev split for choosing C, with the same kind of targets. Required when ``Cs``
            has more than one value.
        labels : sequence of str, optional
            Label names in column order (default ``label_0`` …); stored with the model.

        Returns
        -------
        self
        """
        with threadpool_limits(self.n_threads):
            return self._fit(X_train, Y_train, X_dev, Y_dev, labels)

    def _fit(self, X_train, Y_train, X_dev, Y_dev, labels):
        X = check_features(X_train, "X_train")
        Cs = self._check_params(X.shape[0], X.shape[1])
        Y = check_targets(Y_train, "Y_train", n_items=X.shape[0], multilabel=self.multilabel, targets=self.targets)
        names = label_names(labels, Y.shape[1])
        if not self.multilabel and Y.shape[1] < 2:
            raise LabeldistError("a single-label probe needs at least 2 classes", "pass multilabel=True for one label")
        check_min_counts(Y, names, multilabel=self.multilabel)
        if (X_dev is None) != (Y_dev is None):
            raise LabeldistError("X_dev and Y_dev must be given together", "pass both or neither")
        if X_dev is None and Cs.size > 1:
            raise LabeldistError(f"choosing C among {Cs.size} values needs a dev split",
                                 "pass X_dev and Y_dev, or a single C, e.g. Cs=(1.0,)")
        if X_dev is not None:
            Xd = check_features(X_dev, "X_dev", n_features=X.shape[1])
            Yd = check_targets(Y_dev, "Y_dev", n_items=Xd.shape[0], multilabel=self.multilabel,
                               targets=self.targets, n_labels=Y.shape[1])

        scaler = StandardScaler().fit(X)
        self.scale_mean_, self.scale_ = scaler.mean_.astype(np.float64), scaler.scale_.astype(np.float64)
        self.pca_components_ = self.pca_mean_ = None
        Zs = (X - self.scale_mean_) / self.scale_
        if self.pca is not None:
            pca = PCA(n_components=int(self.pca), random_state=self.seed).fit(Zs)
            self.pca_components_, self.pca_mean_ = pca.components_.astype(np.float64), pca.mean_.astype(np.float64)
        self.labels_ = names
        self.n_features_in_ = X.shape[1]
        Z = self._transform(X)
        Zd = self._transform(Xd) if X_dev is not None else None
        self.n_components_ = Z.shape[1]

        n_models = Y.shape[1] if self.multilabel else 1
        dev_nll = np.full((Cs.size, n_models), np.nan)
        converged = np.zeros((Cs.size, n_models), dtype=bool)
        fits: list[list[tuple[np.ndarray, np.ndarray]]] = []
        for a, C in enumerate(Cs):
            row = []
            for m in range(n_models):
                j = m if self.multilabel else None
                coef, intercept, converged[a, m] = self._fit_one(*self._rows(Z, Y, j), C)
                row.append((coef, intercept))
                if Zd is not None:
                    logits = Zd @ coef.T + intercept
                    dev_nll[a, m] = (_binary_nll(Yd[:, m], sigmoid(logits[:, 0])) if self.multilabel
                                     else _categorical_nll(Yd, softmax(logits)))
            fits.append(row)
        # argmin takes the first minimum: the smallest C (strongest penalty) on ties.
        best = np.argmin(dev_nll, axis=0) if Zd is not None else np.zeros(n_models, dtype=int)
        coef = np.vstack([fits[best[m]][m][0] for m in range(n_models)])
        intercept = np.concatenate([fits[best[m]][m][1] for m in range(n_models)])
        self.coef_, self.intercept_ = coef.astype(np.float64), intercept.astype(np.float64)
        self.C_ = Cs[best] if self.multilabel else np.full(Y.shape[1], Cs[best[0]])
        squeeze = (lambda a: a) if self.multilabel else (lambda a: a[:, 0])
        self.cv_results_ = {"C": Cs, "dev_nll": squeeze(dev_nll), "converged": squeeze(converged)}
        self.dev_nll_ = float(np.nansum(dev_nll[best, np.arange(n_models)])) if Zd is not None else float("nan")
        return self

    # ------------------------------------------------------------------ predict
    def _transform(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.scale_mean_) / self.scale_  # (n, d)
        if self.pca_components_ is not None:
            Z = (Z - self.pca_mean_) @ self.pca_components_.T  # (n, k)
        return Z

    def decision_function(self, X) -> np.ndarray:
        """Logits, shape (n_items, n_labels): w_l . z + b_l."""
        check_is_fitted(self, "coef_")
        X = check_features(X, "X", n_features=self.n_features_in_)
        return self._transform(X) @ self.coef_.T + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Per-label probabilities, float64 of shape (n_items, n_labels) in ``labels_`` order.

        Multi-label: independent sigmoids. Single-label: a softmax, rows sum to 1.
        """
        logits = self.decision_function(X)
        return sigmoid(logits) if self.multilabel else softmax(logits)

    # ------------------------------------------------------------------ persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"scale_mean": self.scale_mean_, "scale": self.scale_, "coef": self.coef_,
                  "intercept": self.intercept_, "C": self.C_, "cv_C": self.cv_results_["C"],
                  "cv_dev_nll": self.cv_results_["dev_nll"], "cv_converged": self.cv_results_["converged"]}
        if self.pca_components_ is not None:
            arrays["pca_components"], arrays["pca_mean"] = self.pca_components_, self.pca_mean_
        return arrays

    def _manifest(self) -> dict:
        return {"format": FORMAT, "version": 1, "labels": list(self.labels_), "multilabel": bool(self.multilabel),
                "targets": self.targets, "pca": None if self.pca is None else int(self.pca),
                "Cs": [float(c) for c in self.cv_results_["C"]], "max_iter": int(self.max_iter),
                "tol": float(self.tol), "seed": int(self.seed),
                "n_threads": self.n_threads, "n_features_in": int(self.n_features_in_),
                "n_components": int(self.n_components_), "C": [float(c) for c in self.C_],
                "dev_nll": None if np.isnan(self.dev_nll_) else self.dev_nll_}

    def save_into(self, folder: Path) -> None:
        """Write the arrays and manifest into an existing (temporary) folder; see :meth:`save`."""
        check_is_fitted(self, "coef_")
        np.savez(folder / ARRAYS, **self._arrays())
        write_manifest(folder, self._manifest())

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Save as ``probe.npz`` (plain arrays, no pickle) + ``classifier.json``, atomically.

        Returns the folder path.
        """
        with atomic_dir(folder, overwrite=overwrite) as tmp:
            self.save_into(tmp)
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, *, labels: Sequence[str] | None = None,
             n_features: int | None = None) -> "ProbeClassifier":
        """Load a saved probe; ``labels`` / ``n_features``, when given, must match the saved model."""
        folder = Path(folder)
        m = read_manifest(folder, FORMAT, what="ProbeClassifier")
        check_labels(m["labels"], labels, folder)
        if n_features is not None and n_features != m["n_features_in"]:
            raise LabeldistError(f"{folder} was trained on {m['n_features_in']} features, not {n_features}",
                                 "use features from the same model and layer, or retrain the probe")
        try:
            with np.load(folder / ARRAYS, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise LabeldistError(f"cannot read {folder / ARRAYS} ({exc.__class__.__name__})",
                                 "save the probe again") from None
        probe = cls(multilabel=m["multilabel"], targets=m["targets"], pca=m["pca"], Cs=tuple(m["Cs"]),
                    max_iter=m["max_iter"], tol=m["tol"], seed=m["seed"], n_threads=m.get("n_threads", 1))
        L, d, k = len(m["labels"]), m["n_features_in"], m["n_components"]
        shapes = {"coef": (L, k), "intercept": (L,), "scale_mean": (d,), "scale": (d,)}
        if m["pca"] is not None:
            shapes.update(pca_components=(k, d), pca_mean=(d,))
        for key, shape in shapes.items():
            if key not in a or a[key].shape != shape:
                raise LabeldistError(f"{folder / ARRAYS} has {key} of shape {a[key].shape if key in a else None}, "
                                     f"expected {shape}", "the artefact is corrupt; save the probe again")
        probe.labels_, probe.n_features_in_, probe.n_components_ = tuple(m["labels"]), d, k
        probe.scale_mean_, probe.scale_ = a["scale_mean"], a["scale"]
        probe.pca_components_ = a.get("pca_components")
        probe.pca_mean_ = a.get("pca_mean")
        probe.coef_, probe.intercept_, probe.C_ = a["coef"], a["intercept"], a["C"]
        probe.cv_results_ = {"C": a["cv_C"], "dev_nll": a["cv_dev_nll"], "converged": a["cv_converged"]}
        probe.dev_nll_ = float("nan") if m["dev_nll"] is None else float(m["dev_nll"])
        return probe

