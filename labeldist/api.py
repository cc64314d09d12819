"""Python API, mirroring the CLI: ``load_backend``, ``classify``, ``run``, and the output formats of
``labeldist classify --format`` (``format_table``, ``format_json``, ``format_jsonl``, ``format_csv``).

>>> import labeldist as ld                                      # doctest: +SKIP
>>> res = ld.classify(["I am thrilled!"], ["joy", "anger"])    # doctest: +SKIP
>>> print(res.table())                                          # doctest: +SKIP
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass
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
from labeldist.runs.interrupt import signals_raise
from labeldist.runs.runner import Classifier, RunConfig, run_examples, summarize
from labeldist.runs.store import RunStore

__all__ = ["OUTPUT_FORMATS", "ClassifyResult", "RunResult", "classify", "format_csv", "format_json", "format_jsonl",
           "format_output", "format_table", "json_ready", "load_backend", "run", "run_summary_dict", "text_dicts"]

#: ``labeldist classify --format`` choices: the text table, one JSON document, one JSON object per
#: text (JSON Lines), or CSV with one row per (text, method).
OUTPUT_FORMATS = ("table", "json", "jsonl", "csv")


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

    def to_dict(self) -> dict:
        """The ``--format json`` document: labels, methods, one entry per text, the model and config."""
        return classify_document(self.records, self.label_set, self.methods, model=asdict(self.classifier.backend.info),
                                 config=self.classifier.config.to_dict())

    def format(self, fmt: str) -> str:
        """The output of ``labeldist classify --format fmt`` (one of :data:`OUTPUT_FORMATS`)."""
        if fmt == "table":
            return self.table()
        return format_output(fmt, self.records, self.label_set, self.methods,
                             model=asdict(self.classifier.backend.info), config=self.classifier.config.to_dict())


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


def _finite(x: float) -> float | None:
    """JSON has no NaN: a non-finite probability becomes null."""
    x = float(x)
    return x if math.isfinite(x) else None


def json_ready(x):
    """``x`` with every non-finite float (at any depth) replaced by None, so ``allow_nan=False`` holds."""
    if isinstance(x, float):
        return _finite(x)
    if isinstance(x, dict):
        return {k: json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    return x


def text_dicts(records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str]) -> list[dict]:
    """One JSON-ready dict per text.

    Keys: ``id``, ``text``, ``answer`` (the generated text, or None without the generation
    group), ``parsed`` (labels read from it), ``diagnostics`` (``well_formed``, ``stop_reason``,
    ``unknown`` strings, ``scored_values``, ``bounded_scores`` and per method ``fallback``),
    ``probabilities`` ({method: {label: p}}, methods and labels in the given orders), and
    ``calibrated`` / ``predicted`` (with a calibration or thresholds) and ``gold`` / ``human``
    when the record has them.
    """
    out = []
    for r in records:
        g = r.generation
        diag: dict = {}
        if g is not None:
            diag.update(well_formed=g.diagnostics.well_formed, stop_reason=g.stop_reason, unknown=list(g.unknown),
                        scored_values=g.diagnostics.scored_values, bounded_scores=g.diagnostics.bounded_scores,
                        constrained=g.diagnostics.constrained,
                        outside_mass=[_finite(s.outside_mass) for s in r.steps if s.outside_mass is not None])
        diag["fallback"] = {m: bool(r.method_diagnostics[m].fallback) for m in methods if m in r.method_diagnostics}
        d = {
            "id": r.id,
            "text": r.text,
            "answer": None if g is None else g.text,
            "parsed": None if g is None else list(g.parsed),
            "diagnostics": diag,
            "probabilities": {m: {l: _finite(p) for l, p in zip(label_set.labels, r.methods[m])}
                              for m in methods if m in r.methods},
        }
        if r.calibrated:
            d["calibrated"] = {m: {l: _finite(p) for l, p in zip(label_set.labels, v)} for m, v in r.calibrated.items()}
        if r.predicted:
            d["predicted"] = {m: list(v) for m, v in r.predicted.items()}
        if r.gold is not None:
            d["gold"] = list(r.gold)
        if r.human is not None and r.human.is_distribution:
            d["human"] = {l: _finite(p) for l, p in zip(label_set.labels, r.human.probs)}
        out.append(d)
    return out


def classify_document(records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str], *,
                      model: dict | None = None, config: dict | None = None) -> dict:
    """``{"labels", "multilabel", "methods", "texts": [...], "model", "config"}`` (see :func:`text_dicts`)."""
    return {"labels": list(label_set.labels), "multilabel": label_set.multilabel, "methods": list(methods),
            "texts": text_dicts(records, label_set, methods), "model": json_ready(model), "config": json_ready(config)}


def format_json(records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str], *,
                model: dict | None = None, config: dict | None = None) -> str:
    """One JSON document (:func:`classify_document`), parseable with ``json.loads``."""
    doc = classify_document(records, label_set, methods, model=model, config=config)
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def format_jsonl(records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str]) -> str:
    """JSON Lines: one object per text (:func:`text_dicts`), each on its own line."""
    return "\n".join(json.dumps(d, ensure_ascii=False, allow_nan=False) for d in text_dicts(records, label_set, methods))


CSV_FIELDS = ("id", "text", "method", "answer", "fallback")


def format_csv(records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str]) -> str:
    """CSV with one row per (text, method) and one column per label (the probability).

    Fixed columns: ``id, text, method, answer`` (the parsed labels joined by ``;``) and
    ``fallback`` (1 when the method used the no-label fallback). A label whose name equals a
    fixed column gets the column ``p:<label>``.
    """
    label_cols = [f"p:{l}" if l in CSV_FIELDS else l for l in label_set.labels]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_FIELDS, *label_cols])
    for r in records:
        answer = "" if r.generation is None else ";".join(r.generation.parsed)
        for m in methods:
            if m not in r.methods:
                continue
            fb = r.method_diagnostics.get(m)
            w.writerow([r.id, r.text, m, answer, int(bool(fb and fb.fallback)),
                        *("" if _finite(p) is None else repr(float(p)) for p in r.methods[m])])
    return buf.getvalue().rstrip("\n")


def format_output(fmt: str, records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str], *,
                  model: dict | None = None, config: dict | None = None) -> str:
    """Dispatch on ``fmt`` (one of :data:`OUTPUT_FORMATS`)."""
    if fmt == "table":
        return format_table(records, label_set, methods)
    if fmt == "json":
        return format_json(records, label_set, methods, model=model, config=config)
    if fmt == "jsonl":
        return format_jsonl(records, label_set, methods)
    if fmt == "csv":
        return format_csv(records, label_set, methods)
    raise LabeldistError(f"unknown output format {fmt!r}", f"use one of {', '.join(OUTPUT_FORMATS)}")


def run_summary_dict(result: "RunResult") -> dict:
    """The ``labeldist run --json`` summary: run directory, counts, every summary field, methods."""
    s = result.summary
    return {
        "run_dir": str(result.run_dir),
        "n_examples": s.n_examples,
        "n_new": s.n_new,
        "n_resumed": s.n_resumed,
        "examples_per_second": _finite(s.n_new / s.seconds) if s.seconds else None,
        "methods": list(result.methods),
        "labels": list(result.label_set.labels),
        "summary": json_ready(s.to_dict()),
    }


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
    decoding: str = "constrained",
    config: RunConfig | None = None,
    progress: bool = False,
    calibration=None,
    thresholds=None,
    **backend_options,
) -> ClassifyResult:
    """Per-label probabilities of ``texts`` by every method of the selected groups (nothing written to disk).

    ``config`` (a :class:`RunConfig`) replaces ``model``, ``methods``, ``prompt`` and ``decoding``.
    ``calibration`` (a directory from ``labeldist calibrate``) adds each calibrated method's
    calibrated probabilities; ``thresholds`` (a ``thresholds.json``, default: the one in the
    calibration directory) adds predicted label sets. Both are checked against the label set
    and methods before the model loads.
    """
    label_set = labels if isinstance(labels, LabelSet) else LabelSet.parse(labels, multilabel=multilabel)
    examples = [Example(f"t{i + 1}", t) for i, t in enumerate(texts)]
    config = config or RunConfig(model=model, methods=tuple(methods), prompt=prompt or PromptConfig(),
                                 decoding=decoding)
    model = config.model
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


def run(
    examples: Sequence[Example],
    label_set: LabelSet,
    out_dir: str | Path,
    *,
    config: RunConfig | None = None,
    demo_pool: Sequence[Example] = (),
    train_pool: Sequence[Example] | None = None,
    dev_pool: Sequence[Example] | None = None,
    data_source: dict | None = None,
    backend: Backend | None = None,
    progress: bool = True,
    calibration=None,
    thresholds=None,
    **backend_options,
) -> RunResult:
    """Classify ``examples`` into a run directory, resuming if it already holds the same run.

    ``train_pool`` (default: ``demo_pool``) gives the train-split base rates recorded for the
    evaluation's base-rate baseline, and the items the supervised methods are fitted on;
    ``dev_pool`` the items they choose hyperparameters on (default: a seeded share of train). The
    directory is created only after the model, demos
    and label tokens are ready and every example has been validated, so a bad input never
    leaves a partial run behind.

    ``calibration`` / ``thresholds`` (as in :func:`classify`) store each record's calibrated
    probabilities and predicted label sets (``calibrated`` / ``predicted``); which
    calibrators and thresholds were used is part of the run's config, so a resume must pass
    the same ones.
    """
    from labeldist.data import check_no_overlap, train_base_rates
    from labeldist.runs.checks import check_examples, check_label_set, check_out_dir, check_run_config

    config = config or RunConfig()
    check_run_config(config)
    label_set = check_label_set(label_set)
    examples = check_examples(examples)
    out_dir = check_out_dir(out_dir)
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
    # SIGINT/SIGTERM raise between record writes, never inside one (labeldist.runs.interrupt).
    with signals_raise():
        store = RunStore.open(out_dir, manifest)
        try:
            if clf.supervised is not None:
                info = clf.supervised.prepare(out_dir, demo_pool if train_pool is None else train_pool, dev_pool,
                                              {e.id for e in examples}, progress=progress)
                store.update_manifest(supervised=info)
            clf.calibration = applied  # calibrated probabilities and label sets, stored with each record
            records, summary = run_examples(clf, examples, store=store, progress=progress)
            store.update_manifest(summary=summary, n_examples=len(examples), example_ids_sha256=ids_digest,
                                  complete=True)
        except BaseException:
            _save_progress(store, examples)
            raise
        finally:
            store.close()
    return RunResult(Path(out_dir), label_set, records, clf.method_names, summary, applied)


def _save_progress(store: RunStore, examples: Sequence[Example]) -> None:
    """After an interrupted or failed run: the manifest's summary counts the records written so far."""
    done = [store.done[e.id] for e in examples if e.id in store.done]
    summary = summarize(done)
    summary.n_new, summary.n_resumed = store.n_appended, len(done) - store.n_appended
    try:
        store.update_manifest(summary=summary, complete=False)
    except (LabeldistError, KeyboardInterrupt):
        pass  # e.g. the disk is full: the run's own error is the one to report


def _check_prompt_lengths(clf: Classifier, examples: Sequence[Example]) -> None:
    """Fail on an over-long prompt before anything is written (tokenising is cheap next to the model)."""
    if not clf.generates:
        return
    budget = clf.max_new_tokens
    limit = clf.backend.context_length - budget
    for ex in examples:
        n = len(clf.build_prompt(ex.text))
        if n > limit:
            raise LabeldistError(
                f"example {ex.id!r}: prompt of {n} tokens + {budget} to generate exceeds "
                f"the model's context of {clf.backend.context_length}",
                "use fewer demonstrations (--shots), drop or shorten that text, or a longer-context model",
            )
