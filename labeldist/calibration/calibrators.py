"""Post-hoc calibrators for any method's probabilities: identity, per-label Platt, per-label isotonic, temperature.

Every calibrator is fitted on a dev split against targets t of shape (n_examples, n_labels):
the human distribution q (annotator fractions), or the 0/1 gold where the data has no
annotators. It is then applied to any split. All four share one interface:

* ``fit(inputs, targets, *, multilabel=True, labels=None) -> self``
* ``transform(inputs) -> probs`` of shape (n_examples, n_labels), float64
* ``to_dict()`` / ``Calibrator.from_dict(d)``: JSON-safe (plain lists and floats)
* ``name``: ``"none"``, ``"temperature"``, ``"platt"``, ``"isotonic"``

``inputs`` is a :class:`CalibrationInput` (or, as a shorthand, a probability array or a
recompute function): the method's probabilities p, optionally raw scores for Platt, and for
step-based methods a function ``recompute(T)`` that re-runs the method's estimator on the
candidate logits divided by T.

Single-label sets: Platt and isotonic calibrate each label one-vs-rest, then each row is
renormalised to sum to 1 (p_il / Σ_k p_ik), so the output is again categorical and is scored
with the categorical NLL −Σ_l q_l log p_l. Identity and temperature return the method's own
rows unchanged.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.utils.validation import check_is_fitted

from labeldist.calibration._common import check_both_sides, check_min_items, check_targets, label_names
from labeldist.calibration.inputs import CalibrationInput, Recompute, as_input  # noqa: F401 (re-exported)
from labeldist.errors import LabeldistError
from labeldist.numeric import sigmoid
from labeldist.calibration.platt import PlattScaler
from labeldist.metrics import EPS, check_probs, nll_loss

#: Isotonic outputs are clipped to [ISOTONIC_EPS, 1 - ISOTONIC_EPS]: a step fitted to a dev bin
#: whose targets are all 0 (or all 1) would otherwise predict exactly 0 (or 1), and one test item
#: of the other class would make the NLL infinite (the metrics' 1e-8 clip would still cost 18 nats).
ISOTONIC_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1.0 - EPS)  # the metrics' clip: a hard 0/1 maps to ±18.4, not ±inf
    return np.log(p) - np.log1p(-p)




class Calibrator(BaseEstimator):
    """Base class. Subclasses set ``name``, ``per_label``, and implement ``_fit`` / ``_transform`` / state.

    Attributes (after fit)
    ----------------------
    multilabel_ : bool
    n_labels_ : int
    labels_ : tuple of str
        Label names used in error messages (``#0``, ``#1``, ... when none were given).
    """

    name: ClassVar[str] = ""
    #: Calibrates each label one-vs-rest (single-label rows are then renormalised).
    per_label: ClassVar[bool] = False
    #: Needs at least one dev item with q > 0 and one with q < 1 per label.
    needs_both_sides: ClassVar[bool] = False
    #: Needs MIN_ITEMS dev items (every calibrator except identity).
    needs_min_items: ClassVar[bool] = True

    # -- public interface -------------------------------------------------------------------
    def fit(self, inputs, targets, *, multilabel: bool = True, labels: Sequence[str] | None = None) -> "Calibrator":
        """Fit on a dev split.

        Parameters
        ----------
        inputs : CalibrationInput, ndarray of shape (n_examples, n_labels), or callable
            The method's dev-split output (see :class:`CalibrationInput`).
        targets : array-like of shape (n_examples, n_labels)
            Annotator fractions q, or 0/1 gold, in [0, 1].
        multilabel : bool, default=True
            False for single-label (categorical) sets.
        labels : sequence of str, optional
            Label names, quoted in errors.

        Raises
        ------
        LabeldistError
            Fewer than ``MIN_ITEMS`` dev items, a label without a dev item on each side (Platt,
            isotonic), mismatched shapes, or targets outside [0, 1].
        """
        inp, t, names = self._check_fit(inputs, targets, labels)
        return self._fit_checked(inp, t, multilabel=bool(multilabel), names=names)

    def transform(self, inputs) -> np.ndarray:
        """Calibrated probabilities, float64 of shape (n_examples, n_labels)."""
        check_is_fitted(self, "n_labels_")
        inp = as_input(inputs)
        if inp.n_labels != self.n_labels_:
            raise LabeldistError(f"{self.name} calibrator was fitted on {self.n_labels_} labels but got "
                                 f"{inp.n_labels} columns", "apply it to the label set it was fitted on")
        p = self._transform(inp)
        if self.per_label and not self.multilabel_:
            p = p / p.sum(axis=1, keepdims=True)  # back to a categorical row
        return p

    def to_dict(self) -> dict:
        """JSON-safe description: ``{"name", "params", "multilabel", "n_labels", "state"}``."""
        check_is_fitted(self, "n_labels_")
        return {"name": self.name, "params": self._params_to_json(), "multilabel": self.multilabel_,
                "n_labels": self.n_labels_, "state": self._state()}

    @staticmethod
    def from_dict(d: dict) -> "Calibrator":
        """Rebuild a fitted calibrator written by :meth:`to_dict`."""
        if not isinstance(d, dict) or d.get("name") not in CALIBRATORS:
            got = d.get("name") if isinstance(d, dict) else d
            raise LabeldistError(f"unknown calibrator {got!r}", f"use one of {', '.join(CALIBRATORS)}")
        cls = CALIBRATORS[d["name"]]
        try:
            cal = cls(**cls._params_from_json(d.get("params", {})))
            cal.multilabel_ = bool(d["multilabel"])
            cal.n_labels_ = int(d["n_labels"])
            cal.labels_ = label_names(None, cal.n_labels_)
            cal._set_state(d["state"])
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, LabeldistError):
                raise
            raise LabeldistError(f"{d['name']} calibrator record is malformed ({type(e).__name__}: {e})",
                                 "refit the calibration; the file was edited or written by another version") from None
        return cal

    # -- helpers for subclasses and selection ------------------------------------------------
    def _check_fit(self, inputs, targets, labels) -> tuple[CalibrationInput, np.ndarray, tuple[str, ...]]:
        what = f"{self.name} calibration"
        inp = as_input(inputs)
        t = check_targets(targets, inp.n_labels, what)
        if t.shape[0] != inp.n_items:
            raise LabeldistError(f"{what}: {t.shape[0]} target rows for {inp.n_items} examples",
                                 "pass the targets of the same examples, in the same order")
        names = label_names(labels, inp.n_labels)
        if self.needs_min_items:
            check_min_items(inp.n_items, what)
        if self.needs_both_sides:
            check_both_sides(t, names, what)
        return inp, t, names

    def _fit_checked(self, inp: CalibrationInput, t: np.ndarray, *, multilabel: bool,
                     names: tuple[str, ...]) -> "Calibrator":
        """Fit without the minimum-data checks (cross-validation folds may lack a label)."""
        self.multilabel_, self.n_labels_, self.labels_ = multilabel, inp.n_labels, names
        self._fit(inp, t)
        return self

    def _params_to_json(self) -> dict:
        return self.get_params()

    @classmethod
    def _params_from_json(cls, params: dict) -> dict:
        return dict(params)

    # The two hooks every calibrator below implements (the base class is never fitted itself).
    def _fit(self, inp: CalibrationInput, t: np.ndarray) -> None:
        raise NotImplementedError

    def _transform(self, inp: CalibrationInput) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict:
        return {}

    def _set_state(self, state: dict) -> None:
        pass


class IdentityCalibrator(Calibrator):
    """``"none"``: the method's raw probabilities, unchanged. A candidate so calibration never makes dev worse.

    Examples
    --------
    >>> p = np.array([[0.2, 0.9]])
    >>> IdentityCalibrator().fit(np.tile(p, (3, 1)), np.ones((3, 2))).transform(p).tolist()
    [[0.2, 0.9]]
    """

    name = "none"
    needs_min_items = False

    def _fit(self, inp, t):
        pass

    def _transform(self, inp):
        return inp.probs.copy()


class PlattCalibrator(Calibrator):
    r"""Per-label Platt scaling: p'_l = σ(w_l x_l + b_l), fitted by BCE against soft targets q_l.

    x = logit(clip(p, 1e-8, 1 − 1e-8)) (``on="probs"``) or the given raw scores (``on="scores"``).
    Each label's (w_l, b_l) minimises mean_i BCE(σ(w_l x_il + b_l), q_il) + (alpha/2) w_l², using
    :class:`~labeldist.calibration.platt.PlattScaler` on that column (Newton, exact minimum).

    Parameters
    ----------
    alpha : float, default=1e-6
        L2 penalty on w_l (keeps w_l finite when 0/1 targets are separable).
    on : {"probs", "scores"}, default="probs"

    Attributes
    ----------
    coef_ : ndarray of shape (n_labels,)
    intercept_ : ndarray of shape (n_labels,)

    Examples
    --------
    >>> z = np.linspace(-3, 3, 40)[:, None]
    >>> reported, true = 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(-2 * z))
    >>> cal = PlattCalibrator(alpha=0.0).fit(reported, true)
    >>> round(float(cal.coef_[0]), 6), abs(round(float(cal.intercept_[0]), 6))
    (2.0, 0.0)
    """

    name = "platt"
    per_label = True
    needs_both_sides = True

    def __init__(self, *, alpha: float = 1e-6, on: str = "probs"):
        self.alpha = alpha
        self.on = on

    def _x(self, inp: CalibrationInput) -> np.ndarray:
        if self.on == "probs":
            return _logit(inp.probs)
        if self.on == "scores":
            if inp.scores is None:
                raise LabeldistError("Platt calibration on raw scores got no scores",
                                     "pass CalibrationInput(probs, scores=...) or use on='probs'")
            return inp.scores
        raise LabeldistError(f"PlattCalibrator(on={self.on!r}) is not supported", "use on='probs' or on='scores'")

    def _fit(self, inp, t):
        x = self._x(inp)  # (n, L)
        fits = [PlattScaler(alpha=self.alpha).fit(x[:, j], t[:, j]) for j in range(x.shape[1])]
        self.coef_ = np.array([f.coef_ for f in fits])
        self.intercept_ = np.array([f.intercept_ for f in fits])

    def _transform(self, inp):
        return sigmoid(self._x(inp) * self.coef_ + self.intercept_)  # (n, L)

    def _state(self):
        return {"coef": self.coef_.tolist(), "intercept": self.intercept_.tolist()}

    def _set_state(self, state):
        coef, intercept = np.asarray(state["coef"], float), np.asarray(state["intercept"], float)
        if coef.shape != (self.n_labels_,) or intercept.shape != (self.n_labels_,):
            raise ValueError(f"expected {self.n_labels_} coefficients and intercepts")
        self.coef_, self.intercept_ = coef, intercept


class IsotonicCalibrator(Calibrator):
    r"""Per-label isotonic regression of q_l on p_l (least squares, non-decreasing, values in [0, 1]).

    Fitted with scikit-learn's ``IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip")``;
    soft targets q are used directly as y. Applied by linear interpolation between the fitted
    thresholds (``np.interp``, which is what ``IsotonicRegression.predict`` computes), inputs
    outside the dev range taking the end values, and outputs clipped to
    [1e-6, 1 − 1e-6] (``ISOTONIC_EPS``) so the NLL stays finite.

    Attributes
    ----------
    x_thresholds_ : list of ndarray
        Per label, the ascending input values of the fitted step function.
    y_thresholds_ : list of ndarray
        Per label, the fitted (non-decreasing) values there.

    Examples
    --------
    >>> p = np.array([[0.1], [0.2], [0.3], [0.4]] * 5)
    >>> q = np.array([[0.0], [1.0], [0.0], [1.0]] * 5)  # not monotone in p: pooled to 0.5 in the middle
    >>> IsotonicCalibrator().fit(p, q).transform(np.array([[0.1], [0.25], [0.4]])).round(6).tolist()
    [[1e-06], [0.5], [0.999999]]
    """

    name = "isotonic"
    per_label = True
    needs_both_sides = True

    def _fit(self, inp, t):
        self.x_thresholds_, self.y_thresholds_ = [], []
        for j in range(inp.n_labels):
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            iso.fit(inp.probs[:, j], t[:, j])
            self.x_thresholds_.append(np.asarray(iso.X_thresholds_, dtype=np.float64))
            self.y_thresholds_.append(np.asarray(iso.y_thresholds_, dtype=np.float64))

    def _transform(self, inp):
        cols = [np.interp(inp.probs[:, j], self.x_thresholds_[j], self.y_thresholds_[j])
                for j in range(self.n_labels_)]
        return np.clip(np.stack(cols, axis=1), ISOTONIC_EPS, 1.0 - ISOTONIC_EPS)

    def _state(self):
        return {"x_thresholds": [x.tolist() for x in self.x_thresholds_],
                "y_thresholds": [y.tolist() for y in self.y_thresholds_]}

    def _set_state(self, state):
        xs = [np.asarray(x, float) for x in state["x_thresholds"]]
        ys = [np.asarray(y, float) for y in state["y_thresholds"]]
        if len(xs) != self.n_labels_ or len(ys) != self.n_labels_:
            raise ValueError(f"expected {self.n_labels_} threshold lists")
        for x, y in zip(xs, ys):
            if x.ndim != 1 or x.shape != y.shape or x.size == 0 or np.any(np.diff(x) <= 0) or np.any(np.diff(y) < 0):
                raise ValueError("thresholds must be non-empty, x strictly ascending, y non-decreasing")
        self.x_thresholds_, self.y_thresholds_ = xs, ys


class TemperatureCalibrator(Calibrator):
    r"""One temperature T for a step-based method, applied to the candidate logits before the softmax.

    The method's estimator is re-run on z / T through ``inputs.recompute(T)`` (first_step:
    softmax(z/T)[:L]; compare_to_none: σ((z_l − z_none)/T); max_over_generations:
    max_t softmax(z_t/T)[:L]). T minimises the dev NLL (categorical for single-label sets,
    summed Bernoulli for multi-label)::

        T* = argmin_{T in [0.05, 20]} NLL(q, recompute(T))

    by bounded Brent search over log T (``scipy.optimize.minimize_scalar``, ``xatol`` in log
    units); T = 1 (the raw method) is kept if the search ends no lower, so the dev NLL never
    rises.

    Parameters
    ----------
    bounds : tuple of float, default=(0.05, 20.0)
    xatol : float, default=1e-5
        Tolerance on log T.

    Attributes
    ----------
    temperature_ : float
    dev_nll_ : float
        Dev NLL at ``temperature_``.
    n_evals_ : int
        Calls of ``recompute`` during the search.

    Examples
    --------
    >>> z = np.linspace(-3, 3, 40)[:, None]
    >>> true = 1 / (1 + np.exp(-2 * z))  # the model's logits are half as sharp as they should be
    >>> cal = TemperatureCalibrator().fit(lambda T: 1 / (1 + np.exp(-z / T)), true)
    >>> round(cal.temperature_, 4)
    0.5
    """

    name = "temperature"

    def __init__(self, *, bounds: tuple[float, float] = (0.05, 20.0), xatol: float = 1e-5):
        self.bounds = bounds
        self.xatol = xatol

    def _params_to_json(self):
        return {"bounds": [float(b) for b in self.bounds], "xatol": float(self.xatol)}

    @classmethod
    def _params_from_json(cls, params):
        out = dict(params)
        if "bounds" in out:
            out["bounds"] = tuple(float(b) for b in out["bounds"])
        return out

    @staticmethod
    def _recompute(inp: CalibrationInput, temperature: float) -> np.ndarray:
        if inp.recompute is None:
            raise LabeldistError("temperature calibration needs the method's candidate logits (a recompute function)",
                                 "use it for first_step, compare_to_none or max_over_generations, "
                                 "or choose --calibrator platt, isotonic or none")
        p = check_probs(inp.recompute(float(temperature)), f"recompute({temperature:.4g})", where="temperature calibration")
        if p.shape != inp.probs.shape:
            raise LabeldistError(f"temperature calibration: recompute returned shape {p.shape}, "
                                 f"expected {inp.probs.shape}", "return one row per example, one column per label")
        return p

    def _fit(self, inp, t):
        lo, hi = (float(b) for b in self.bounds)
        if not 0 < lo < 1 < hi:
            raise LabeldistError(f"temperature bounds {self.bounds!r} must satisfy 0 < low < 1 < high",
                                 "use the default (0.05, 20)")
        n_evals = 0

        def nll_at(log_t: float) -> float:
            nonlocal n_evals
            n_evals += 1
            return nll_loss(t, self._recompute(inp, np.exp(log_t)), multilabel=self.multilabel_)

        res = minimize_scalar(nll_at, bounds=(np.log(lo), np.log(hi)), method="bounded",
                              options={"xatol": self.xatol})
        best_t, best = float(np.exp(res.x)), float(res.fun)
        at_one = nll_at(0.0)
        if at_one <= best:  # the search may stop at a non-global point of a non-convex estimator
            best_t, best = 1.0, at_one
        self.temperature_, self.dev_nll_, self.n_evals_ = best_t, best, n_evals

    def _transform(self, inp):
        return self._recompute(inp, self.temperature_)

    def _state(self):
        return {"temperature": self.temperature_, "dev_nll": self.dev_nll_}

    def _set_state(self, state):
        temperature = float(state["temperature"])
        if not np.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature {temperature!r} is not positive")
        self.temperature_, self.dev_nll_ = temperature, float(state.get("dev_nll", np.nan))
        self.n_evals_ = 0


#: Name -> class, in the simplicity order used to break ties in selection.
CALIBRATORS: dict[str, type[Calibrator]] = {
    c.name: c for c in (IdentityCalibrator, TemperatureCalibrator, PlattCalibrator, IsotonicCalibrator)
}
