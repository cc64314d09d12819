"""Label sets: the ordered, validated label names that fix every probability array's column order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

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
