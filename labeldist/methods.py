"""The method registry: every per-label probability method labeldist knows, by name.

One :class:`MethodSpec` per method says what the method is (family), what it reads from
an example's record, whether it applies to single-label sets, and how to compute it from
the record (``estimate``). The runner, ``RunConfig`` validation, the CLI's ``--methods``
choices and help, ``evaluate``, calibration and the report all read this table; no other
module names a method.

``--methods`` selects *groups*: a group is the unit of work a run does once per example
(``generation``: one greedy answer, read by six methods; ``unary`` / ``binary``: one
batched forward over the breakdown prompts; ``marginal``: a best-first search over the
answer's decoding paths; ``probe`` / ``encoder`` / ``sft``: models fitted on the train
split). :data:`GROUPS` maps each group to its methods in registry order.

Adding a method: write its estimator (a pure function) in ``labeldist/estimators/``, then
add one ``MethodSpec(...)`` line to :data:`_SPECS` (README, "Adding a method").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.estimators.breakdown import binary_probs_from_pairs, unary_breakdown_probs
from labeldist.estimators.token_level import conditional_probs, joint_probs
from labeldist.estimators.zero_shot import (
    compare_to_none,
    first_step,
    hard_predictions,
    max_over_generations,
    no_label_fallback,
)
from labeldist.records import ExampleRecord, LabelSet, MethodDiagnostics

Family = Literal["generation", "breakdown", "supervised", "marginal"]
#: What a method reads from a record: the label steps of the greedy answer, its parsed
#: labels, its per-token log-probabilities, the unary / binary breakdown scores, the marginal
#: search, hidden states, a fitted artefact's output, or the label steps / labels of the
#: LoRA-adapted model's answer.
Reads = Literal["steps", "answer", "token_logprobs", "unary_scores", "binary_scores", "marginal_scores",
                "hidden_states", "artefact", "adapted_steps", "adapted_answer"]


@dataclass(frozen=True)
class EstimateOptions:
    """Run options that change how a method turns stored scores into probabilities."""

    binary_hard: bool = False  # Bradley–Terry on hard outcomes 1[p > 0.5] (paper §C)
    joint: str = "path"  # joint: path probability, or the reference's "label_tokens" product
    normalize: bool = True  # token-level methods on constrained answers: the constrained sampler's probabilities


@dataclass(frozen=True)
class MethodSpec:
    """One registered method.

    Attributes
    ----------
    name : str
        The method's name in records, tables and ``--methods`` help.
    group : str
        The ``--methods`` group that computes it (one unit of work per example).
    family : {"generation", "breakdown", "supervised", "marginal"}
    reads : tuple of str
        What it reads from a record (see :data:`Reads`).
    single_label : bool
        Whether it applies to single-label sets (multi-label sets take every method).
    estimate : callable
        ``estimate(record, label_set, options) -> (n_labels,) float64 array``, or None when
        the record holds nothing to read (then :func:`apply_methods` uses the no-label
        fallback and marks it).
    summary : str
        One line for help texts.
    calibration_scores : callable or None
        ``f(record, label_set) -> (n_labels,) raw scores`` whose Platt scaling calibrates the
        method (compare-to-none: z_l − z_none), or None.
    """

    name: str
    group: str
    family: Family
    reads: tuple[Reads, ...]
    single_label: bool
    estimate: Callable[[ExampleRecord, LabelSet, EstimateOptions], np.ndarray | None]
    summary: str
    calibration_scores: Callable[[ExampleRecord, LabelSet], np.ndarray | None] | None = None

    def applies_to(self, label_set: LabelSet) -> bool:
        return label_set.multilabel or self.single_label


# -- estimators on records --------------------------------------------------------------------

def _none_differences(rec: ExampleRecord, label_set: LabelSet) -> np.ndarray | None:
    """x_l = z_l − z_none at the first label step, shape (n_labels,); None without steps."""
    if not rec.steps:
        return None
    z = np.asarray(rec.steps[0].scores, dtype=np.float64)
    return z[: label_set.n_labels] - z[label_set.n_labels]


def _unary(rec: ExampleRecord, label_set: LabelSet, _: EstimateOptions) -> np.ndarray | None:
    if rec.unary is None:
        return None
    s = rec.unary.scores
    return unary_breakdown_probs(s["reasonable"], s["unreasonable"], label_set).probs


def _binary(rec: ExampleRecord, label_set: LabelSet, options: EstimateOptions) -> np.ndarray | None:
    if rec.binary is None:
        return None
    n = len(rec.binary.pair_probs)
    probs, _ = binary_probs_from_pairs(rec.binary.pair_probs, label_set, pairs=np.array(rec.binary.pairs[:n]),
                                       hard=options.binary_hard)
    return probs


def _answer(rec: ExampleRecord, label_set: LabelSet, _: EstimateOptions) -> np.ndarray | None:
    return None if rec.generation is None else hard_predictions(rec.generation.parsed, label_set)


def _token_inputs(rec: ExampleRecord, options: EstimateOptions):
    """(per-token log-probs, label spans) of the greedy answer: on constrained answers those of the
    constrained sampler (renormalised over the grammar, as the marginal search), unless ``normalize`` is off."""
    g = rec.generation
    lp = g.grammar_logprobs if g is not None and options.normalize and g.grammar_logprobs is not None \
        else (g.token_logprobs if g is not None else None)
    if lp is None or g.label_spans is None:
        return None
    return lp, g.label_spans


def _conditional(rec: ExampleRecord, label_set: LabelSet, options: EstimateOptions) -> np.ndarray | None:
    inputs = _token_inputs(rec, options)
    return None if inputs is None else conditional_probs(*inputs, label_set)


def _joint(rec: ExampleRecord, label_set: LabelSet, options: EstimateOptions) -> np.ndarray | None:
    inputs = _token_inputs(rec, options)
    return None if inputs is None else joint_probs(*inputs, label_set, variant=options.joint)


def _marginal(rec: ExampleRecord, label_set: LabelSet, _: EstimateOptions) -> np.ndarray | None:
    return None if rec.marginal is None else np.asarray(rec.marginal.estimate, dtype=np.float64)


#: The group of the marginal search (its own pipeline stage; its cost is recorded under this name).
MARGINAL_GROUP = "marginal"

def _artefact(name: str):
    """A supervised method's probabilities: its fitted model's output, stored in the record."""
    def estimate(rec: ExampleRecord, label_set: LabelSet, _: EstimateOptions) -> np.ndarray | None:
        p = rec.artefact_probs.get(name)
        return None if p is None else np.asarray(p, dtype=np.float64)
    return estimate


def _adapted_steps(fn):
    """A generation method read off the LoRA-adapted model's answer."""
    def estimate(rec: ExampleRecord, label_set: LabelSet, _: EstimateOptions) -> np.ndarray | None:
        return None if rec.adapted is None else fn(rec.adapted.steps, label_set)
    return estimate


