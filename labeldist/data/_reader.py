"""The per-file reading context shared by the annotated-file readers (``files.py``, ``_fractions.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeldist.data._common import RowProblems
from labeldist.data.layout import FileLayout


@dataclass
class _Item:
    text: str
    loc: str
    split: str
    votes: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (loc, annotator, labels)
    fractions: dict[str, Any] | None = None
    n_annotators: Any = None


@dataclass
class _Reader:
    """What every row check needs: the file, its layout, the problem sink, and the empty-cell count."""

    path: Path
    layout: FileLayout
    problems: RowProblems
    auto: bool
    n_empty: int = 0

    def bad(self, loc, problem: str, fix: str) -> None:
        self.problems.bad(self.path, loc, problem, fix)
