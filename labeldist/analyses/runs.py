"""Run directories as the Section-4 analyses see them: one :class:`Trace` per record, plus what each run varied.

A record becomes a trace with one step per stored label slot (``ExampleRecord.steps``: the
softmax over the candidates of the slot's scores, the candidate generated there), the parsed
labels in generation order, the gold labels and the human distribution (when it is one)::

    Trace.from_logits(id=rec.id, candidates=ls.candidates, step_logits=[s.scores for s in rec.steps],
                      step_labels=[s.label for s in rec.steps], predicted=rec.generation.parsed, gold=rec.gold,
                      human=rec.human.probs, multilabel=ls.multilabel)

``first_occurrence=True`` keeps only each candidate's first step (the reference's view,
:meth:`Trace.first_occurrences`). A step whose scores are not all finite (a forced slot of a
run made before forced slots were scored) is left out and counted (``n_dropped_steps``).

From the manifest: the instruction's label order (``prompt.resolved["label_order"]``) and its
kind (``canonical``, ``reverse``, ``random``), the decoding, the number of demos, the demo
sampling and — for multilabel sampling with demos — the share of multi-label demos asked for
(``demo_ratio``). Runs are grouped by :attr:`AnalysisRun.context` (dataset, label set, model,
decoding, shots): the runs of one context that differ only in label order form Table 7, those
that differ only in demo ratio a Fig-6 sweep, and contexts that differ only in model the scale
comparison.

Probe features (Fig 7) are read through :func:`probe_inputs` from ``RUN_DIR/features/`` (runs with
``--methods probe``); a run without them skips the probe analysis.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.analyses.trace import Trace
from labeldist.errors import LabeldistError
from labeldist.records import ExampleRecord, LabelSet, Manifest
from labeldist.records.attention import StepAttention
from labeldist.report.load import load_run

#: The record field the probe hook reads: the first label step's last-layer hidden state, shape (d,).
#: ``PromptConfig.demo_ratio``'s default: the share of multi-label demos of an ordinary run.
DEFAULT_DEMO_RATIO = 0.5


def record_trace(rec: ExampleRecord, label_set: LabelSet, *, first_occurrence: bool = False) -> tuple[Trace, int]:
    """The trace of one record and the number of steps left out for non-finite scores."""
    steps = [s for s in rec.steps if np.all(np.isfinite(np.asarray(s.scores, dtype=np.float64)))]
    labels = set(label_set.labels)
    predicted = [] if rec.generation is None else list(dict.fromkeys(p for p in rec.generation.parsed if p in labels))
    human = rec.human.probs if rec.human is not None and rec.human.is_distribution else None
    trace = Trace.from_logits(id=rec.id, candidates=label_set.candidates, step_logits=[s.scores for s in steps],
                              step_labels=[s.label for s in steps], predicted=predicted, gold=rec.gold, human=human,
                              multilabel=label_set.multilabel)
    return (trace.first_occurrences() if first_occurrence else trace), len(rec.steps) - len(steps)


@dataclass(frozen=True, eq=False)
class AnalysisRun:
    """One run directory, read for the analyses.

    ``name`` is a short label unique among the runs analysed together (see
    :func:`load_analysis_runs`); ``label_order`` the labels as the instruction lists them;
    ``demo_ratio`` None unless the run sampled demos with the multilabel strategy.
    """

    run_dir: Path
    name: str
    manifest: Manifest
    records: tuple[ExampleRecord, ...]
    traces: tuple[Trace, ...]
    label_order: tuple[str, ...]
    label_order_kind: str
    decoding: str
    shots: int
    demo_sampling: str | None
    demo_ratio: float | None
    n_dropped_steps: int
    first_occurrence: bool

    @property
    def label_set(self) -> LabelSet:
        return self.manifest.label_set

    @property
    def dataset(self) -> str:
        key = self.manifest.dataset or str(self.run_dir)
        return Path(key).stem if ("/" in key or "." in Path(key).name) else key

    @property
    def model(self) -> str:
        return self.manifest.model.name or "?"

    @property
    def n_parameters(self) -> int | None:
        n = (self.manifest.model.extra or {}).get("n_parameters")
        return int(n) if n else None

    @property
    def ids_digest(self) -> str:
        return self.manifest.example_ids_sha256 or ",".join(sorted(t.id for t in self.traces))

    @property
    def context(self) -> tuple:
        """What must agree for two runs to be compared on one variable (label order, demo ratio)."""
        return (self.dataset, self.label_set.labels, self.label_set.multilabel, self.model, self.decoding, self.shots)

    @property
    def attention(self) -> list[tuple[str, StepAttention]]:
        """(example id, step attention) of every stored later label step."""
        return [(r.id, a) for r in self.records for a in r.attention]

    @property
    def file_name(self) -> str:
        """``name`` made safe as one path component."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("_") or "run"

    def describe(self) -> dict:
        """One row of the inputs table."""
        return {"run": self.name, "dataset": self.dataset, "model": self.model, "examples": len(self.traces),
                "decoding": self.decoding, "shots": self.shots, "label order": self.label_order_kind,
                "multi-label demo share": "—" if self.demo_ratio is None else f"{self.demo_ratio:g}",
                "attention steps": len(self.attention), "directory": _shown(self.run_dir)}


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (tables do not carry home paths)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _prompt_config(manifest: Manifest) -> dict:
    return dict((manifest.config.get("run") or {}).get("prompt") or {})


