"""Load run directories and line their records up per dataset: ids, targets, each method's probabilities.

All input checks of the evaluation live here, so every error names the run directory
and, where one is at fault, the example id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.methods import order_methods
from labeldist.metrics import check_probs
from labeldist.records import ExampleRecord, LabelSet, Manifest
from labeldist.runs.store import iter_records, read_manifest


@dataclass
class Run:
    """One run directory: its manifest, label set and records (in written order)."""

    run_dir: Path
    manifest: Manifest
    label_set: LabelSet
    records: list[ExampleRecord]

    @property
    def dataset_key(self) -> str:
        return self.manifest.dataset or str(self.run_dir)

    @property
    def dataset_name(self) -> str:
        key = self.dataset_key
        return Path(key).stem if ("/" in key or "\\" in key or "." in Path(key).name) else key

    @property
    def model(self) -> str:
        return self.manifest.model.name or "?"

    def __str__(self) -> str:
        return str(self.run_dir)


def load_run(run_dir: str | Path) -> Run:
    """Read a run directory (any record layout); errors if it has no records or duplicate ids."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    label_set = manifest.label_set
    records = list(iter_records(run_dir, manifest))
    if not records:
        raise LabeldistError(f"run {run_dir} has no records", "run it (or resume it) until examples are written")
    dup = [i for i, c in Counter(r.id for r in records).items() if c > 1]
    if dup:
        raise LabeldistError(f"run {run_dir} holds example id {dup[0]!r} more than once", "remove the duplicate line from records.jsonl")
    return Run(run_dir, manifest, label_set, records)


def _excluded(exclude) -> frozenset:
    if exclude is None:
        return frozenset()
    return frozenset([exclude]) if isinstance(exclude, str) else frozenset(exclude)


def select_records(run: Run, *, split: str | None, exclude=None, exclude_ids=()) -> list[ExampleRecord]:
    """Records to evaluate: of split ``split`` (all when None), minus those of the split(s) ``exclude``
    (a name or a collection of names) and those whose id is in ``exclude_ids`` (calibration dev items)."""
    skip, skip_ids = _excluded(exclude), frozenset(exclude_ids)
    out = [r for r in run.records if (split is None or r.split == split) and r.split not in skip
           and r.id not in skip_ids]
    if not out:
        have = sorted({str(r.split) for r in run.records})
        which = f"split {split!r}" if split else "records outside the calibration split"
        raise LabeldistError(f"run {run} has no {which} to evaluate (its splits: {', '.join(have)})",
                             "choose --split from those, or run the model on the split you want to evaluate")
    return out


def human_matrix(run: Run, records: Sequence[ExampleRecord], *, purpose: str) -> np.ndarray | None:
    """Human distributions as (n, L), or None if no record has one; error if only some do."""
    ok = [r.human is not None and r.human.is_distribution for r in records]
    if not any(ok):
        return None
    if not all(ok):
        bad = records[ok.index(False)]
        kind = "none" if bad.human is None else bad.human.kind
        raise LabeldistError(
            f"run {run}: example id {bad.id!r} has no annotator distribution (kind: {kind}) but {purpose} needs one "
            f"({sum(ok)} of {len(ok)} examples have one)",
            "rebuild the dataset with per-annotator labels or fractions for every example, or drop those examples",
        )
    n_labels = run.label_set.n_labels
    for r in records:
        if len(r.human.probs) != n_labels:
            raise LabeldistError(f"run {run}: example id {r.id!r} has {len(r.human.probs)} human probabilities "
                                 f"for {n_labels} labels", "rebuild the run with the dataset's label set")
    return np.array([r.human.probs for r in records], dtype=np.float64)


def gold_mask(records: Sequence[ExampleRecord]) -> np.ndarray:
    """True for the examples that have an aggregate label (a plurality tie leaves ``gold`` None)."""
    return np.array([r.gold is not None for r in records], dtype=bool)


def gold_matrix(run: Run, records: Sequence[ExampleRecord]) -> np.ndarray | None:
    """Multi-hot aggregate gold (n, L), or None if no record has gold.

    Examples without an aggregate label (ties) get a zero row here; gold-based metrics give
    them weight 0 through :func:`gold_mask`, so they count only for NLL / L1 / Brier.
    """
    has = [r.gold is not None for r in records]
    if not any(has):
        return None
    rows = []
    for r in records:
        if r.gold is None:
            rows.append((0,) * run.label_set.n_labels)
            continue
        try:
            rows.append(run.label_set.multi_hot(r.gold))
        except LabeldistError as e:
            raise LabeldistError(f"run {run}: example id {r.id!r}: {e}") from None
    return np.array(rows, dtype=np.float64)


