"""Typed records at the package's boundaries: label sets, examples, human distributions.

Conventions used everywhere in labeldist:

* ``LabelSet.labels`` fixes the column order of every probability array.
* Per-label probability arrays are ``float64`` of shape ``(n_labels,)`` for one example or
  ``(n_examples, n_labels)`` for many, in ``LabelSet.labels`` order. The pseudo-label
  ``none`` is never a column of such an array.
* Per-step arrays over the candidate set are of shape ``(n_candidates,)`` in
  ``LabelSet.candidates`` order: the real labels, then ``none`` for multi-label sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

import numpy as np

from labeldist.errors import LabeldistError

NONE_LABEL = "none"


def normalize_label(label: str) -> str:
    """Canonical form used to compare label strings: stripped, lower-case, inner spaces collapsed."""
    return " ".join(str(label).strip().lower().split())


@dataclass(frozen=True)
class LabelSet:
    """An ordered, validated set of label names.

    Parameters
    ----------
    labels : tuple of str
        Label names in canonical order (normalised: lower-case, stripped).
    multilabel : bool
        Multi-label sets get the pseudo-label ``none`` as an extra candidate.
    """

    labels: tuple[str, ...]
    multilabel: bool = True

    def __post_init__(self) -> None:
        labels = tuple(normalize_label(l) for l in self.labels)
        if not labels:
            raise LabeldistError("empty label set", "pass at least one label, e.g. --labels joy,anger")
        if any(not l for l in labels):
            raise LabeldistError(f"empty label name in {list(self.labels)!r}", "remove the empty entry")
        seen: dict[str, str] = {}
        for raw, l in zip(self.labels, labels):
            if l in seen:
                raise LabeldistError(
                    f"duplicate label {raw!r} (same as {seen[l]!r} after lower-casing)",
                    "list each label once",
                )
            seen[l] = raw
        if NONE_LABEL in labels and self.multilabel:
            raise LabeldistError(
                f"label {NONE_LABEL!r} is reserved for 'no label' in multi-label sets",
                "drop it from --labels; an example with no labels is written as 'none' automatically",
            )
        object.__setattr__(self, "labels", labels)

    @classmethod
    def parse(cls, spec: str | Sequence[str], *, multilabel: bool = True) -> "LabelSet":
        """Build from ``"a,b,c"`` or a sequence of names."""
        if isinstance(spec, str):
            items = spec.split(",") if spec.strip() else []
        else:
            items = list(spec)
        return cls(tuple(items), multilabel=multilabel)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def candidates(self) -> tuple[str, ...]:
        """Labels a model may emit: the real labels, plus ``none`` for multi-label sets."""
        return self.labels + ((NONE_LABEL,) if self.multilabel else ())

    def index(self, label: str) -> int:
        l = normalize_label(label)
        try:
            return self.labels.index(l)
        except ValueError:
            raise LabeldistError(
                f"unknown label {label!r}; the label set is {', '.join(self.labels)}",
                "fix the label or declare it in the label set",
            ) from None

    def multi_hot(self, labels: Iterable[str]) -> tuple[int, ...]:
        on = {self.index(l) for l in labels if normalize_label(l) != NONE_LABEL}
        return tuple(int(i in on) for i in range(self.n_labels))

    def to_dict(self) -> dict:
        return {"labels": list(self.labels), "multilabel": self.multilabel}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelSet":
        return cls(tuple(d["labels"]), multilabel=bool(d["multilabel"]))


HumanKind = Literal["annotators", "fractions", "single_annotator", "aggregate_only"]


@dataclass(frozen=True)
class HumanDistribution:
    """Empirical human label distribution of one item (paper eq. 1).

    ``probs[l]`` = fraction of the item's annotators who chose label ``l``, in
    ``LabelSet.labels`` order. For multi-label sets the entries are independent and need
    not sum to one; for single-label sets they are vote shares and sum to one.

    ``kind`` says where the numbers come from: ``annotators`` (computed from >= 2
    annotators' labels), ``fractions`` (given as fractions by the source file),
    ``single_annotator`` (one annotator: a 0/1 vector, not a distribution) or
    ``aggregate_only`` (only majority labels exist: a 0/1 vector, not a distribution).
    Alignment metrics accept only the first two.
    """

    probs: tuple[float, ...]
    n_annotators: int | None
    kind: HumanKind = "annotators"

    def __post_init__(self) -> None:
        for p in self.probs:
            if not (isinstance(p, (int, float)) and math.isfinite(p) and 0.0 <= p <= 1.0):
                raise LabeldistError(f"human distribution value {p!r} is not in [0, 1]", "fix the source data")

    @property
    def is_distribution(self) -> bool:
        return self.kind in ("annotators", "fractions")

    @classmethod
    def from_annotations(
        cls, annotations: Sequence[Sequence[str]], label_set: LabelSet
    ) -> "HumanDistribution":
        """Fraction of annotators choosing each label; ``none`` / empty lists count as votes for no label."""
        if not annotations:
            raise LabeldistError("item has no annotations", "drop the item or add its annotators' labels")
        counts = [0] * label_set.n_labels
        for ann in annotations:
            for i, on in enumerate(label_set.multi_hot(ann)):
                counts[i] += on
        n = len(annotations)
        kind: HumanKind = "annotators" if n >= 2 else "single_annotator"
        return cls(tuple(c / n for c in counts), n, kind)

    def to_dict(self) -> dict:
        return {"probs": list(self.probs), "n_annotators": self.n_annotators, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict) -> "HumanDistribution":
        return cls(tuple(float(x) for x in d["probs"]), d.get("n_annotators"), d.get("kind", "annotators"))


@dataclass(frozen=True)
class Example:
    """One text to classify.

    ``gold`` is the aggregate (majority) label set when known; ``()`` means "no label".
    ``annotations`` holds one label tuple per annotator when the source has them.
    """

    id: str
    text: str
    gold: tuple[str, ...] | None = None
    human: HumanDistribution | None = None
    annotations: tuple[tuple[str, ...], ...] | None = None
    split: str | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise LabeldistError(f"example {self.id!r} has an empty text", "remove it or fill in its text")
        if self.gold is not None:
            object.__setattr__(
                self, "gold", tuple(normalize_label(g) for g in self.gold if normalize_label(g) != NONE_LABEL)
            )

    def to_dict(self) -> dict:
        d: dict = {"id": self.id, "text": self.text}
        d["gold"] = None if self.gold is None else list(self.gold)
        d["human"] = None if self.human is None else self.human.to_dict()
        if self.split is not None:
            d["split"] = self.split
        return d


@dataclass(frozen=True)
class Dataset:
    """A named collection of examples per split over one label set.

    ``skipped`` lists, one line each (``<file> line <n>: <problem>``), the input rows a
    loader skipped because ``skip_invalid=True`` was asked for; it is empty otherwise.
    """

    name: str
    label_set: LabelSet
    splits: dict[str, tuple[Example, ...]]
    description: str = ""
    skipped: tuple[str, ...] = ()

    def split(self, name: str) -> tuple[Example, ...]:
        try:
            return self.splits[name]
        except KeyError:
            raise LabeldistError(
                f"dataset {self.name!r} has no split {name!r} (it has {', '.join(self.splits)})",
                "pick one of those splits",
            ) from None


def softmax(x: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis (float64)."""
    x = np.asarray(x, dtype=np.float64)
    z = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class StepScores:
    """Scores at one generated position where a label starts.

    ``scores`` has shape ``(n_candidates,)`` in ``LabelSet.candidates`` order: for each
    candidate, the max over its token variants (case / leading space) of the logit.
    ``variants`` keeps every variant's raw score so other aggregations can be recomputed.
    """

    position: int
    token_id: int
    label: str
    scores: np.ndarray
    variants: dict[str, list[float]] = field(default_factory=dict)

    @property
    def probs(self) -> np.ndarray:
        """Softmax over the candidate set, shape ``(n_candidates,)``."""
        return softmax(self.scores)

    def to_dict(self) -> dict:
        return {
            "position": self.position,
            "token_id": self.token_id,
            "label": self.label,
            "scores": [float(x) for x in self.scores],
            "probs": [round(float(x), 8) for x in self.probs],
            "variants": {k: [float(x) for x in v] for k, v in self.variants.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "StepScores":
        return cls(
            position=int(d["position"]),
            token_id=int(d["token_id"]),
            label=d["label"],
            scores=np.asarray(d["scores"], dtype=np.float64),
            variants={k: list(v) for k, v in d.get("variants", {}).items()},
        )
