"""Find where labels start in generated ids and read the per-step label distributions there.

Positions come straight from the generated ids (the reference re-tokenised the decoded
text, which can misalign ids and score steps). Only the answer span counts: generation is
cut at the first stop string and after the answer closes (see
:func:`labeldist.labels.parsing.answer_end`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from labeldist.labels.tokens import LabelTokenMap
from labeldist.records import StepScores


def kept_length(ids: Sequence[int], decode: Callable[[Sequence[int]], str], end_char: int) -> int:
    """Number of leading ids whose decoded text lies within ``text[:end_char]``.

    The token that crosses ``end_char`` is kept (it carries the answer's last character).
    """
    for j in range(1, len(ids) + 1):
        if len(decode(ids[:j])) >= end_char:
            return j
    return len(ids)


def cut_answer(text: str, stop: Sequence[str], end_fn: Callable[[str], int]) -> int:
    """Character offset where the answer ends: the first stop string or the format's end."""
    end = len(text)
    for s in stop:
        k = text.find(s)
        if 0 <= k < end:
            end = k
    return min(end, end_fn(text[:end]))


def extract_steps(
    ids: Sequence[int],
    candidate_scores: np.ndarray,
    token_map: LabelTokenMap,
    n_keep: int,
) -> list[StepScores]:
    """Per-step scores at every kept position whose generated token starts a candidate.

    Parameters
    ----------
    ids : generated ids, length T.
    candidate_scores : array, shape (T, len(token_map.flat_ids))
        Score of every variant id at every step.
    n_keep : only positions ``t < n_keep`` count.

    Each step's ``scores[c]`` = max over candidate ``c``'s variants (paper §3).
    """
    lookup = token_map.token_to_candidate()
    cols = token_map.columns
    steps = []
    for t in range(min(n_keep, len(ids))):
        c = lookup.get(int(ids[t]))
        if c is None:
            continue
        row = np.asarray(candidate_scores[t], dtype=np.float64)
        steps.append(
            StepScores(
                position=t,
                token_id=int(ids[t]),
                label=token_map.candidates[c],
                scores=np.array([row[s].max() for s in cols]),
                variants={cand: [float(x) for x in row[s]] for cand, s in zip(token_map.candidates, cols)},
            )
        )
    return steps
