"""Synthetic data with a known miscalibration: the true probability is σ(2z), the method reports σ(z).

Multi-label: z ~ N(offset_l, 1.5²) per (example, label), reported p = σ(z), so the logits are
half as sharp as they should be and the ideal temperature is T = 0.5. Single-label: candidate
logits z ~ N(0, 1.5²) per class, true p = softmax(2z), reported softmax(z). Targets q are the
true probabilities themselves (``n_annotators=None``) or the mean of that many Bernoulli (or
categorical) annotator draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeldist.calibration import CalibrationInput

OFFSETS = np.array([-1.0, -0.3, 0.4])  # per-label base rates differ


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Split:
    z: np.ndarray  # logits (n, L)
    true: np.ndarray  # oracle probabilities (n, L)
    q: np.ndarray  # targets (n, L)
    multilabel: bool
    sharpness: float  # reported = link(sharpness * z); 1.0 miscalibrated, 2.0 calibrated

    def link(self, z):
        return sigmoid(z) if self.multilabel else softmax(z)

    @property
    def reported(self):
        return self.link(self.sharpness * self.z)

    def inputs(self) -> CalibrationInput:
        """Reported probabilities and the recompute function T -> link(sharpness z / T)."""
        return CalibrationInput(self.reported, recompute=lambda t: self.link(self.sharpness * self.z / t))


def make_split(n: int, seed: int, *, n_annotators: int | None = None, multilabel: bool = True,
               calibrated: bool = False) -> Split:
    rng = np.random.default_rng(seed)
    if multilabel:
        z = rng.normal(0.0, 1.5, (n, OFFSETS.size)) + OFFSETS
        true = sigmoid(2.0 * z)
        q = true if n_annotators is None else rng.binomial(n_annotators, true) / n_annotators
    else:
        z = rng.normal(0.0, 1.5, (n, 3))
        true = softmax(2.0 * z)
        if n_annotators is None:
            q = true
        else:
            q = np.stack([rng.multinomial(n_annotators, row) for row in true]) / n_annotators
    return Split(z, true, q, multilabel, 2.0 if calibrated else 1.0)
