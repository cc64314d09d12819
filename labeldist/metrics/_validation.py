"""Input checks for the public metric functions; helpers behind them trust their inputs."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
#: Predicted probabilities are clipped to ``[EPS, 1 - EPS]`` before any metric (re-exported as labeldist.metrics.EPS).
from labeldist.numeric import EPS  # noqa: F401


def _row_name(i: int, row_ids: Sequence[str] | None) -> str:
    if row_ids is None:
        return f"example index {i}"
    return f"example id {row_ids[i]!r} (index {i})"


def _prefix(where: str | None) -> str:
    return f"{where}: " if where else ""


def check_probs(
    x,
    name: str,
    *,
    row_ids: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    where: str | None = None,
) -> np.ndarray:
    """Return ``x`` as a float64 array of shape ``(n_examples, n_labels)`` with values in [0, 1].

    Parameters
    ----------
    x : array-like of shape (n_examples, n_labels)
    name : str
        Argument name quoted in the error, e.g. ``"pred_probs"``.
    row_ids : sequence of str, optional
        Example ids, quoted in the error instead of bare row indices.
    columns : sequence of str, optional
        Label names, quoted in the error instead of bare column indices.
    where : str, optional
        Context prefixed to the error, e.g. ``"run 'runs/a', method 'max'"``.

    Raises
    ------
    LabeldistError
        If ``x`` is not 2-D and non-empty, or holds a NaN, an infinity or a value outside [0, 1].
    """
    pre = _prefix(where)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise LabeldistError(f"{pre}{name} is not a numeric array", "pass floats of shape (n_examples, n_labels)") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise LabeldistError(
            f"{pre}{name} must have shape (n_examples, n_labels) with both >= 1; got shape {arr.shape}",
            "pass one row per example and one column per label (`none` is not a column)",
        )
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        col = repr(columns[j]) if columns is not None else str(j)
        raise LabeldistError(
            f"{pre}{name} at {_row_name(i, row_ids)}, label {col} is {float(arr[i, j])!r}, "
            f"not a probability in [0, 1] ({int(bad.sum())} bad values in all)",
            "fix the method that produced it; NaN usually means a failed estimate",
        )
    return arr


def check_gold(x, name: str = "gold", **kw) -> np.ndarray:
    """Like :func:`check_probs`, and every value must be exactly 0 or 1 (a multi-hot matrix)."""
    arr = check_probs(x, name, **kw)
    bad = (arr != 0.0) & (arr != 1.0)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise LabeldistError(
            f"{_prefix(kw.get('where'))}{name} at {_row_name(i, kw.get('row_ids'))}, label {j} is {float(arr[i, j])!r}, not 0 or 1",
            "gold must be the multi-hot aggregate labels; pass human distributions to NLL/L1 instead",
        )
    return arr


def check_pair(target, pred, target_name: str, *, gold: bool = False, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (target, pred_probs) pair: each a probability matrix, same shape."""
    t = check_gold(target, target_name, **kw) if gold else check_probs(target, target_name, **kw)
    p = check_probs(pred, "pred_probs", **kw)
    if t.shape != p.shape:
        raise LabeldistError(
            f"{_prefix(kw.get('where'))}{target_name} has shape {t.shape} but pred_probs has shape {p.shape}",
            "pass the same examples and labels, in the same order, to both",
        )
    return t, p





def check_reduce(reduce: str, allowed: tuple[str, ...] = ("mean", "none")) -> None:
    if reduce not in allowed:
        raise LabeldistError(f"reduce={reduce!r} is not supported here", f"use one of {', '.join(map(repr, allowed))}")
