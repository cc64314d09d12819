"""The numeric helpers every layer shares: one sigmoid, one softmax, one clipping epsilon.

``sigmoid`` and ``softmax`` are scipy's (numerically stable, float64 in, float64 out), so
no module carries its own copy.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit as _expit
from scipy.special import softmax as _softmax

#: Probabilities are kept in [EPS, 1 - EPS]: the floor of hard / max-over-generations
#: estimates and the clip applied before every log-based metric.
EPS = 1e-8


def sigmoid(x) -> np.ndarray:
    """σ(x) = 1 / (1 + e^{−x}), elementwise, float64."""
    return _expit(np.asarray(x, dtype=np.float64))


def softmax(x) -> np.ndarray:
    """softmax over the last axis, float64: e^{x_i − max x} / Σ_j e^{x_j − max x}."""
    return _softmax(np.asarray(x, dtype=np.float64), axis=-1)


def clip_probs(p, eps: float = EPS) -> np.ndarray:
    """Probabilities clipped to [eps, 1 − eps] (float64)."""
    return np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
