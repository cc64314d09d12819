"""Find where labels start in generated ids and read the per-step label distributions there.

Positions come straight from the generated ids (the reference re-tokenised the decoded
text, which can misalign ids and score steps). Only label slots *inside the answer* count:

* JSON: the quoted strings of the list that follows the key (``{"label": ["joy", "anger"]}``);
  a label start is the character after a string's opening quote;
* comma format: the answer line (the first line after leading whitespace); a label
  starts at its first non-space character and after each comma.

A generated token counts as a label position only if it covers such a start *and* is a
token variant of a candidate. A variant token anywhere else — in prose before the answer,
in an explanation after it, or when there is no answer at all — is never read (the
reference took the first variant token anywhere, so ``" F"`` in prose was read as *fear*).

Under constrained decoding (:mod:`labeldist.labels.grammar`) the slots are known by
construction and :func:`steps_at` reads them directly.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np

from labeldist.labels.tokens import LabelTokenMap
from labeldist.records import StepScores

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"?')


def kept_length(ids: Sequence[int], decode: Callable[[Sequence[int]], str], end_char: int) -> int:
    """Number of leading ids whose decoded text lies within ``text[:end_char]``.

    The token that crosses ``end_char`` is kept (it carries the answer's last character).
    """
    for j in range(1, len(ids) + 1):
        if len(decode(ids[:j])) >= end_char:
            return j
    return len(ids)


def cut_answer(text: str, stop: Sequence[str], end_fn: Callable[[str], int]) -> int:
    """Character offset where the answer ends: the first stop string or the format's end.

    A stop string that is the answer's own closing (the JSON ``}``) is kept in the answer.
    """
    end = len(text)
    for s in stop:
        k = text.find(s)
        if 0 <= k < end:
            end = k + (len(s) if s == "}" else 0)
    return min(end, end_fn(text[:end]))


def token_offsets(ids: Sequence[int], decode: Callable[[Sequence[int]], str]) -> list[int]:
    """Character offset where each token's text starts in ``decode(ids)`` (plus the total length last)."""
    out = [0]
    for j in range(1, len(ids) + 1):
        out.append(len(decode(ids[:j])))
    return out


def answer_label_starts(text: str, label_format: str, json_key: str = "label") -> list[int]:
    """Character offsets in ``text`` where a label of the answer starts (see the module docstring).

    >>> answer_label_starts('I think F.\\n{"label": ["joy", "fear"]}', "json")
    [23, 30]
    >>> answer_label_starts("Fear is bad", "json")
    []
    >>> answer_label_starts(" joy, fear\\nBecause", "comma")
    [1, 6]
    """
    if label_format == "json":
        brace = text.find("{")
        if brace < 0:
            return []
        key = text.find(f'"{json_key}"', brace)
        if key < 0:
            return []
        colon = text.find(":", key + len(json_key) + 2)
        bracket = text.find("[", colon) if colon >= 0 else -1
        if bracket < 0 or text[colon + 1 : bracket].strip():
            return []
        stop = len(text)
        for ch in "]}":
            k = text.find(ch, bracket)
            if k >= 0:
                stop = min(stop, k)
        return [m.start() + 1 for m in _QUOTED.finditer(text, bracket, stop)]
    if label_format == "comma":
        start = len(text) - len(text.lstrip())
        nl = text.find("\n", start)
        end = len(text) if nl < 0 else nl
        if start >= end:
            return []
        starts = [start]
        for k in range(start, end):
            if text[k] == ",":
                j = k + 1
                while j < end and text[j] == " ":
                    j += 1
                if j < end:
                    starts.append(j)
        return starts
    if label_format == "llamaguard":  # the codes on the line after "unsafe"
        start = len(text) - len(text.lstrip())
        nl = text.find("\n", start)
        if nl < 0 or text[start:nl].strip().lower() != "unsafe":
            return []
        return [nl + 1 + k for k in answer_label_starts(text[nl + 1:], "comma")]
    raise ValueError(f"unknown label format {label_format!r}")


def _step(t: int, ids: Sequence[int], candidate_scores: np.ndarray, token_map: LabelTokenMap, c: int,
          **extra) -> StepScores:
    row = np.asarray(candidate_scores[t], dtype=np.float64)
    cols = token_map.columns
    return StepScores(
        position=t,
        token_id=int(ids[t]),
        label=token_map.candidates[c],
        scores=np.array([row[s].max() for s in cols]),
        variants={cand: [float(x) for x in row[s]] for cand, s in zip(token_map.candidates, cols)},
        **extra,
    )


def extract_steps(
    ids: Sequence[int],
    candidate_scores: np.ndarray,
    token_map: LabelTokenMap,
    offsets: Sequence[int],
    label_starts: Sequence[int],
) -> list[StepScores]:
    """Per-step scores at the label starts of the answer (free decoding).

    Parameters
    ----------
    ids : generated ids, length T.
    candidate_scores : array, shape (T, len(token_map.flat_ids))
        Score of every variant id at every step.
    offsets : length T + 1
        :func:`token_offsets` of ``ids``.
    label_starts : character offsets of the answer's label starts (:func:`answer_label_starts`).

    Each step's ``scores[c]`` = max over candidate ``c``'s variants (paper §3).
    """
    lookup = token_map.token_to_candidate()
    steps = []
    for s in label_starts:
        t = next((j for j in range(len(ids)) if offsets[j] <= s < offsets[j + 1]), None)
        if t is None or (steps and steps[-1].position == t):
            continue
        c = lookup.get(int(ids[t]))
        if c is not None:
            steps.append(_step(t, ids, candidate_scores, token_map, c))
    return steps


def steps_at(
    ids: Sequence[int],
    candidate_scores: np.ndarray,
    token_map: LabelTokenMap,
    slots: np.ndarray,
    labels: Sequence[str],
    outside_mass: np.ndarray,
    overridden: np.ndarray,
) -> list[StepScores]:
    """Per-step scores at the label slots of a constrained answer; ``labels[k]`` is the candidate
    chosen at the k-th slot (from the grammar), which names the step."""
    positions = np.flatnonzero(slots)
    cand = {c: i for i, c in enumerate(token_map.candidates)}
    out = []
    for t, lab in zip(positions, labels):
        mass = float(outside_mass[t])
        out.append(_step(int(t), ids, candidate_scores, token_map, cand[lab],
                         outside_mass=None if np.isnan(mass) else mass,  # forced slot / bounded scores: unknown
                         overridden=bool(overridden[t])))
    return out