def _order_kind(order: tuple[str, ...], labels: tuple[str, ...], configured: str | None) -> str:
    if configured:
        return configured
    return "canonical" if order == labels else "reverse" if order == labels[::-1] else "random"


def load_analysis_run(run_dir: str | Path, *, name: str | None = None, first_occurrence: bool = False) -> AnalysisRun:
    """Read one run directory (any record layout) into an :class:`AnalysisRun`."""
    run = load_run(run_dir)
    m, ls = run.manifest, run.label_set
    prompt = _prompt_config(m)
    resolved = m.prompt.resolved or {}
    order = tuple(resolved.get("label_order") or ls.labels)
    if sorted(order) != sorted(ls.labels):
        raise LabeldistError(f"run {run.run_dir}: its manifest's label order {list(order)} is not a permutation of "
                             f"its labels {list(ls.labels)}", "rerun it, or fix prompt.resolved.label_order")
    cfg = m.config.get("run") or {}
    shots = int(prompt.get("shots", len(m.prompt.demos)))
    sampling = m.prompt.demo_sampling or prompt.get("demo_sampling")
    ratio = prompt.get("demo_ratio", DEFAULT_DEMO_RATIO)
    traces, dropped = [], 0
    for rec in run.records:
        try:
            t, d = record_trace(rec, ls, first_occurrence=first_occurrence)
        except LabeldistError as e:
            raise LabeldistError(f"run {run.run_dir}: {e}") from None
        traces.append(t)
        dropped += d
    return AnalysisRun(
        run_dir=run.run_dir, name=name or run.run_dir.name, manifest=m, records=tuple(run.records), traces=tuple(traces),
        label_order=order, label_order_kind=_order_kind(order, ls.labels, prompt.get("label_order")),
        decoding=str(cfg.get("decoding", "free")),  # layout-1 runs predate constrained decoding
        shots=shots, demo_sampling=sampling,
        demo_ratio=float(ratio) if sampling == "multilabel" and shots > 0 and ls.multilabel else None,
        n_dropped_steps=dropped, first_occurrence=first_occurrence,
    )


def _names(dirs: Sequence[Path]) -> list[str]:
    """Each directory's shortest trailing path (1, 2, ... components) that no other directory ends with."""
    names = []
    for d in dirs:
        others = [o for o in dirs if o != d]
        k = next((k for k in range(1, len(d.parts) + 1) if all(o.parts[-k:] != d.parts[-k:] for o in others)),
                 len(d.parts))
        names.append("/".join(d.parts[-k:]))
    return names


def load_analysis_runs(run_dirs: Sequence[str | Path], *, first_occurrence: bool = False) -> list[AnalysisRun]:
    """Read every run directory, named by the shortest trailing path that tells them apart."""
    dirs = [Path(d).resolve() for d in run_dirs]
    if not dirs:
        raise LabeldistError("no run directories given", "pass one or more directories written by `labeldist run`")
    if len(set(dirs)) != len(dirs):
        raise LabeldistError("a run directory is given twice", "pass each run directory once")
    return [load_analysis_run(d, name=n, first_occurrence=first_occurrence) for d, n in zip(dirs, _names(dirs))]


