"""What a method offers a calibrator on one split: probabilities, optional raw scores, optional recompute(T)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.metrics import check_probs

#: A method's estimator re-run on candidate logits z / T: T -> probs (n_examples, n_labels).
Recompute = Callable[[float], np.ndarray]


@dataclass(frozen=True, eq=False)
class CalibrationInput:
    """What one method offers a calibrator on one split.

    Parameters
    ----------
    probs : ndarray of shape (n_examples, n_labels), optional
        The method's probabilities in label-set order. Computed as ``recompute(1.0)`` when
        omitted and ``recompute`` is given.
    scores : ndarray of shape (n_examples, n_labels), optional
        Raw per-label scores (e.g. z_l − z_none); used only by ``PlattCalibrator(on="scores")``.
    recompute : callable, optional
        ``recompute(T) -> probs`` of shape (n_examples, n_labels): the method's estimator re-run
        on the stored candidate logits z / T (before the softmax). Needed by temperature scaling.
    """

    probs: np.ndarray | None = None
    scores: np.ndarray | None = None
    recompute: Recompute | None = None

    def __post_init__(self) -> None:
        if self.probs is None and self.recompute is None:
            raise LabeldistError("a calibration input needs probabilities or a recompute function",
                                 "pass the method's probabilities (and its logits for temperature scaling)")
        if self.recompute is not None and not callable(self.recompute):
            raise LabeldistError(f"recompute must be a function T -> probs, got {type(self.recompute).__name__}",
                                 "pass a callable")
        probs = self.probs if self.probs is not None else self.recompute(1.0)
        probs = check_probs(probs, "probs" if self.probs is not None else "recompute(1.0)", where="calibration input")
        object.__setattr__(self, "probs", probs)
        if self.scores is not None:
            s = np.asarray(self.scores, dtype=np.float64)
            if s.shape != probs.shape or not np.all(np.isfinite(s)):
                raise LabeldistError(f"calibration input: scores must be finite with the probabilities' shape "
                                     f"{probs.shape}; got shape {s.shape}", "pass one finite score per probability")
            object.__setattr__(self, "scores", s)

    @property
    def n_items(self) -> int:
        return self.probs.shape[0]

    @property
    def n_labels(self) -> int:
        return self.probs.shape[1]

    def subset(self, idx: np.ndarray) -> "CalibrationInput":
        """The same input restricted to rows ``idx`` (recompute is wrapped, not re-run)."""
        rec = None
        if self.recompute is not None:
            base = self.recompute
            rec = lambda t: np.asarray(base(t), dtype=np.float64)[idx]  # noqa: E731
        return CalibrationInput(self.probs[idx], None if self.scores is None else self.scores[idx], rec)


def as_input(inputs) -> CalibrationInput:
    """Coerce a :class:`CalibrationInput`, a probability array or a recompute function to a CalibrationInput."""
    if isinstance(inputs, CalibrationInput):
        return inputs
    if callable(inputs):
        return CalibrationInput(recompute=inputs)
    return CalibrationInput(probs=inputs)
