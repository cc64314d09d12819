"""Unary and binary breakdown prompts (REFERENCE.md §2.3c/d), split at cache points.

A full prompt is ``header_and_demos + question + ending``:

* ``header_and_demos``: instruction and demonstrations, identical for every item of a run
  (prefill once per run). Built by :func:`build_unary_header` / :func:`build_binary_header`.
* ``question``: ``"Question: {text}\\n"`` (prefill once per item).
* ``endings``: one short ending per candidate (unary) or pair (binary), batched on top.

Texts are the reference's, character for character, except for the token form below.

Token form (REFERENCE.md §3.1). The reference ends the query with a trailing space
(``"Is the label reasonable: "``, ``"Correct Label: "``) and scores the bare tokens
``reasonable`` / ``unreasonable`` / ``a`` / ``b``. But the demos contain the answer as the
space-merged token (``" reasonable"``, ``" a"``) after the colon, so the model is asked for
a token split it has seen neither in the demos nor, mostly, in pre-training.

* ``token_form="fixed"`` (default): the ending stops at the colon and the scored targets
  are exactly the leading-space forms the demos use, so query and demos agree token for
  token. This is the natural way to read a next-token distribution off a BPE model.
  (Capitalised forms are not scored: `` Unreasonable`` starts with the fragment `` Un``,
  which other words share.)
* ``token_form="faithful"``: trailing space and bare targets, as in the reference.

:func:`breakdown_targets` gives the target strings per word, whose next-token scores are
read; in the fixed form each must be one token under the model's tokenizer
(``labeldist.runs.breakdown_runner.target_ids`` checks it).

Demo labels (drawn with the caller's ``np.random.Generator``, once per run). Unary:
``floor(n/2)`` demos are marked reasonable, plus one more on a coin flip when ``n`` is odd;
the marks are shuffled. A reasonable demo shows one random gold label (``none`` if it has
none); an unreasonable one shows a random candidate not in its gold set. Binary: each demo
shows one random gold label (``none`` if empty) and one random non-gold candidate, in random
order, and the answer is the gold one's letter. In the reference, a demo *without* gold
labels can get ``none`` itself as its "unreasonable" / wrong label (it is not excluded),
which contradicts the demo; we exclude it. ``faithful_none_bug=True`` restores it. When no
wrong candidate is left, ``none`` is shown, as in the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Literal, Mapping, Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.records import NONE_LABEL, Example, LabelSet

__all__ = [
    "BINARY_HEADER",
    "BREAKDOWN_KINDS",
    "TOKEN_FORMS",
    "DEFAULT_MAX_PAIRS",
    "UNARY_HEADER",
    "BreakdownPrompt",
    "binary_pairs",
    "breakdown_targets",
    "build_binary_header",
    "build_binary_prompt",
    "build_question",
    "build_unary_header",
    "build_unary_prompt",
]

TokenForm = Literal["fixed", "faithful"]
#: ``--token-form`` choices (see the module docstring).
TOKEN_FORMS: tuple[TokenForm, ...] = ("fixed", "faithful")
Kind = Literal["unary", "binary"]
#: The breakdown prompt kinds, one per breakdown method (``labeldist.methods``).
BREAKDOWN_KINDS: tuple[Kind, ...] = ("unary", "binary")

UNARY_HEADER = (
    'Classify the following question-label pairs as either "reasonable" or "unreasonable". '
    'Output either "reasonable" or "unreasonable" and nothing else.\n\n'
)
BINARY_HEADER = (
    "Classify the following question into one of the two following labels. "
    'Output either "a" or "b" depending on which label is better and nothing else.\n\n'
)
DEFAULT_MAX_PAIRS = math.comb(41, 2)  # 820 pairs: up to 40 labels + none

_TARGETS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("unary", "fixed"): {"reasonable": (" reasonable",), "unreasonable": (" unreasonable",)},
    ("unary", "faithful"): {"reasonable": ("reasonable",), "unreasonable": ("unreasonable",)},
    ("binary", "fixed"): {"a": (" a",), "b": (" b",)},
    ("binary", "faithful"): {"a": ("a",), "b": ("b",)},
}


@dataclass(frozen=True)
class BreakdownPrompt:
    """One item's breakdown prompts, split at cache points.

    Attributes
    ----------
    kind : {"unary", "binary"}
    header_and_demos : str
        Shared by every item of the run.
    question : str
        ``"Question: {text}\\n"``.
    endings : tuple of str
        One per candidate (unary) or per presented pair (binary).
    ending_labels : tuple
        Unary: the candidate name of each ending. Binary: ``(label shown as a, label shown as b)``.
    pairs : tuple of (int, int) or None
        Binary only: candidate indices ``(a, b)`` of each ending. Forward pairs ``i < j``
        first; with ``both_orders`` their swaps ``(j, i)`` follow in the same order.
    targets : mapping of str to tuple of str
        Answer word -> token strings whose next-token scores to read (:func:`breakdown_targets`).
    """

    kind: Kind
    header_and_demos: str
    question: str
    endings: tuple[str, ...]
    ending_labels: tuple
    targets: Mapping[str, tuple[str, ...]]
    pairs: tuple[tuple[int, int], ...] | None = None

    def texts(self) -> list[str]:
        """The full prompt strings, one per ending."""
        return [self.header_and_demos + self.question + e for e in self.endings]


def breakdown_targets(kind: Kind, token_form: TokenForm = "fixed") -> dict[str, tuple[str, ...]]:
    """Target strings to score after each ending, per answer word.

    >>> breakdown_targets("binary", "faithful")
    {'a': ('a',), 'b': ('b',)}
    """
    try:
        return {k: tuple(v) for k, v in _TARGETS[(kind, token_form)].items()}
    except KeyError:
        raise ValueError(
            f"unknown kind/token_form {kind!r}/{token_form!r}; use 'unary'|'binary' and 'fixed'|'faithful'"
        ) from None


def build_question(text: str) -> str:
    """``"Question: {text}\\n"``, the per-item segment."""
    return f"Question: {text}\n"


def _answer_space(token_form: TokenForm) -> str:
    if token_form not in ("fixed", "faithful"):
        raise ValueError(f"unknown token_form {token_form!r}; use 'fixed' or 'faithful'")
    return " " if token_form == "faithful" else ""


def _gold(demo: Example, label_set: LabelSet) -> list[str]:
    """The demo's gold labels in label-set order (validated)."""
    if demo.gold is None:
        raise LabeldistError(
            f"demonstration {demo.id!r} has no gold labels",
            "breakdown demos need gold labels; sample them from a split that has them",
        )
    idx = sorted({label_set.index(g) for g in demo.gold})
    if not idx and not label_set.multilabel:
        raise LabeldistError(
            f"demonstration {demo.id!r} has no label in a single-label set", "drop it from the demo pool"
        )
    return [label_set.labels[i] for i in idx]


