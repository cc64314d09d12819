"""Attention of a later label step to the input, to earlier generated tokens and to earlier labels (Table 6).

Positions: the prompt has P tokens (keys 0..P−1); generated token j sits at absolute position P + j.
The label token at generated index j is predicted by the query at position P + j − 1, whose causal
attention row covers keys [0, P + j). For such a step (not the first label) and its row A of shape
(n_layers, n_heads, n_keys), the mass on a key set S is

    M(S) = mean_layers( mean_heads( Σ_{k∈S} A[layer, head, k] ) ),

for three regions (REFERENCE.md §8.6, REFERENCE-METHODS-2.md §2.5):

* ``input`` = [0, P): the whole prompt (instruction, demos, query; BOS included), count P;
* ``generated`` = [P, P + j): every earlier generated token (JSON punctuation included), count j;
* ``labels`` = {P + k : k an earlier label position, k < j}: the earlier label tokens themselves.

The reference used {P + k − 1 : k a label position, k <= j} for the last region — the token *before*
each label's first token, the current query token included — which looks like an off-by-one; it is
available as ``label_keys="reference"`` (for a label at generated index 0 that set's key P − 1 is
the prompt's last token, which the input region also counts). Both the raw mass M(S) and the reference's per-token
normalisation M(S) / |S| are returned; the per-token value favours the short generated regions over
a prompt of ~1000 tokens by construction, so read it together with the raw mass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from labeldist.errors import LabeldistError

LabelKeys = Literal["fixed", "reference"]


@dataclass(frozen=True)
class AttentionShares:
    """Attention masses of one label step (fractions of the query's attention, in [0, 1]).

    ``input + generated`` is the whole row's mass when rows sum to 1; ``labels`` is a subset of
    ``generated`` with the fixed key set. ``per_token(region)`` = mass / count.
    """

    input: float
    generated: float
    labels: float
    n_input: int
    n_generated: int
    n_labels: int
    label_keys: str

    def per_token(self, region: str) -> float:
        """Mass divided by the region's key count (the reference's "average attention per token")."""
        mass, count = {"input": (self.input, self.n_input), "generated": (self.generated, self.n_generated),
                       "labels": (self.labels, self.n_labels)}[region]
        return mass / count if count else float("nan")


def label_key_positions(prompt_len: int, label_positions: Sequence[int], target: int,
                        label_keys: LabelKeys = "fixed") -> list[int]:
    """Absolute key positions of the ``labels`` region for the label at generated index ``target``.

    ``"fixed"``: {P + k : k in label_positions, k < target}. ``"reference"``: {P + k − 1 : k in
    label_positions, k <= target} (the reference's set: one earlier, current query included).

    Examples
    --------
    >>> label_key_positions(10, [1, 4, 7], 7), label_key_positions(10, [1, 4, 7], 7, "reference")
    ([11, 14], [10, 13, 16])
    """
    if label_keys == "fixed":
        return [prompt_len + k for k in sorted(label_positions) if k < target]
    if label_keys == "reference":
        return [prompt_len + k - 1 for k in sorted(label_positions) if k <= target]
    raise LabeldistError(f"unknown label_keys {label_keys!r}", "use 'fixed' or 'reference'")


def _mass(attn: np.ndarray, keys) -> float:
    # attn: (n_layers, n_heads, n_keys) -> sum over keys, mean over heads, then mean over layers
    return float(attn[:, :, keys].sum(axis=-1).mean(axis=-1).mean())


def label_step_attention(attn, prompt_len: int, label_positions: Sequence[int], target: int, *,
                         label_keys: LabelKeys = "fixed") -> AttentionShares:
    """Attention masses of the query that predicts the label token at generated index ``target``.

    Parameters
    ----------
    attn : array of shape (n_layers, n_heads, n_keys)
        That query's attention rows (query position P + target − 1); n_keys >= P + target. Keys
        from P + target on are ignored (causally masked).
    prompt_len : int
        P, the number of prompt tokens.
    label_positions : sequence of int
        Generated indices where a label starts (the label steps' positions), ``target`` among them
        and not the first.
    target : int
    label_keys : {"fixed", "reference"}, default="fixed"
        Key set of the ``labels`` region (see the module docstring).

    Examples
    --------
    >>> a = np.full((1, 1, 6), 1 / 6)   # P = 4 prompt keys, target label at generated index 2
    >>> s = label_step_attention(a, 4, [0, 2], 2)
    >>> round(s.input, 4), round(s.generated, 4), round(s.labels, 4), s.n_labels
    (0.6667, 0.3333, 0.1667, 1)
    """
    a = np.asarray(attn, dtype=np.float64)
    if a.ndim != 3:
        raise LabeldistError(f"attention must have shape (n_layers, n_heads, n_keys); got {a.shape}",
                             "pass the predicting query's row from every layer and head")
    positions = sorted(int(k) for k in label_positions)
    if target not in positions or target == positions[0]:
        raise LabeldistError(f"target {target} must be a label position after the first of {positions}",
                             "pass a later label step (the first has no earlier labels)")
    if prompt_len < 1 or a.shape[2] < prompt_len + target:
        raise LabeldistError(f"attention has {a.shape[2]} keys; the query predicting generated index {target} "
                             f"after a {prompt_len}-token prompt sees {prompt_len + target}",
                             "pass the full causal row (keys [0, P + target))")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise LabeldistError("attention holds negative or non-finite weights", "pass softmax attention probabilities")
    lab = label_key_positions(prompt_len, positions, target, label_keys)
    return AttentionShares(
        input=_mass(a, slice(0, prompt_len)), generated=_mass(a, slice(prompt_len, prompt_len + target)),
        labels=_mass(a, lab) if lab else 0.0, n_input=prompt_len, n_generated=target, n_labels=len(lab),
        label_keys=label_keys,
    )


@dataclass(frozen=True)
class AttentionSummary:
    """Means over label steps (pooled over examples), as Table 6.

    ``mass_*``: mean raw mass; ``per_token_*``: mean of mass / count (the reference's numbers;
    Table 6 prints them ×100 as percentages).
    """

    n_steps: int
    mass_input: float
    mass_generated: float
    mass_labels: float
    per_token_input: float
    per_token_generated: float
    per_token_labels: float
    label_keys: str


def summarize_attention(shares: Sequence[AttentionShares]) -> AttentionSummary:
    """Average :class:`AttentionShares` over all label steps of all examples."""
    if not shares:
        raise LabeldistError("no label steps with attention", "collect attention at label steps after the first")
    kinds = {s.label_keys for s in shares}
    if len(kinds) != 1:
        raise LabeldistError(f"attention shares mix label key sets {sorted(kinds)}", "use one label_keys setting")

    def mean(xs):
        return float(np.nanmean(xs))

    return AttentionSummary(
        n_steps=len(shares),
        mass_input=mean([s.input for s in shares]), mass_generated=mean([s.generated for s in shares]),
        mass_labels=mean([s.labels for s in shares]),
        per_token_input=mean([s.per_token("input") for s in shares]),
        per_token_generated=mean([s.per_token("generated") for s in shares]),
        per_token_labels=mean([s.per_token("labels") for s in shares]),
        label_keys=kinds.pop(),
    )
