"""Examples, human label distributions and datasets: what the data layer hands to the rest."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

from labeldist.errors import LabeldistError
from labeldist.records.labels import NONE_LABEL, LabelSet, normalize_label

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
