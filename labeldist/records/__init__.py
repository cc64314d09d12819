"""Typed records at the package's boundaries, the bottom layer every other module builds on.

Conventions used everywhere in labeldist:

* ``LabelSet.labels`` fixes the column order of every probability array.
* Per-label probability arrays are ``float64`` of shape ``(n_labels,)`` for one example or
  ``(n_examples, n_labels)`` for many, in ``LabelSet.labels`` order. The pseudo-label
  ``none`` is never a column of such an array.
* Per-step arrays over the candidate set are of shape ``(n_candidates,)`` in
  ``LabelSet.candidates`` order: the real labels, then ``none`` for multi-label sets.

Modules: :mod:`~labeldist.records.labels` (label sets), :mod:`~labeldist.records.examples`
(examples, human distributions, datasets), :mod:`~labeldist.records.prompt` (token-id
prompts), :mod:`~labeldist.records.steps` (per-step label scores),
:mod:`~labeldist.records.run` (per-example run records) and
:mod:`~labeldist.records.manifest` (the run manifest).
"""

from labeldist.records.attention import StepAttention
from labeldist.records.examples import Dataset, Example, HumanDistribution, HumanKind
from labeldist.records.labels import NONE_LABEL, LabelSet, normalize_label
from labeldist.records.manifest import LAYOUT_VERSION, Manifest, ModelInfo, ResolvedPrompt, RunSummary
from labeldist.records.marginal import LabelSpan, MarginalScores
from labeldist.records.prompt import PromptIds
from labeldist.records.run import (
    AdaptedGeneration,
    BinaryScores,
    ExampleRecord,
    GenerationDiagnostics,
    GenerationRecord,
    MethodDiagnostics,
    StageCost,
    UnaryScores,
)
from labeldist.records.steps import StepScores

__all__ = [
    "LAYOUT_VERSION", "NONE_LABEL", "AdaptedGeneration", "BinaryScores", "Dataset", "Example", "ExampleRecord", "GenerationDiagnostics",
    "GenerationRecord", "HumanDistribution", "HumanKind", "LabelSet", "LabelSpan", "Manifest", "MarginalScores", "MethodDiagnostics", "ModelInfo",
    "PromptIds", "ResolvedPrompt", "RunSummary", "StageCost", "StepAttention", "StepScores", "UnaryScores", "normalize_label",
]
