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
    """

    position: int
    token_id: int
    label: str
    scores: np.ndarray
    variants: dict[str, list[float]] = field(default_factory=dict)

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
        }

    @classmethod
    def from_dict(cls, d: dict) -> "StepScores":
        return cls(
            position=int(d["position"]),
            token_id=int(d["token_id"]),
            label=d["label"],
            scores=np.asarray(d["scores"], dtype=np.float64),
            variants={k: list(v) for k, v in d.get("variants", {}).items()},
        )