def _adapted_answer(rec: ExampleRecord, label_set: LabelSet, _: EstimateOptions) -> np.ndarray | None:
    return None if rec.adapted is None else hard_predictions(rec.adapted.generation.parsed, label_set)


_SPECS: tuple[MethodSpec, ...] = (
    MethodSpec("first_step", "generation", "generation", ("steps",), True,
               lambda r, ls, o: first_step(r.steps, ls),
               "softmax over the candidates at the first label step (none dropped)"),
    MethodSpec("compare_to_none", "generation", "generation", ("steps",), False,
               lambda r, ls, o: compare_to_none(r.steps, ls),
               "σ(z_l − z_none) at the first label step", calibration_scores=_none_differences),
    MethodSpec("hard", "generation", "generation", ("answer",), True, _answer,
               "1 − ε for each label the model wrote, ε otherwise"),
    MethodSpec("max_over_generations", "generation", "generation", ("steps",), False,
               lambda r, ls, o: max_over_generations(r.steps, ls),
               "max over label steps of the step's softmax"),
    MethodSpec("conditional", "generation", "marginal", ("answer", "token_logprobs"), True, _conditional,
               "greedy answer: product of the label's token probabilities where it is written, 0 elsewhere"),
    MethodSpec("joint", "generation", "marginal", ("answer", "token_logprobs"), True, _joint,
               "greedy answer: probability of the path up to the label's last token (--joint label_tokens: "
               "the reference's label-tokens product)"),
    MethodSpec("unary", "unary", "breakdown", ("unary_scores",), True, _unary,
               "P(reasonable | text, label), one ending per candidate"),
    MethodSpec("binary", "binary", "breakdown", ("binary_scores",), True, _binary,
               "Bradley–Terry over pairwise 'a or b' prompts: σ(s_l − s_none) / softmax(s)"),
    MethodSpec("marginal", MARGINAL_GROUP, "marginal", ("marginal_scores",), True, _marginal,
               "P(label in the answer): best-first search over decoding paths, with lower/upper bounds"),
    MethodSpec("probe", "probe", "supervised", ("hidden_states", "artefact"), True, _artefact("probe"),
               "L2 logistic regression per label on the hidden state before the first label slot"),
    MethodSpec("encoder", "encoder", "supervised", ("artefact",), True, _artefact("encoder"),
               "MiniLM fine-tuned end to end, one sigmoid per label (softmax single-label)"),
    MethodSpec("encoder_frozen", "encoder", "supervised", ("artefact",), True, _artefact("encoder_frozen"),
               "frozen mean-pooled MiniLM embeddings + the probe classifier"),
    MethodSpec("sft_first_step", "sft", "supervised", ("adapted_steps",), True, _adapted_steps(first_step),
               "first-step distribution of the LoRA-adapted model"),
    MethodSpec("sft_compare_to_none", "sft", "supervised", ("adapted_steps",), False,
               _adapted_steps(compare_to_none), "compare-to-none of the LoRA-adapted model"),
    MethodSpec("sft_hard", "sft", "supervised", ("adapted_answer",), True, _adapted_answer,
               "the LoRA-adapted model's outputs (SFT outputs)"),
    MethodSpec("sft_max_over_generations", "sft", "supervised", ("adapted_steps",), False,
               _adapted_steps(max_over_generations), "max over label steps of the LoRA-adapted model"),
)