# ---------------------------------------------------------------- grouping

def by_context(runs: Sequence[AnalysisRun]) -> dict[tuple, list[AnalysisRun]]:
    """Runs grouped by :attr:`AnalysisRun.context`, in the order given."""
    out: dict[tuple, list[AnalysisRun]] = {}
    for r in runs:
        out.setdefault(r.context, []).append(r)
    return out


def base_run(runs: Sequence[AnalysisRun]) -> AnalysisRun:
    """The run that stands for a context: canonical label order, the default demo share, most examples."""
    def rank(r: AnalysisRun):
        ordinary_ratio = r.demo_ratio is None or math.isclose(r.demo_ratio, DEFAULT_DEMO_RATIO)
        return (r.label_order_kind != "canonical", not ordinary_ratio, -len(r.traces))

    return min(runs, key=rank)  # min keeps the first of equals: the order given


def sweeps(runs: Sequence[AnalysisRun]) -> list[dict[float, AnalysisRun]]:
    """Fig-6 sweeps among one context's runs: canonical-order runs on the same examples with >= 2 demo shares."""
    groups: dict[str, dict[float, AnalysisRun]] = {}
    for r in runs:
        if r.demo_ratio is not None and r.label_order_kind == "canonical":
            groups.setdefault(r.ids_digest, {}).setdefault(r.demo_ratio, r)
    return [dict(sorted(g.items())) for g in groups.values() if len(g) >= 2]


def label_order_groups(runs: Sequence[AnalysisRun]) -> list[list[AnalysisRun]]:
    """Table-7 groups among one context's runs: same examples and demo share, >= 2 label orders (canonical first)."""
    groups: dict[tuple, dict[str, AnalysisRun]] = {}
    for r in runs:
        groups.setdefault((r.ids_digest, r.demo_ratio), {}).setdefault(r.label_order_kind, r)
    out = []
    for g in groups.values():
        if len(g) >= 2:
            out.append(sorted(g.values(), key=lambda r: (r.label_order_kind != "canonical", r.label_order_kind)))
    return out


def common_ids(*runs: AnalysisRun) -> list[str]:
    """Example ids present in every run, in the first run's order."""
    rest = [{t.id for t in r.traces} for r in runs[1:]]
    return [t.id for t in runs[0].traces if all(t.id in s for s in rest)]


# ---------------------------------------------------------------- probe hook (Fig 7)

@dataclass(frozen=True)
class ProbeInputs:
    """Arrays of :func:`labeldist.analyses.probes.probe_analysis` for one run's records with features.

    ``X`` (n, d) features; ``gold`` / ``predicted`` (n, L) multi-hot; ``first`` (n,) index of the
    first generated label (−1 when none); ``ids`` the example ids.
    """

    ids: tuple[str, ...]
    X: np.ndarray
    gold: np.ndarray
    predicted: np.ndarray
    first: np.ndarray


def probe_inputs(run: AnalysisRun) -> ProbeInputs | None:
    """The probe arrays of ``run``, or None when it stored no probe features (runs with the ``probe``
    method keep, in ``RUN_DIR/features/``, the hidden state before the first label slot of every
    evaluated item: split ``test``).

    Records without features or without gold are left out.
    """
    from labeldist.runs.features import FeatureStore

    if not (run.run_dir / "features" / "features.jsonl").is_file():
        return None
    store = FeatureStore(run.run_dir / "features")
    ls = run.label_set
    rows = [(rec, t) for rec, t in zip(run.records, run.traces) if ("test", rec.id) in store and t.gold is not None]
    if not rows:
        return None
    X = store.matrix("test", [rec.id for rec, _ in rows]).astype(np.float64)
    gold = np.array([ls.multi_hot(t.gold) for _, t in rows], dtype=np.float64)
    pred = np.array([ls.multi_hot(t.predicted) for _, t in rows], dtype=np.float64)
    first = np.array([ls.labels.index(t.predicted[0]) if t.predicted else -1 for _, t in rows], dtype=int)
    return ProbeInputs(tuple(t.id for _, t in rows), X, gold, pred, first)
