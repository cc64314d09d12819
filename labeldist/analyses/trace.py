"""The input of every Section-4 analysis: one example's label steps, their distributions and its labels.

A :class:`Trace` is deliberately independent of the run-record classes: a reader of any stored
run builds one per example (see :meth:`Trace.from_logits`) and every analysis works on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.numeric import softmax
from labeldist.records import NONE_LABEL

#: Tolerance on ``step_probs`` row sums (stored probabilities may be rounded to 8 decimals).
ROW_SUM_TOL = 1e-6


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False, kw_only=True)
class Trace:
    """One example as the Section-4 analyses see it.

    Parameters
    ----------
    id : str
        Example id.
    candidates : tuple of str
        The L′ candidate names in order: the L real labels, then ``"none"`` for multi-label sets.
    step_probs : ndarray of shape (n_steps, L′)
        Softmax over the candidates at each generated label step, in generation order.
        ``n_steps`` may be 0 (no label token was generated).
    step_labels : tuple of str, length n_steps
        The candidate actually generated at each step (read from the generated ids).
    predicted : tuple of str
        Final parsed labels in generation order, each once (real labels only, no ``"none"``).
    gold : tuple of str or None
        Aggregate gold labels; ``()`` means "no label", ``None`` unknown.
    human : ndarray of shape (L,) or None
        Human label distribution in label order.
    multilabel : bool
        Multi-label sets end ``candidates`` with ``"none"``; single-label sets have no ``"none"``.

    Raises
    ------
    LabeldistError
        If shapes disagree, a row is not a distribution, or a label is not a candidate.
    """

    id: str
    candidates: tuple[str, ...]
    step_probs: np.ndarray
    step_labels: tuple[str, ...]
    predicted: tuple[str, ...]
    gold: tuple[str, ...] | None = None
    human: np.ndarray | None = None
    multilabel: bool = True

    def __post_init__(self) -> None:
        where = f"trace {self.id!r}"
        cands = tuple(self.candidates)
        if len(cands) < 2 or len(set(cands)) != len(cands):
            raise LabeldistError(f"{where}: candidates {list(cands)!r} must be >= 2 distinct names",
                                 "pass the label set's candidates (labels, then 'none' for multi-label sets)")
        has_none = NONE_LABEL in cands
        if self.multilabel and cands[-1] != NONE_LABEL:
            raise LabeldistError(f"{where}: a multi-label trace's candidates must end with {NONE_LABEL!r}; "
                                 f"got {list(cands)!r}", "pass LabelSet.candidates")
        if not self.multilabel and has_none:
            raise LabeldistError(f"{where}: a single-label trace has no {NONE_LABEL!r} candidate",
                                 "drop it or set multilabel=True")
        probs = np.asarray(self.step_probs, dtype=np.float64)
        if probs.size == 0:
            probs = probs.reshape(0, len(cands))
        if probs.ndim != 2 or probs.shape[1] != len(cands):
            raise LabeldistError(f"{where}: step_probs must have shape (n_steps, {len(cands)}); got {probs.shape}",
                                 "pass one softmax row over the candidates per label step")
        if not np.all(np.isfinite(probs)) or np.any(probs < 0) or np.any(probs > 1):
            raise LabeldistError(f"{where}: step_probs holds values outside [0, 1] or non-finite values",
                                 "pass probabilities (use Trace.from_logits for raw scores)")
        sums = probs.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOL)
        if bad.size:
            raise LabeldistError(f"{where}: step_probs row {int(bad[0])} sums to {sums[bad[0]]:.6f}, not 1",
                                 "pass the softmax over the candidates (use Trace.from_logits for raw scores)")
        step_labels = tuple(self.step_labels)
        if len(step_labels) != probs.shape[0]:
            raise LabeldistError(f"{where}: {len(step_labels)} step_labels for {probs.shape[0]} steps",
                                 "pass one generated candidate per label step")
        for s in step_labels:
            if s not in cands:
                raise LabeldistError(f"{where}: step label {s!r} is not a candidate", "use candidate names")
        labels = cands[:-1] if self.multilabel else cands
        predicted = tuple(self.predicted)
        for p in predicted:
            if p not in labels:
                raise LabeldistError(f"{where}: predicted label {p!r} is not a real label of {list(labels)!r}",
                                     "pass the parsed labels ('none' is never a predicted label)")
        if len(set(predicted)) != len(predicted):
            raise LabeldistError(f"{where}: predicted labels {list(predicted)!r} repeat a label",
                                 "de-duplicate them, keeping each label's first occurrence")
        gold = None if self.gold is None else tuple(self.gold)
        for g in gold or ():
            if g not in labels:
                raise LabeldistError(f"{where}: gold label {g!r} is not in {list(labels)!r}",
                                     "pass gold labels from the same label set")
        human = None
        if self.human is not None:
            human = np.asarray(self.human, dtype=np.float64)
            if human.shape != (len(labels),):
                raise LabeldistError(f"{where}: human must have shape ({len(labels)},); got {human.shape}",
                                     "pass the human distribution in label order")
            human = _readonly(human)
        object.__setattr__(self, "candidates", cands)
        object.__setattr__(self, "step_probs", _readonly(probs))
        object.__setattr__(self, "step_labels", step_labels)
        object.__setattr__(self, "predicted", predicted)
        object.__setattr__(self, "gold", gold)
        object.__setattr__(self, "human", human)

    @property
    def labels(self) -> tuple[str, ...]:
        """The L real labels (``candidates`` without ``"none"``)."""
        return self.candidates[:-1] if self.multilabel else self.candidates

    @property
    def n_steps(self) -> int:
        return int(self.step_probs.shape[0])

    def ranked(self, step: int) -> np.ndarray:
        """Candidate indices at 0-based ``step`` sorted by probability, descending; ties keep candidate order."""
        return np.argsort(-self.step_probs[step], kind="stable")

    def first_occurrences(self) -> "Trace":
        """The trace with only each candidate's first generated step (the reference's ``all_label_inds``).

        The reference kept one step per label, at its first occurrence; our records keep every step
        whose generated token starts a candidate, so a repeated label gives a second step.

        Examples
        --------
        >>> t = Trace(id="a", candidates=("x", "y", "none"), step_probs=[[1., 0, 0], [0, 1., 0], [1., 0, 0]],
        ...           step_labels=("x", "y", "x"), predicted=("x", "y"))
        >>> t.first_occurrences().step_labels
        ('x', 'y')
        """
        seen: set[str] = set()
        keep = [i for i, s in enumerate(self.step_labels) if not (s in seen or seen.add(s))]
        return Trace(id=self.id, candidates=self.candidates, step_probs=self.step_probs[keep],
                     step_labels=tuple(self.step_labels[i] for i in keep), predicted=self.predicted,
                     gold=self.gold, human=self.human, multilabel=self.multilabel)

    @classmethod
    def from_logits(cls, *, id: str, candidates: Sequence[str], step_logits, step_labels: Sequence[str],
                    predicted: Sequence[str], gold: Sequence[str] | None = None, human=None,
                    multilabel: bool = True) -> "Trace":
        """Build from raw per-step candidate scores: ``step_probs = softmax(step_logits, axis=-1)``.

        ``step_logits`` has shape (n_steps, L′): e.g. the stored per-step scores (max over each
        candidate's token variants).

        Examples
        --------
        >>> t = Trace.from_logits(id="a", candidates=("joy", "anger", "none"), step_logits=[[0.0, 0.0, 0.0]],
        ...                       step_labels=("joy",), predicted=("joy",))
        >>> t.step_probs.round(4).tolist()
        [[0.3333, 0.3333, 0.3333]]
        """
        z = np.asarray(step_logits, dtype=np.float64)
        if z.size == 0:
            z = z.reshape(0, len(candidates))
        elif z.ndim != 2 or not np.all(np.isfinite(z)):
            raise LabeldistError(f"trace {id!r}: step_logits must be finite with shape (n_steps, {len(candidates)}); "
                                 f"got shape {z.shape}", "pass one score row over the candidates per label step")
        return cls(id=id, candidates=tuple(candidates), step_probs=softmax(z) if z.shape[0] else z,
                   step_labels=tuple(step_labels), predicted=tuple(predicted),
                   gold=None if gold is None else tuple(gold), human=human, multilabel=multilabel)