def _pick(options: Sequence[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _right(gold: list[str], rng: np.random.Generator) -> str:
    """A random gold label, or ``none`` for a demo without labels."""
    return _pick(gold, rng) if gold else NONE_LABEL


def _wrong(gold: list[str], label_set: LabelSet, rng: np.random.Generator, *, faithful_none_bug: bool) -> str:
    """A random candidate that is not a right answer for the demo (``none`` if none is left)."""
    excluded = set(gold) if (gold or faithful_none_bug) else {NONE_LABEL}
    pool = [c for c in label_set.candidates if c not in excluded]
    return _pick(pool, rng) if pool else NONE_LABEL


def build_unary_header(
    demos: Sequence[Example], label_set: LabelSet, rng: np.random.Generator, *, faithful_none_bug: bool = False
) -> str:
    """Instruction plus one ``Question/Label/Is the label reasonable`` block per demo.

    Parameters
    ----------
    demos : sequence of Example
        Already sampled, in prompt order; each needs ``gold``.
    label_set : LabelSet
    rng : numpy.random.Generator
        Draw order: odd-``n`` coin flip, mark permutation, then per demo one label.
    faithful_none_bug : bool, default False
        Let a demo without gold labels show ``none`` as unreasonable (reference bug).

    Returns
    -------
    str
    """
    n = len(demos)
    n_reasonable = n // 2 + (1 if n % 2 and rng.random() < 0.5 else 0)
    marks = rng.permutation(np.array([True] * n_reasonable + [False] * (n - n_reasonable), dtype=bool))
    blocks = [UNARY_HEADER]
    for demo, reasonable in zip(demos, marks):
        gold = _gold(demo, label_set)
        label = _right(gold, rng) if reasonable else _wrong(gold, label_set, rng, faithful_none_bug=faithful_none_bug)
        mark = "reasonable" if reasonable else "unreasonable"
        blocks.append(f"Question: {demo.text}\nLabel: {label}\nIs the label reasonable: {mark}\n\n")
    return "".join(blocks)


def build_binary_header(
    demos: Sequence[Example], label_set: LabelSet, rng: np.random.Generator, *, faithful_none_bug: bool = False
) -> str:
    """Instruction plus one ``Question/a./b./Correct Label`` block per demo.

    Per demo the draws are: a gold label, a wrong candidate, then a coin (< 0.5: gold shown
    as ``a``). Other parameters as in :func:`build_unary_header`.
    """
    blocks = [BINARY_HEADER]
    for demo in demos:
        gold = _gold(demo, label_set)
        right = _right(gold, rng)
        wrong = _wrong(gold, label_set, rng, faithful_none_bug=faithful_none_bug)
        if rng.random() < 0.5:
            blocks.append(f"Question: {demo.text}\na. {right}\nb. {wrong}\nCorrect Label: a\n\n")
        else:
            blocks.append(f"Question: {demo.text}\na. {wrong}\nb. {right}\nCorrect Label: b\n\n")
    return "".join(blocks)


def build_unary_prompt(
    text: str, header_and_demos: str, label_set: LabelSet, *, token_form: TokenForm = "fixed"
) -> BreakdownPrompt:
    """One item's unary prompt: one ending per candidate in ``label_set.candidates`` order.

    >>> p = build_unary_prompt("hi", "H\\n\\n", LabelSet(("joy",)))
    >>> p.texts()[1]
    'H\\n\\nQuestion: hi\\nLabel: none\\nIs the label reasonable:'
    """
    space = _answer_space(token_form)
    cands = label_set.candidates
    endings = tuple(f"Label: {c}\nIs the label reasonable:{space}" for c in cands)
    return BreakdownPrompt("unary", header_and_demos, build_question(text), endings, cands,
                           breakdown_targets("unary", token_form))


def binary_pairs(
    label_set: LabelSet, *, both_orders: bool = False, max_pairs: int = DEFAULT_MAX_PAIRS
) -> list[tuple[int, int]]:
    """Candidate index pairs ``(a, b)`` to prompt: all ``i < j``, then their swaps if ``both_orders``.

    Raises :class:`LabeldistError` when ``C(n_candidates, 2) > max_pairs``.

    >>> binary_pairs(LabelSet(("x", "y")), both_orders=True)
    [(0, 1), (0, 2), (1, 2), (1, 0), (2, 0), (2, 1)]
    """
    n = len(label_set.candidates)
    n_pairs = math.comb(n, 2)
    if n_pairs > max_pairs:
        n_prompts = n_pairs * (2 if both_orders else 1)
        raise LabeldistError(
            f"binary breakdown over {n} candidates needs {n_prompts} prompts per item "
            f"({n_pairs} pairs), above the limit of {max_pairs} pairs",
            f"pass --max-binary-pairs {n_pairs} to allow it, or use the unary method",
        )
    forward = list(combinations(range(n), 2))
    return forward + [(j, i) for i, j in forward] if both_orders else forward


def build_binary_prompt(
    text: str,
    header_and_demos: str,
    label_set: LabelSet,
    *,
    token_form: TokenForm = "fixed",
    both_orders: bool = False,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> BreakdownPrompt:
    """One item's binary prompt: one ending per pair of :func:`binary_pairs`.

    >>> p = build_binary_prompt("hi", "", LabelSet(("joy",)), token_form="faithful")
    >>> p.endings
    ('a. joy\\nb. none\\nCorrect Label: ',)
    """
    space = _answer_space(token_form)
    cands = label_set.candidates
    pairs = tuple(binary_pairs(label_set, both_orders=both_orders, max_pairs=max_pairs))
    labels = tuple((cands[i], cands[j]) for i, j in pairs)
    endings = tuple(f"a. {x}\nb. {y}\nCorrect Label:{space}" for x, y in labels)
    return BreakdownPrompt("binary", header_and_demos, build_question(text), endings, labels,
                           breakdown_targets("binary", token_form), pairs)
