"""Per-example run records: what one JSONL line of ``records.jsonl`` holds.

Everything an estimator needs is stored, so every method can be recomputed offline
without the model (``labeldist.estimators.recompute``).

JSON layout of one line::

    {"id": str, "text": str, "split": str|null,
     "gold": [label, ...] | null,                  # aggregate labels; [] = no label
     "human": {"probs": [L floats], "n_annotators": int|null, "kind": str} | null,
     "generation": {"text": str, "ids": [int], "parsed": [label], "unknown": [str],
                    "stop_reason": str} | null,
     "steps": [{"position": int, "token_id": int, "label": str,
                "scores": [L' floats],             # max over variants, candidates order
                "variants": {candidate: [float per variant]}}],
     "breakdown": {"unary": {...}, "binary": {...}},   # method-specific raw scores
     "methods": {method_name: [L floats]},         # per-label probabilities, labels order
     "cost": {"prompt_tokens": int, "forward_tokens": int, "generated_tokens": int, "prompts": int}}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labeldist.records import Example, HumanDistribution, StepScores, softmax  # noqa: F401 (re-exported)


@dataclass
class GenerationRecord:
    text: str
    ids: list[int]
    parsed: list[str]
    unknown: list[str]
    stop_reason: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> "GenerationRecord":
        return cls(d["text"], list(d["ids"]), list(d["parsed"]), list(d["unknown"]), d["stop_reason"])


@dataclass
class ExampleRecord:
    id: str
    text: str
    gold: list[str] | None = None
    human: HumanDistribution | None = None
    split: str | None = None
    generation: GenerationRecord | None = None
    steps: list[StepScores] = field(default_factory=list)
    breakdown: dict = field(default_factory=dict)
    methods: dict[str, list[float]] = field(default_factory=dict)
    cost: dict = field(default_factory=dict)

    @classmethod
    def from_example(cls, ex: Example) -> "ExampleRecord":
        return cls(
            id=ex.id,
            text=ex.text,
            gold=None if ex.gold is None else list(ex.gold),
            human=ex.human,
            split=ex.split,
        )

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "split": self.split,
            "gold": self.gold,
            "human": None if self.human is None else self.human.to_dict(),
            "generation": None if self.generation is None else self.generation.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "breakdown": self.breakdown,
            "methods": {k: [float(x) for x in v] for k, v in self.methods.items()},
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ExampleRecord":
        return cls(
            id=d["id"],
            text=d["text"],
            gold=d.get("gold"),
            human=None if d.get("human") is None else HumanDistribution.from_dict(d["human"]),
            split=d.get("split"),
            generation=None if d.get("generation") is None else GenerationRecord.from_dict(d["generation"]),
            steps=[StepScores.from_dict(s) for s in d.get("steps", [])],
            breakdown=d.get("breakdown", {}),
            methods={k: list(v) for k, v in d.get("methods", {}).items()},
            cost=d.get("cost", {}),
        )
