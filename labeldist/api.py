"""Python API, mirroring the CLI: ``load_backend``, ``classify``, ``run``, ``format_table``.

>>> import labeldist as ld                                      # doctest: +SKIP
>>> res = ld.classify(["I am thrilled!"], ["joy", "anger"])    # doctest: +SKIP
>>> print(res.table())                                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from labeldist.backends.base import Backend
from labeldist.backends.models import DEFAULT_MODEL
from labeldist.errors import LabeldistError
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, LabelSet
from labeldist.runs.manifest import environment
from labeldist.runs.records import ExampleRecord
from labeldist.runs.runner import Classifier, RunConfig, RunSummary, method_names, run_examples
from labeldist.runs.store import RunStore

BACKENDS = {"hf": "labeldist.backends.hf:HFBackend", "http": "labeldist.backends.http:HTTPBackend"}


def load_backend(model: str = DEFAULT_MODEL, *, backend: str = "hf", **options) -> Backend:
    """Instantiate a backend by name (lazy import: heavy libraries load only when used)."""
    if backend not in BACKENDS:
        raise LabeldistError(f"unknown backend {backend!r}", f"use one of {', '.join(BACKENDS)}")
    module, cls = BACKENDS[backend].split(":")
    try:
        mod = __import__(module, fromlist=[cls])
    except ModuleNotFoundError as e:
        raise LabeldistError(f"backend {backend!r} is not available ({e})", "run `bash install.sh` to install it") from None
    return getattr(mod, cls)(model, **options)


@dataclass
class ClassifyResult:
    label_set: LabelSet
    records: list[ExampleRecord]
    methods: list[str]
    summary: RunSummary
    classifier: Classifier

    def probs(self, method: str):
        import numpy as np

        return np.array([r.methods[method] for r in self.records])

    def table(self) -> str:
        return format_table(self.records, self.label_set, self.methods)


def format_table(records: Sequence[ExampleRecord], label_set: LabelSet, methods: Sequence[str]) -> str:
    """Plain-text table: one block per example, rows = methods, columns = labels."""
    width = max(8, *(len(l) for l in label_set.labels))
    mw = max(len(m) for m in methods) if methods else 6
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
        if r.human is not None and r.human.is_distribution:
            lines.append("  " + f"{'human':<{mw}}" + "".join(f"{p:>{width + 1}.3f}" for p in r.human.probs))
        lines.append("")
    return "\n".join(lines)


def classify(
    texts: Sequence[str],
    labels: Sequence[str] | str | LabelSet,
    *,
    model: str = DEFAULT_MODEL,
    backend: Backend | None = None,
    methods: Sequence[str] = ("generation",),
    demos: Sequence[Example] = (),
    multilabel: bool = True,
    prompt: PromptConfig | None = None,
    progress: bool = False,
    **backend_options,
) -> ClassifyResult:
    """Per-label probabilities of ``texts`` by every selected method (nothing written to disk)."""
    label_set = labels if isinstance(labels, LabelSet) else LabelSet.parse(labels, multilabel=multilabel)
    examples = [Example(f"t{i + 1}", t) for i, t in enumerate(texts)]
    config = RunConfig(model=model, methods=tuple(methods), prompt=prompt or PromptConfig())
    backend = backend or load_backend(model, **backend_options)
    clf = Classifier(backend, label_set, config, demos)
    records, summary = run_examples(clf, examples, progress=progress)
    return ClassifyResult(label_set, records, method_names(config, label_set), summary, clf)


@dataclass
class RunResult:
    run_dir: Path
    label_set: LabelSet
    records: list[ExampleRecord]
    methods: list[str]
    summary: RunSummary


def run(
    examples: Sequence[Example],
    label_set: LabelSet,
    out_dir: str | Path,
    *,
    config: RunConfig | None = None,
    demo_pool: Sequence[Example] = (),
    data_source: dict | None = None,
    backend: Backend | None = None,
    progress: bool = True,
    extra_manifest: dict | None = None,
    **backend_options,
) -> RunResult:
    """Classify ``examples`` into a run directory, resuming if it already holds the same run.

    The directory is created only after the model, demos and label tokens are ready and
    every example has been validated, so a bad input never leaves a partial run behind.
    """
    config = config or RunConfig()
    if not examples:
        raise LabeldistError("no examples to classify", "check the data file, --split and --n")
    backend = backend or load_backend(config.model, backend=config.backend, dtype=config.dtype,
                                      batch_size=config.batch_size, **backend_options)
    clf = Classifier(backend, label_set, config, demo_pool)
    from labeldist.data import check_no_overlap

    check_no_overlap(clf.demos, examples)  # the demos actually shown, not the whole pool
    _check_prompt_lengths(clf, examples)
    resume_config = {
        "run": config.to_dict(),
        "label_set": label_set.to_dict(),
        "data": data_source or {},
        "demo_ids": [d.id for d in clf.demos],
    }
    ids_digest = hashlib.sha256(json.dumps([e.id for e in examples]).encode()).hexdigest()[:16]
    manifest = {
        "config": resume_config,
        "label_set": label_set.to_dict(),
        "dataset": (data_source or {}).get("name", "examples"),
        "model": {**backend.info.__dict__},
        "seeds": {"demos": config.prompt.seed, "label_order": config.prompt.seed},
        "prompt": clf.describe(),
        "methods": method_names(config, label_set),
        "environment": environment(),
        "n_examples": len(examples),
        "example_ids_sha256": ids_digest,
        **(extra_manifest or {}),
    }
    store = RunStore.open(out_dir, manifest)
    missing = {k: v for k, v in (extra_manifest or {}).items() if store.manifest.get(k) is None and v is not None}
    if missing:  # e.g. a run made before base rates were recorded
        store.update_manifest(**missing)
    records, summary = run_examples(clf, examples, store=store, progress=progress)
    store.update_manifest(summary=summary.to_dict(), n_examples=len(examples), example_ids_sha256=ids_digest,
                          complete=True)
    return RunResult(Path(out_dir), label_set, records, method_names(config, label_set), summary)


def _check_prompt_lengths(clf: Classifier, examples: Sequence[Example]) -> None:
    """Fail on an over-long prompt before anything is written (tokenising is cheap next to the model)."""
    if "generation" not in clf.config.methods:
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


def with_prompt(config: RunConfig, **prompt_fields) -> RunConfig:
    return replace(config, prompt=replace(config.prompt, **prompt_fields))