#: The group every run selects by default: one greedy answer, read by the generation methods.
GENERATION_GROUP = "generation"
DEFAULT_GROUPS: tuple[str, ...] = (GENERATION_GROUP,)

#: Registered methods by name, in table order.
METHODS: dict[str, MethodSpec] = {s.name: s for s in _SPECS}

#: ``--methods`` group -> its methods, in registry order.
GROUPS: dict[str, tuple[str, ...]] = {}
for _s in _SPECS:
    GROUPS.setdefault(_s.group, ())
    GROUPS[_s.group] += (_s.name,)
del _s


def unsupervised_groups() -> tuple[str, ...]:
    """Groups whose methods need no training data: what `classify` and the demo can run."""
    return tuple(g for g, names in GROUPS.items() if all(METHODS[m].family != "supervised" for m in names))


def get_method(name: str) -> MethodSpec:
    try:
        return METHODS[name]
    except KeyError:
        raise LabeldistError(f"unknown method {name!r}", f"registered methods: {', '.join(METHODS)}") from None


def check_groups(groups: Sequence[str]) -> tuple[str, ...]:
    """Validate ``--methods`` group names (order kept, duplicates dropped)."""
    groups = tuple(dict.fromkeys(g for g in groups if g))
    if not groups:
        raise LabeldistError("no methods selected", f"use --methods with any of {', '.join(GROUPS)}")
    for g in groups:
        if g not in GROUPS:
            hint = f" ({g!r} is a method of group {METHODS[g].group!r})" if g in METHODS else ""
            raise LabeldistError(f"unknown method group {g!r}{hint}", f"use a comma list of {', '.join(GROUPS)}")
    return groups


def selected_methods(groups: Sequence[str], label_set: LabelSet) -> list[MethodSpec]:
    """The methods the groups compute for this label set, in registry order."""
    wanted = set(check_groups(groups))
    return [s for s in _SPECS if s.group in wanted and s.applies_to(label_set)]


def reads_any(specs: Sequence[MethodSpec], *what: str) -> bool:
    """Whether any of ``specs`` reads one of ``what`` (decides which pipeline stages run)."""
    return any(r in what for s in specs for r in s.reads)


def apply_methods(rec: ExampleRecord, specs: Sequence[MethodSpec], label_set: LabelSet,
                  options: EstimateOptions = EstimateOptions()) -> list[str]:
    """Fill ``rec.methods`` and ``rec.method_diagnostics`` for ``specs``; return the fallbacks.

    A method whose ``estimate`` returns None (nothing to read, e.g. no label step) gets the
    no-label fallback 1/L′ and ``fallback=True`` — stored in the record, never silent.
    """
    fallbacks = []
    for spec in specs:
        p = spec.estimate(rec, label_set, options)
        fallback = p is None
        if fallback:
            p = no_label_fallback(label_set)
            fallbacks.append(spec.name)
        rec.methods[spec.name] = np.asarray(p, dtype=np.float64).tolist()
        rec.method_diagnostics[spec.name] = MethodDiagnostics(fallback=fallback)
    return fallbacks


def supervised_methods(specs: Sequence[MethodSpec]) -> list[MethodSpec]:
    """The methods among ``specs`` whose per-item output comes from a model fitted on the train split."""
    return [s for s in specs if "artefact" in s.reads]


def infer_legacy_diagnostics(rec: ExampleRecord, label_set: LabelSet) -> None:
    """Layout-1 records did not store fallbacks: a method that reads label steps fell back
    exactly when the record has a generation but no step (what the runner did then)."""
    for name in rec.methods:
        spec = METHODS.get(name)
        fallback = bool(spec and "steps" in spec.reads and rec.generation is not None and not rec.steps)
        rec.method_diagnostics.setdefault(name, MethodDiagnostics(fallback=fallback))


def order_methods(names) -> list[str]:
    """``names`` in registry order; names the registry does not know keep their order, last."""
    names = list(names)
    return [m for m in METHODS if m in names] + [m for m in names if m not in METHODS]


def calibratable_methods() -> list[MethodSpec]:
    """Methods with raw scores for Platt scaling (``evaluate --calibrate``)."""
    return [s for s in _SPECS if s.calibration_scores is not None]


def groups_help() -> str:
    """``--methods`` help text, one clause per group with its methods."""
    return "; ".join(f"{g} ({', '.join(m)})" for g, m in GROUPS.items())