def method_matrices(run: Run, records: Sequence[ExampleRecord]) -> dict[str, np.ndarray]:
    """Each method's probabilities as (n, L), validated, in registry order (unregistered names last)."""
    names = order_methods(dict.fromkeys(m for r in records for m in r.methods))
    ids = [r.id for r in records]
    out: dict[str, np.ndarray] = {}
    n_labels = run.label_set.n_labels
    for m in names:
        missing = [r.id for r in records if m not in r.methods]
        if missing:
            raise LabeldistError(
                f"run {run}: method {m!r} is missing for example id {missing[0]!r} "
                f"({len(records) - len(missing)} of {len(records)} examples have it)",
                "resume the run so every example gets every method",
            )
        wrong = [r.id for r in records if len(r.methods[m]) != n_labels]
        if wrong:
            raise LabeldistError(f"run {run}: method {m!r} has the wrong number of probabilities for example id "
                                 f"{wrong[0]!r} (expected {n_labels})", "recompute the run's methods")
        out[m] = check_probs([r.methods[m] for r in records], "probabilities", row_ids=ids,
                             columns=run.label_set.labels, where=f"run {run}, method {m!r}")
    return out


@dataclass
class DatasetBlock:
    """Everything scored for one dataset: aligned ids, targets and (run, method, probs) triples."""

    key: str
    name: str
    label_set: LabelSet
    runs: list[Run]
    ids: list[str]
    human: np.ndarray | None
    gold: np.ndarray | None
    methods: list[tuple[Run, str, np.ndarray]]
    records: dict[str, list[ExampleRecord]] = field(default_factory=dict)  # run dir -> records in ids order


def build_block(runs: Sequence[Run], *, split: str | None, exclude=None, exclude_ids=()) -> DatasetBlock:
    """Check that the runs of one dataset agree (label set, items, targets) and align them by id.

    ``exclude`` (split names) and ``exclude_ids`` leave records out as in :func:`select_records`.
    """
    first = runs[0]
    first_recs = select_records(first, split=split, exclude=exclude, exclude_ids=exclude_ids)
    ids = [r.id for r in first_recs]
    human = human_matrix(first, first_recs, purpose="NLL/L1/Brier")
    gold = gold_matrix(first, first_recs)
    block = DatasetBlock(first.dataset_key, first.dataset_name, first.label_set, list(runs), ids, human, gold, [])
    for run in runs:
        if run.label_set != first.label_set:
            raise LabeldistError(
                f"run {run} has labels {list(run.label_set.labels)} (multilabel={run.label_set.multilabel}) but run "
                f"{first} on the same dataset {first.dataset_key!r} has {list(first.label_set.labels)} "
                f"(multilabel={first.label_set.multilabel})",
                "compare runs made with the same label set",
            )
        recs = select_records(run, split=split, exclude=exclude, exclude_ids=exclude_ids)
        by_id = {r.id: r for r in recs}
        if set(by_id) != set(ids):
            only_run, only_first = sorted(set(by_id) - set(ids)), sorted(set(ids) - set(by_id))
            ex = f"e.g. id {(only_run or only_first)[0]!r}"
            raise LabeldistError(
                f"run {run} and run {first} (dataset {first.dataset_key!r}) cover different examples: "
                f"{len(only_run)} only in {run}, {len(only_first)} only in {first}, {ex}",
                "compare runs over the same split, or resume the incomplete run",
            )
        recs = [by_id[i] for i in ids]
        block.records[str(run.run_dir)] = recs
        if run is not first:
            _check_same_targets(run, recs, first, block)
        for m, probs in method_matrices(run, recs).items():
            block.methods.append((run, m, probs))
    return block


def _check_same_targets(run: Run, recs: list[ExampleRecord], first: Run, block: DatasetBlock) -> None:
    human = human_matrix(run, recs, purpose="NLL/L1/Brier")
    gold = gold_matrix(run, recs)
    for name, mine, theirs in (("human distribution", human, block.human), ("gold labels", gold, block.gold)):
        if (mine is None) != (theirs is None):
            raise LabeldistError(f"run {run} and run {first} disagree on whether examples have {name}s",
                                 "compare runs made from the same dataset files")
        if mine is not None:
            diff = np.flatnonzero(np.any(np.abs(mine - theirs) > 1e-9, axis=1))
            if diff.size:
                raise LabeldistError(f"run {run} and run {first} have different {name} for example id "
                                     f"{block.ids[diff[0]]!r}", "compare runs made from the same dataset files")
