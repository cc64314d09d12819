"""Python API, mirroring the CLI: ``load_backend``, ``classify``, ``run``, ``format_table``.

>>> import labeldist as ld                                      # doctest: +SKIP
>>> res = ld.classify(["I am thrilled!"], ["joy", "anger"])    # doctest: +SKIP
>>> print(res.table())                                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from labeldist.backends import load_backend
from labeldist.backends.base import Backend
from labeldist.backends.models import DEFAULT_MODEL
from labeldist.calibration.apply import AppliedCalibration, resolve_calibration
from labeldist.errors import LabeldistError
from labeldist.methods import DEFAULT_GROUPS, selected_methods
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, ExampleRecord, LabelSet, Manifest, RunSummary
from labeldist.runs.environment import environment
from labeldist.runs.runner import Classifier, RunConfig, run_examples
from labeldist.runs.store import RunStore

__all__ = ["ClassifyResult", "RunResult", "classify", "format_table", "load_backend", "run"]


@dataclass
class ClassifyResult:
    label_set: LabelSet
    records: list[ExampleRecord]
    methods: list[str]
    summary: RunSummary
    classifier: Classifier
    calibration: AppliedCalibration | None = None

    def probs(self, method: str) -> np.ndarray:
        """Shape (n_texts, n_labels) probabilities of ``method``, label-set order."""
        return np.array([r.methods[method] for r in self.records], dtype=np.float64)

    def calibrated_probs(self, method: str) -> np.ndarray:
        """Shape (n_texts, n_labels) calibrated probabilities of ``method`` (needs ``calibration=``)."""
        if not self.records or method not in self.records[0].calibrated:
            raise LabeldistError(f"method {method!r} has no calibrated probabilities here",
                                 "pass calibration=DIR holding a calibrator for it")
        return np.array([r.calibrated[method] for r in self.records], dtype=np.float64)

    def predicted(self, method: str) -> list[list[str]]:
        """Predicted label set per text for ``method`` (needs thresholds for it)."""
        if not self.records or method not in self.records[0].predicted:
            raise LabeldistError(f"method {method!r} has no thresholds here", "pass thresholds=FILE (or calibration=DIR "
                                 "with a thresholds.json) that covers it")
        return [list(r.predicted[method]) for r in self.records]

    def table(self) -> str:
        return format_table(self.records, self.label_set, self.methods, calibration=self.calibration)


def format_table(records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str], *,
                 calibration=None) -> str:
    """Plain-text table: one block per example, rows = methods (and their calibrated rows), columns = labels;
    then the predicted label set of every method with thresholds."""
    width = max(8, *(len(l) for l in label_set.labels))
    cal_names = {m: calibration.label_name(m) for m in calibration.calibrators} if calibration is not None else {}
    mw = max(len(m) for m in [*methods, *cal_names.values()]) if methods else 6
    lines = []
    for r in records:
        text = r.text if len(r.text) <= 90 else r.text[:87] + "..."
        lines.append(f"[{r.id}] {text}")
        if r.generation is not None:
            said = ", ".join(r.generation.parsed) or "none"
            extra = f"  (unparsed: {', '.join(r.generation.unknown)})" if r.generation.unknown else ""
            lines.append(f"  model says: {said}{extra}")
        if r.gold is not None:
            lines.append(f"  gold: {', '.join(r.gold) or 'none'}")
        lines.append("  " + " " * mw + "".join(f"{l:>{width + 1}}" for l in label_set.labels))
        for m in methods:
            if m in r.methods:
                lines.append("  " + f"{m:<{mw}}" + "".join(f"{p:>{width + 1}.3f}" for p in r.methods[m]))
            if m in r.calibrated:
                name = cal_names.get(m, f"{m} + calibrated")
                lines.append("  " + f"{name:<{mw}}" + "".join(f"{p:>{width + 1}.3f}" for p in r.calibrated[m]))
        if r.human is not None and r.human.is_distribution:
            lines.append("  " + f"{'human':<{mw}}" + "".join(f"{p:>{width + 1}.3f}" for p in r.human.probs))
        for m in methods:
            if m in r.predicted:
                thr = calibration.thresholds.get(m) if calibration is not None else None
                how = f", {thr.objective}{'' if thr.target is None else f' ≥ {thr.target:g}'} thresholds" if thr else ""
                src = cal_names.get(m, m) if thr is None or thr.calibrator != "none" else m
                lines.append(f"  predicted ({src}{how}): {', '.join(r.predicted[m]) or 'no label'}")
        lines.append("")
    return "\n".join(lines)


def classify(
    texts: Sequence[str],
    labels: Sequence[str] | str | LabelSet,
    *,
    model: str = DEFAULT_MODEL,
    backend: Backend | None = None,
    methods: Sequence[str] = DEFAULT_GROUPS,
    demos: Sequence[Example] = (),
    multilabel: bool = True,
    prompt: PromptConfig | None = None,
    progress: bool = False,
    calibration=None,
    thresholds=None,
    **backend_options,
) -> ClassifyResult:
    """Per-label probabilities of ``texts`` by every method of the selected groups (nothing written to disk).

    ``calibration`` (a directory from ``labeldist calibrate``) adds each calibrated method's
    calibrated probabilities; ``thresholds`` (a ``thresholds.json``, default: the one in the
    calibration directory) adds predicted label sets. Both are checked against the label set
    and methods before the model loads.
    """
    label_set = labels if isinstance(labels, LabelSet) else LabelSet.parse(labels, multilabel=multilabel)
    examples = [Example(f"t{i + 1}", t) for i, t in enumerate(texts)]
    config = RunConfig(model=model, methods=tuple(methods), prompt=prompt or PromptConfig())
    applied = resolve_calibration(label_set, [s.name for s in selected_methods(config.methods, label_set)],
                                 calibration=calibration, thresholds=thresholds)
    backend = backend or load_backend(model, **backend_options)
    clf = Classifier(backend, label_set, config, demos)
    records, summary = run_examples(clf, examples, progress=progress)
    if applied is not None:
        applied.apply(records)
    return ClassifyResult(label_set, records, clf.method_names, summary, clf, applied)


@dataclass
class RunResult:
    run_dir: Path
    label_set: LabelSet
    records: list[ExampleRecord]
    methods: list[str]
    summary: RunSummary
    calibration: AppliedCalibration | None = None


class _CalibratingClassifier:
    """A :class:`Classifier` whose records get calibrated probabilities and predicted label sets before they
    are stored (the runner sees the same ``classify_batch`` / ``config``)."""

    def __init__(self, classifier: Classifier, applied):
        self._classifier, self._applied = classifier, applied

    def __getattr__(self, name):
        return getattr(self._classifier, name)

    def classify_batch(self, examples: Sequence[Example]) -> list[ExampleRecord]:
        records = self._classifier.classify_batch(examples)
        self._applied.apply(records)
        return records


def run(
    examples: Sequence[Example],
    label_set: LabelSet,
    out_dir: str | Path,
    *,
    config: RunConfig | None = None,
    demo_pool: Sequence[Example] = (),
    train_pool: Sequence[Example] | None = None,
    data_source: dict | None = None,
    backend: Backend | None = None,
    progress: bool = True,
    calibration=None,
    thresholds=None,
    **backend_options,
) -> RunResult:
    """Classify ``examples`` into a run directory, resuming if it already holds the same run.

    ``train_pool`` (default: ``demo_pool``) gives the train-split base rates recorded for the
    evaluation's base-rate baseline. The directory is created only after the model, demos
    and label tokens are ready and every example has been validated, so a bad input never
    leaves a partial run behind.

    ``calibration`` / ``thresholds`` (as in :func:`classify`) store each record's calibrated
    probabilities and predicted label sets (``calibrated`` / ``predicted``); which
    calibrators and thresholds were used is part of the run's config, so a resume must pass
    the same ones.
    """
    from labeldist.data import check_no_overlap, train_base_rates

    config = config or RunConfig()
    if not examples:
        raise LabeldistError("no examples to classify", "check the data file, --split and --n")
    applied = resolve_calibration(label_set, [s.name for s in selected_methods(config.methods, label_set)],
                                 calibration=calibration, thresholds=thresholds)
    backend = backend or load_backend(config.model, backend=config.backend, dtype=config.dtype,
                                      batch_size=config.batch_size, **backend_options)
    clf = Classifier(backend, label_set, config, demo_pool)
    check_no_overlap(clf.demos, examples)  # the demos actually shown, not the whole pool
    _check_prompt_lengths(clf, examples)
    data_source = dict(data_source or {})
    resume_config = {
        "run": config.to_dict(),
        "label_set": label_set.to_dict(),
        "data": data_source,
        "demo_ids": [d.id for d in clf.demos],
    }
    if applied is not None:  # only then, so runs without calibration keep their config (and resume)
        resume_config["calibration"] = applied.describe()
    ids_digest = hashlib.sha256(json.dumps([e.id for e in examples]).encode()).hexdigest()[:16]
    manifest = Manifest(
        config=resume_config,
        label_set=label_set,
        dataset=str(data_source.get("name", "examples")),
        model=backend.info,
        methods=clf.method_names,
        prompt=clf.describe(),
        streams={**data_source.get("streams", {}), **clf.streams.to_dict()},
        environment=environment(),
        n_examples=len(examples),
        example_ids_sha256=ids_digest,
        train_base_rates=train_base_rates(demo_pool if train_pool is None else train_pool, label_set),
    )
    store = RunStore.open(out_dir, manifest)
    runner_clf = clf if applied is None else _CalibratingClassifier(clf, applied)
    records, summary = run_examples(runner_clf, examples, store=store, progress=progress)
    store.update_manifest(summary=summary, n_examples=len(examples), example_ids_sha256=ids_digest, complete=True)
    return RunResult(Path(out_dir), label_set, records, clf.method_names, summary, applied)


def _check_prompt_lengths(clf: Classifier, examples: Sequence[Example]) -> None:
    """Fail on an over-long prompt before anything is written (tokenising is cheap next to the model)."""
    if not clf.generates:
        return
    limit = clf.backend.context_length - clf.config.prompt.max_new_tokens
    for ex in examples:
        n = len(clf.prompter.build(ex.text))
        if n > limit:
            raise LabeldistError(
                f"example {ex.id!r}: prompt of {n} tokens + {clf.config.prompt.max_new_tokens} to generate exceeds "
                f"the model's context of {clf.backend.context_length}",
                "use fewer demonstrations (--shots), drop or shorten that text, or a longer-context model",
            )
