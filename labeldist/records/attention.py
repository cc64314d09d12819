"""Attention of a later label step, reduced to region masses: what a run stores for Table 6.

A run made with ``--attention`` keeps, for each label step after the first, how much of the
attention of the query that predicts the step's label token falls on three key regions
(``labeldist.analyses.attention`` defines them): the prompt (``input``), every earlier generated
token (``generated``) and the earlier label tokens themselves (``labels``); ``labels_reference``
is the reference's key set, one position earlier and with the query itself (its off-by-one).
Each mass is mean over layers of mean over heads of Σ_{k in region} A[layer, head, k]; the
attention tensors themselves are never stored.

JSON (one entry of a record's ``attention`` list)::

    {"step": int, "position": int, "prompt_len": int,
     "input": float, "generated": float, "labels": float, "labels_reference": float,
     "n_input": int, "n_generated": int, "n_labels": int, "n_labels_reference": int,
     "per_token": {"input": float, "generated": float, "labels": float, "labels_reference": float}}

``per_token`` (mass / key count, the reference's normalisation) is written for readers of the
file and recomputed on reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Region names, in table order.
ATTENTION_REGIONS = ("input", "generated", "labels", "labels_reference")


@dataclass(frozen=True)
class StepAttention:
    """Region masses of the query predicting ``ExampleRecord.steps[step]`` (``step >= 1``).

    ``position`` is the label token's generated index j; the query sits at absolute position
    ``prompt_len + j - 1``. Masses are fractions of that query's attention, in [0, 1];
    ``input + generated`` is 1 up to rounding (the causal row), ``labels`` is part of ``generated``.
    """

    step: int
    position: int
    prompt_len: int
    input: float
    generated: float
    labels: float
    labels_reference: float
    n_input: int
    n_generated: int
    n_labels: int
    n_labels_reference: int

    def mass(self, region: str) -> float:
        return float(getattr(self, _check(region)))

    def count(self, region: str) -> int:
        return int(getattr(self, "n_" + _check(region)))

    def per_token(self, region: str) -> float:
        """Mass divided by the region's key count (NaN for an empty region)."""
        n = self.count(region)
        return self.mass(region) / n if n else math.nan

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["per_token"] = {r: _json_float(self.per_token(r)) for r in ATTENTION_REGIONS}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StepAttention":
        return cls(**{k: int(d[k]) if k in _INT_FIELDS or k.startswith("n_") else float(d[k])
                      for k in cls.__dataclass_fields__})


_INT_FIELDS = ("step", "position", "prompt_len")


def _check(region: str) -> str:
    if region not in ATTENTION_REGIONS:
        raise KeyError(f"unknown attention region {region!r}; use one of {', '.join(ATTENTION_REGIONS)}")
    return region


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) else float(x)
