"""Conditional and joint label probabilities on the greedy answer (Praharaj & Kasundra, 2025).

Both read the greedy answer's per-token log-probabilities ``lp[t] = log p(ids[t] | prompt,
ids[:t])`` (full-vocabulary softmax, the model's own probabilities, not renormalised over
the grammar) and the label spans of :mod:`labeldist.labels.spans` (label ``l`` written as
``ids[s_l:e_l]``, first occurrence). Labels that are not written get 0.

* conditional: ``P_l = Π_{t=s_l}^{e_l - 1} p_t`` — the probability of the label's own
  tokens where it is written (all of them, so a multi-token or digit-split code such as
  ``S`` ``1`` ``0`` is scored as a whole; the reference scored only the completing token).
* joint, ``variant="path"`` (default): ``P_l = Π_{t=0}^{e_l - 1} p_t`` — the probability of
  the answer path up to and including the label's last token. Under constrained decoding
  the answer's opening is part of the prompt, so the path starts after it (at the first
  label slot); under free decoding it starts at the first generated token.
* joint, ``variant="label_tokens"``: the reference's running product of label tokens only,
  ``P_{l_k} = Π_{j≤k} Π_{t=s_{l_j}}^{e_{l_j} - 1} p_t`` over the labels in answer order
  (separators and the opening are skipped, so it is not a path probability).

A label span that holds a token without a log-probability (NaN: no forward ran for it)
makes the method unavailable for the example (None, the registry's fallback).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.records import LabelSet, LabelSpan

#: Joint variants: the path probability (default) or the reference's label-tokens product.
JOINT_VARIANTS = ("path", "label_tokens")


def _first_spans(spans: Sequence[LabelSpan], label_set: LabelSet) -> list[tuple[int, LabelSpan]]:
    """(label column, span) of each real label's first occurrence, in answer order."""
    index = {l: j for j, l in enumerate(label_set.labels)}
    out, seen = [], set()
    for sp in spans:
        j = index.get(sp.label)
        if j is not None and j not in seen:
            seen.add(j)
            out.append((j, sp))
    return out


def _logprobs(token_logprobs: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if x is None else float(x) for x in token_logprobs], dtype=np.float64)


def conditional_probs(token_logprobs: Sequence[float | None], spans: Sequence[LabelSpan],
                      label_set: LabelSet) -> np.ndarray | None:
    """``P_l = Π_{t∈span(l)} p_t`` for written labels, 0 otherwise; shape (n_labels,).

    >>> from labeldist.records import LabelSet, LabelSpan
    >>> ls = LabelSet(("joy", "fear"))
    >>> lp = np.log([0.5, 0.8, 0.9, 0.6, 1.0])   # 'jo' 'y' '", "' 'fear' '"]}'
    >>> conditional_probs(lp, [LabelSpan("joy", 0, 2), LabelSpan("fear", 3, 4)], ls).round(3)
    array([0.4, 0.6])
    """
    lp = _logprobs(token_logprobs)
    out = np.zeros(label_set.n_labels)
    for j, sp in _first_spans(spans, label_set):
        s = lp[sp.start:sp.end]
        if np.isnan(s).any():
            return None
        out[j] = np.exp(s.sum())
    return out


def joint_probs(token_logprobs: Sequence[float | None], spans: Sequence[LabelSpan], label_set: LabelSet, *,
                variant: str = "path") -> np.ndarray | None:
    """Joint probability of each written label on the greedy path, 0 otherwise; shape (n_labels,).

    >>> from labeldist.records import LabelSet, LabelSpan
    >>> ls = LabelSet(("joy", "fear"))
    >>> lp = np.log([0.5, 0.8, 0.9, 0.6, 1.0])
    >>> sp = [LabelSpan("joy", 0, 2), LabelSpan("fear", 3, 4)]
    >>> joint_probs(lp, sp, ls).round(4)                          # 0.5*0.8 ; 0.5*0.8*0.9*0.6
    array([0.4  , 0.216])
    >>> joint_probs(lp, sp, ls, variant="label_tokens").round(4)  # 0.5*0.8 ; 0.4*0.6
    array([0.4 , 0.24])
    """
    if variant not in JOINT_VARIANTS:
        raise ValueError(f"unknown joint variant {variant!r}; use one of {', '.join(JOINT_VARIANTS)}")
    lp = _logprobs(token_logprobs)
    out = np.zeros(label_set.n_labels)
    running = 0.0
    for j, sp in _first_spans(spans, label_set):
        s = lp[:sp.end] if variant == "path" else lp[sp.start:sp.end]
        if np.isnan(s).any():
            return None
        if variant == "path":
            out[j] = np.exp(s.sum())
        else:
            running += s.sum()
            out[j] = np.exp(running)
    return out
