"""Label sets: the ordered, validated label names that fix every probability array's column order."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    surface : tuple of str, optional
        How each label is *written* in prompts and answers (e.g. Llama Guard's category
        codes ``S1``, ``S10``), when that differs from its name; ``labels`` stays the
        identity used in records and arrays. Default: the names themselves.
    """

    labels: tuple[str, ...]
    multilabel: bool = True
    surface: tuple[str, ...] | None = field(default=None, compare=False)

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
        if self.surface is not None:
            surface = tuple(" ".join(str(s).strip().split()) for s in self.surface)
            if len(surface) != len(labels) or any(not s for s in surface) or len(set(surface)) != len(surface):
                raise LabeldistError(f"surface spellings {list(self.surface)!r} do not match the labels {list(labels)!r}",
                                     "give one distinct, non-empty spelling per label")
            if any(normalize_label(s) != l for s, l in zip(surface, labels)):
                raise LabeldistError(f"surface spellings {list(surface)!r} are not spellings of {list(labels)!r}",
                                     "a spelling may differ from its label only in case and spacing")
            object.__setattr__(self, "surface", None if surface == labels else surface)

    @classmethod
    def parse(cls, spec: str | Sequence[str], *, multilabel: bool = True, keep_case: bool = False) -> "LabelSet":
        """Build from ``"a,b,c"`` or a sequence of names; ``keep_case`` keeps the spellings as ``surface``."""
        if isinstance(spec, str):
            items = spec.split(",") if spec.strip() else []
        else:
            items = list(spec)
        return cls(tuple(items), multilabel=multilabel, surface=tuple(items) if keep_case and items else None)

    def spelling(self, label: str) -> str:
        """How ``label`` (a label name, or ``none``) is written in prompts and answers."""
        if self.surface is None or label not in self.labels:
            return label
        return self.surface[self.labels.index(label)]

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
        d = {"labels": list(self.labels), "multilabel": self.multilabel}
        if self.surface is not None:
            d["surface"] = list(self.surface)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LabelSet":
        surface = d.get("surface")
        return cls(tuple(d["labels"]), multilabel=bool(d["multilabel"]), surface=None if surface is None else tuple(surface))
