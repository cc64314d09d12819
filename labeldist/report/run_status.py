"""What the report says about each run directory before scoring it: readable, complete, which layout and version.

:func:`inspect_run` never raises for a bad run directory: a directory that cannot be read
(no manifest, invalid JSON, a newer record layout, no records) comes back with ``run=None``
and the one-line reason in ``error``, so a report over several runs can still show the others
and say on the page what was wrong. Label-set mismatches between runs are found by
:func:`group_by_label_set`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from labeldist.errors import LabeldistError
from labeldist.records import LAYOUT_VERSION, LabelSet
from labeldist.report.load import Run, load_run


def this_version() -> str:
    from labeldist import __version__

    return __version__


@dataclass
class RunStatus:
    """One run directory as the report sees it.

    Attributes
    ----------
    run_dir : Path
    run : Run or None
        The loaded run; None when it could not be read (then ``error`` says why).
    error : str or None
        One line (problem; fix) when the directory cannot be shown at all.
    warnings : list of str
        Things wrong with a readable run (incomplete, made by another labeldist version).
    notes : list of str
        Things to know that are not wrong (an older record layout that still evaluates).
    """

    run_dir: Path
    run: Run | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.run is not None

    @property
    def version(self) -> str | None:
        """The labeldist version that wrote the run (from the manifest's environment), if recorded."""
        if self.run is None:
            return None
        return (self.run.manifest.environment.get("versions") or {}).get("labeldist")

    @property
    def n_records(self) -> int:
        return 0 if self.run is None else len(self.run.records)


def inspect_run(run_dir: str | Path) -> RunStatus:
    """Load ``run_dir`` and list what the page must say about it (see the module docstring)."""
    status = RunStatus(Path(run_dir))
    try:
        status.run = load_run(run_dir)
    except LabeldistError as e:
        status.error = str(e)
        return status
    m = status.run.manifest
    n = len(status.run.records)
    if not m.complete or (m.n_examples and n < m.n_examples):
        of = f"{n} of {m.n_examples} items recorded" if m.n_examples else f"{n} items recorded"
        status.warnings.append(f"run {run_dir} is incomplete ({of}; manifest complete: {m.complete}): the numbers "
                               "cover the recorded items only; rerun the same `labeldist run` command to finish it")
    if m.version != LAYOUT_VERSION:
        status.notes.append(f"run {run_dir} has record layout {m.version}, written by an earlier labeldist "
                            f"(this one writes layout {LAYOUT_VERSION}); it evaluates as usual (fallbacks are "
                            "inferred from its records) but cannot be resumed")
    made_by = status.version
    if made_by is not None and made_by != this_version():
        status.warnings.append(f"run {run_dir} was made by labeldist {made_by}, this report by {this_version()}: "
                               "numbers can differ from a rerun with this version")
    elif made_by is None:
        status.notes.append(f"run {run_dir} does not record which labeldist version made it")
    return status


def label_set_key(label_set: LabelSet) -> tuple:
    return (tuple(label_set.labels), bool(label_set.multilabel))


def describe_label_set(label_set: LabelSet) -> str:
    kind = "multi-label" if label_set.multilabel else "single-label"
    return f"[{', '.join(label_set.labels)}] ({kind})"


def group_by_label_set(statuses: Sequence[RunStatus]) -> tuple[list[list[RunStatus]], list[str]]:
    """Readable runs grouped by label set (first-seen order), and the warnings the page shows about it.

    Runs of one dataset with different label sets cannot be compared: they land in different
    groups and get a warning naming them. Different datasets with different label sets are
    normal; the page only notes that they are shown as separate sections.
    """
    groups: dict[tuple, list[RunStatus]] = {}
    for s in statuses:
        if s.ok:
            groups.setdefault(label_set_key(s.run.label_set), []).append(s)
    out = list(groups.values())
    messages: list[str] = []
    if len(out) > 1:
        by_dataset: dict[str, set] = {}
        for s in (s for g in out for s in g):
            by_dataset.setdefault(s.run.dataset_key, set()).add(label_set_key(s.run.label_set))
        for ds, keys in by_dataset.items():
            if len(keys) > 1:
                runs = [f"{s.run_dir} {describe_label_set(s.run.label_set)}" for g in out for s in g
                        if s.run.dataset_key == ds]
                messages.append(f"runs of dataset {ds!r} use {len(keys)} different label sets and are not compared: "
                                + "; ".join(runs) + ". Each label set is shown as its own section")
    return out, messages
