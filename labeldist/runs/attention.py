"""``labeldist run --attention``: region masses of the attention of every label step after the first (Table 6).

For an example with label steps at generated indices j_1 < j_2 < ..., the label token at j_k
(k >= 2) is predicted by the query at absolute position P + j_k − 1 (P = prompt length, the
answer's opening included under constrained decoding). The backend returns that query's row A
of shape (n_layers, n_heads, n_keys) (:meth:`labeldist.backends.hf.HFBackend.attention_rows`);
what is stored is, for each region S, the mass

    M(S) = mean_layers( mean_heads( Σ_{k∈S} A[layer, head, k] ) )

with ``input`` = [0, P), ``generated`` = [P, P + j_k), ``labels`` = {P + j_i : i < k} (the earlier
label tokens themselves) and ``labels_reference`` = {P + j_i − 1 : i <= k}, the reference's set:
the token before each label, the query itself included — its off-by-one. These are the
definitions of :func:`labeldist.analyses.attention.label_step_attention`, restated here because
the runner sits below the analyses layer; a test pins the two to the same numbers.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.records import ExampleRecord, PromptIds
from labeldist.records.attention import StepAttention


def _mass(row: np.ndarray, keys) -> float:
    # row: (n_layers, n_heads, n_keys) -> sum over the region's keys, mean over heads, then over layers
    return float(row[:, :, keys].sum(axis=-1).mean(axis=-1).mean())


def step_attention(row, prompt_len: int, positions: Sequence[int], k: int) -> StepAttention:
    """Region masses of label step ``k`` (0-based, >= 1) from its query's row.

    Parameters
    ----------
    row : array of shape (n_layers, n_heads, n_keys), n_keys >= prompt_len + positions[k]
        Keys from ``prompt_len + positions[k]`` on are ignored (causally masked).
    prompt_len : int
        P.
    positions : sequence of int
        Generated indices of all the example's label steps, ascending.
    k : int
        Which step.
    """
    a = np.asarray(row, dtype=np.float64)
    pos = [int(p) for p in positions]
    if not 1 <= k < len(pos) or any(b <= a_ for a_, b in zip(pos, pos[1:])):
        raise LabeldistError(f"step {k} of label positions {pos} is not a later step of an ascending list",
                             "pass the label steps' generated indices in order and k >= 1")
    P, j = int(prompt_len), pos[k]
    if a.ndim != 3 or a.shape[2] < P + j:
        raise LabeldistError(f"attention row of shape {a.shape} does not cover the {P + j} keys before label step {k}",
                             "pass the predicting query's full causal row from every layer and head")
    fixed = [P + p for p in pos[:k]]
    reference = [P + p - 1 for p in pos[: k + 1]]
    return StepAttention(step=k, position=j, prompt_len=P, input=_mass(a, slice(0, P)),
                         generated=_mass(a, slice(P, P + j)), labels=_mass(a, fixed),
                         labels_reference=_mass(a, reference), n_input=P, n_generated=j, n_labels=len(fixed),
                         n_labels_reference=len(reference))


def attach_attention(backend, prompts: Sequence[PromptIds], records: Sequence[ExampleRecord]) -> None:
    """Fill ``rec.attention`` for every record with two or more label steps (one backend call each)."""
    if not callable(getattr(backend, "attention_rows", None)):
        raise LabeldistError(f"backend {type(backend).__name__} cannot return attention weights",
                             "use the local transformers backend (--backend hf) for --attention")
    for prompt, rec in zip(prompts, records):
        rec.attention = []
        if rec.generation is None or len(rec.steps) < 2:
            continue
        P = len(prompt)
        positions = [s.position for s in rec.steps]
        rows = backend.attention_rows(prompt, rec.generation.ids, [P + j - 1 for j in positions[1:]])
        rec.attention = [step_attention(row, P, positions, k) for k, row in enumerate(rows, start=1)]
