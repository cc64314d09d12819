"""Per-step scores at the generated positions where a label starts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labeldist.numeric import softmax


@dataclass
class StepScores:
    """Scores at one generated position where a label starts.

    ``scores`` has shape ``(n_candidates,)`` in ``LabelSet.candidates`` order: for each
    candidate, the max over its token variants (case / leading space) of the logit.
    ``variants`` keeps every variant's raw score so other aggregations can be recomputed.

    Constrained answers only: ``outside_mass`` is the model's probability mass (full
    vocabulary softmax) on tokens the answer grammar did not allow at this slot, and
    ``overridden`` whether the model's own argmax was such a token.
    """

    position: int
    token_id: int
    label: str
    scores: np.ndarray
    variants: dict[str, list[float]] = field(default_factory=dict)
    outside_mass: float | None = None
    overridden: bool | None = None

    @property
    def probs(self) -> np.ndarray:
        """Softmax over the candidate set, shape ``(n_candidates,)``."""
        return softmax(self.scores)

    def to_dict(self) -> dict:
        return {
            "position": self.position,
            "token_id": self.token_id,
            "label": self.label,
            "scores": [float(x) for x in self.scores],
            "probs": [round(float(x), 8) for x in self.probs],
            "variants": {k: [float(x) for x in v] for k, v in self.variants.items()},
            **({} if self.outside_mass is None else {"outside_mass": float(self.outside_mass),
                                                      "overridden": bool(self.overridden)}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "StepScores":
        return cls(
            position=int(d["position"]),
            token_id=int(d["token_id"]),
            label=d["label"],
            scores=np.asarray(d["scores"], dtype=np.float64),
            variants={k: list(v) for k, v in d.get("variants", {}).items()},
            outside_mass=d.get("outside_mass"),
            overridden=d.get("overridden"),
        )
