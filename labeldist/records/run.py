"""Per-example run records: what one JSON line of ``records.jsonl`` holds.

Everything an estimator reads is stored, so every registered method can be recomputed
offline from the records, without the model (``labeldist.methods.apply_methods``).

JSON layout of one line (layout version 2)::

    {"id": str, "text": str, "split": str|null,
     "gold": [label, ...] | null,                  # aggregate labels; [] = no label
     "human": {"probs": [L floats], "n_annotators": int|null, "kind": str} | null,
     "generation": {"text": str, "ids": [int], "parsed": [label], "unknown": [str],
                    "stop_reason": str, "prefilled": str,   # the answer's opening, in the prompt
                    "token_logprobs": [float|null] | null,  # full-vocabulary log p of each generated id
                    "grammar_logprobs": [float|null] | null,  # constrained: log p renormalised over the grammar
                    "label_spans": [{"label": str, "start": int, "end": int}] | null,
                    "diagnostics": {"well_formed": bool, "scored_values": int,
                                    "bounded_scores": int, "constrained": bool}} | null,
     "steps": [{"position": int, "token_id": int, "label": str,
                "scores": [L' floats],             # max over variants, candidates order
                "variants": {candidate: [float per variant]},
                "outside_mass": float, "overridden": bool}],   # constrained answers only
     "unary": {"candidates": [str], "scores": {word: [[float]]}, "p_reasonable": [float],
               "scored_values": int, "bounded_scores": int} | null,
     "binary": {"pairs": [[int, int]], "scores": {word: [[float]]}, "pair_probs": [float],
                "position_disagreement": float|null,
                "scored_values": int, "bounded_scores": int} | null,
     "marginal": {"lower": [L], "upper": [L], "estimate": [L], ...} | null,   # labeldist.records.marginal
     "artefact_probs": {method: [L floats]},       # supervised methods: the fitted model's output
     "adapted": {"generation": {...}, "steps": [...]} | null,   # the LoRA-adapted model's answer (SFT)
     "methods": {method: [L floats]},              # per-label probabilities, labels order
     "method_diagnostics": {method: {"fallback": bool}},
     "cost": {stage: {"prompts": int, "prompt_tokens": int, "forward_tokens": int,
                      "generated_tokens": int}},
     "calibrated": {method: [L floats]},           # only with --calibration: the calibrated probabilities
     "predicted": {method: [label, ...]},          # only with thresholds: labels l with p_l >= t_l
     "attention": [StepAttention, ...]}            # only runs made with --attention

``calibrated`` and ``predicted`` are written only when a calibration or thresholds were
applied (``labeldist classify/run --calibration DIR --thresholds FILE``); a record without
them reads back with empty dicts.

Layout version 1 (runs made before the method registry) kept generation diagnostics and
the breakdown scores together in one untyped ``breakdown`` dict and did not store
fallbacks; :meth:`ExampleRecord.from_dict` reads it (``version=1``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from labeldist.records.attention import StepAttention
from labeldist.records.examples import Example, HumanDistribution
from labeldist.records.marginal import LabelSpan, MarginalScores
from labeldist.records.steps import StepScores


@dataclass
class GenerationDiagnostics:
    """How far the generated answer's label steps can be trusted.

    ``scored_values`` counts the candidate scores read at label steps; ``bounded_scores``
    how many of them are only upper bounds (a served model's top-k lacked the token).
    """

    well_formed: bool = True
    scored_values: int = 0
    bounded_scores: int = 0
    constrained: bool = False  # the answer was generated under the answer grammar


@dataclass
class GenerationRecord:
    """The greedy answer: decoded text, generated ids, parsed labels and why it stopped.

    ``prefilled`` is the answer's opening that was part of the prompt (constrained
    decoding: e.g. ``\n{"label": ["``); the whole answer is ``prefilled + text``.

    ``token_logprobs[t]`` is the full-vocabulary log-softmax of ``ids[t]`` at its step
    (None where the backend ran no forward for it: the forced tokens that close a
    constrained answer); ``label_spans`` are the labels written in the answer with their
    token positions in ``ids`` (:class:`~labeldist.records.marginal.LabelSpan`).
    ``grammar_logprobs`` (constrained answers) are the same tokens' log-probabilities under the
    constrained sampler: renormalised over the tokens the grammar allowed, 0 for forced tokens.
    They are None in records written before they existed; the token-level methods then fall back.
    """

    text: str
    ids: list[int]
    parsed: list[str]
    unknown: list[str]
    stop_reason: str
    diagnostics: GenerationDiagnostics = field(default_factory=GenerationDiagnostics)
    prefilled: str = ""
    token_logprobs: list[float | None] | None = None
    label_spans: list[LabelSpan] | None = None
    grammar_logprobs: list[float | None] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GenerationRecord":
        diag = d.get("diagnostics") or {}
        spans = d.get("label_spans")
        return cls(d["text"], list(d["ids"]), list(d["parsed"]), list(d["unknown"]), d["stop_reason"],
                   GenerationDiagnostics(**diag), d.get("prefilled", ""),
                   None if d.get("token_logprobs") is None else list(d["token_logprobs"]),
                   None if spans is None else [LabelSpan(**x) for x in spans],
                   None if d.get("grammar_logprobs") is None else list(d["grammar_logprobs"]))


@dataclass
class UnaryScores:
    """Raw next-token scores of the unary breakdown prompts of one item.

    ``scores[word]`` has shape (n_candidates, n_variants): the scores of the variants of
    ``word`` (``reasonable`` / ``unreasonable``) after each candidate's ending, candidates
    in ``candidates`` order (``LabelSet.candidates``); ``p_reasonable[c]`` =
    σ(max variant score of ``reasonable`` − that of ``unreasonable``) per candidate.
    """

    candidates: list[str]
    scores: dict[str, list[list[float]]]
    p_reasonable: list[float]
    scored_values: int = 0
    bounded_scores: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "UnaryScores":
        return cls(list(d["candidates"]), {k: [list(r) for r in v] for k, v in d["scores"].items()},
                   list(d["p_reasonable"]), int(d.get("scored_values", 0)), int(d.get("bounded_scores", 0)))


@dataclass
class BinaryScores:
    """Raw next-token scores of the binary breakdown prompts of one item.

    ``pairs[k] = (i, j)``: prompt ``k`` showed candidate ``i`` as ``a`` and ``j`` as ``b``;
    forward pairs ``i < j`` first, then (when both orders were asked) their swaps in the
    same order. ``scores[word]`` has shape (n_prompts, n_variants). ``pair_probs[k]`` =
    P(i beats j) per forward pair, averaged over both orders when both were asked;
    ``position_disagreement`` = share of pairs whose two orders pick different winners
    (None with one order).
    """

    pairs: list[list[int]]
    scores: dict[str, list[list[float]]]
    pair_probs: list[float]
    position_disagreement: float | None = None
    scored_values: int = 0
    bounded_scores: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "BinaryScores":
        return cls([list(p) for p in d["pairs"]], {k: [list(r) for r in v] for k, v in d["scores"].items()},
                   list(d["pair_probs"]), d.get("position_disagreement"), int(d.get("scored_values", 0)),
                   int(d.get("bounded_scores", 0)))


@dataclass
class AdaptedGeneration:
    """The greedy answer of the LoRA-adapted model (the SFT methods read it like the base answer)."""

    generation: GenerationRecord
    steps: list[StepScores] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"generation": self.generation.to_dict(), "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, d: dict) -> "AdaptedGeneration":
        return cls(GenerationRecord.from_dict(d["generation"]), [StepScores.from_dict(s) for s in d.get("steps", [])])


@dataclass
class MethodDiagnostics:
    """Per method and example: ``fallback`` is True when the method had nothing to read and the
    example got the no-label fallback (1/L′ per label), which runs count and report."""

    fallback: bool = False


@dataclass
class StageCost:
    """Work one pipeline stage (generation, unary, binary, ...) spent on one example."""

    prompts: int = 0
    prompt_tokens: int = 0
    forward_tokens: int = 0
    generated_tokens: int = 0


@dataclass
class ExampleRecord:
    """Everything recorded about one example; see the module docstring for the JSON layout."""

    id: str
    text: str
    gold: list[str] | None = None
    human: HumanDistribution | None = None
    split: str | None = None
    generation: GenerationRecord | None = None
    steps: list[StepScores] = field(default_factory=list)
    unary: UnaryScores | None = None
    binary: BinaryScores | None = None
    marginal: MarginalScores | None = None
    artefact_probs: dict[str, list[float]] = field(default_factory=dict)
    adapted: AdaptedGeneration | None = None
    methods: dict[str, list[float]] = field(default_factory=dict)
    method_diagnostics: dict[str, MethodDiagnostics] = field(default_factory=dict)
    cost: dict[str, StageCost] = field(default_factory=dict)
    calibrated: dict[str, list[float]] = field(default_factory=dict)
    predicted: dict[str, list[str]] = field(default_factory=dict)
    attention: list[StepAttention] = field(default_factory=list)  # --attention: label steps after the first

    @classmethod
    def from_example(cls, ex: Example) -> "ExampleRecord":
        return cls(id=ex.id, text=ex.text, gold=None if ex.gold is None else list(ex.gold), human=ex.human,
                   split=ex.split)

    @property
    def fallbacks(self) -> list[str]:
        """Methods that used the no-label fallback for this example."""
        return [m for m, d in self.method_diagnostics.items() if d.fallback]

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "split": self.split,
            "gold": self.gold,
            "human": None if self.human is None else self.human.to_dict(),
            "generation": None if self.generation is None else self.generation.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "unary": None if self.unary is None else self.unary.to_dict(),
            "binary": None if self.binary is None else self.binary.to_dict(),
            "marginal": None if self.marginal is None else self.marginal.to_dict(),
            "artefact_probs": {k: [float(x) for x in v] for k, v in self.artefact_probs.items()},
            "adapted": None if self.adapted is None else self.adapted.to_dict(),
            "methods": {k: [float(x) for x in v] for k, v in self.methods.items()},
            "method_diagnostics": {k: asdict(v) for k, v in self.method_diagnostics.items()},
            "cost": {k: asdict(v) for k, v in self.cost.items()},
            **({"calibrated": {k: [float(x) for x in v] for k, v in self.calibrated.items()}} if self.calibrated else {}),
            **({"predicted": {k: list(v) for k, v in self.predicted.items()}} if self.predicted else {}),
            **({"attention": [a.to_dict() for a in self.attention]} if self.attention else {}),
        }

    @classmethod
    def from_dict(cls, d: dict, *, version: int = 2) -> "ExampleRecord":
        """Read one JSON line of layout ``version`` (1: before the method registry; 2: current)."""
        rec = cls(
            id=d["id"],
            text=d["text"],
            gold=d.get("gold"),
            human=None if d.get("human") is None else HumanDistribution.from_dict(d["human"]),
            split=d.get("split"),
            steps=[StepScores.from_dict(s) for s in d.get("steps", [])],
            methods={k: list(v) for k, v in d.get("methods", {}).items()},
            calibrated={k: [float(x) for x in v] for k, v in (d.get("calibrated") or {}).items()},
            predicted={k: [str(x) for x in v] for k, v in (d.get("predicted") or {}).items()},
        )
        if version == 1:
            _read_v1(rec, d)
            return rec
        if d.get("generation") is not None:
            rec.generation = GenerationRecord.from_dict(d["generation"])
        if d.get("unary") is not None:
            rec.unary = UnaryScores.from_dict(d["unary"])
        if d.get("binary") is not None:
            rec.binary = BinaryScores.from_dict(d["binary"])
        if d.get("marginal") is not None:
            rec.marginal = MarginalScores.from_dict(d["marginal"])
        rec.artefact_probs = {k: list(v) for k, v in (d.get("artefact_probs") or {}).items()}
        if d.get("adapted") is not None:
            rec.adapted = AdaptedGeneration.from_dict(d["adapted"])
        rec.method_diagnostics = {k: MethodDiagnostics(**v) for k, v in d.get("method_diagnostics", {}).items()}
        rec.cost = {k: StageCost(**v) for k, v in d.get("cost", {}).items()}
        rec.attention = [StepAttention.from_dict(a) for a in d.get("attention") or []]
        return rec


def _read_v1(rec: ExampleRecord, d: dict) -> None:
    """Layout 1: ``breakdown`` mixed generation diagnostics with the breakdown scores, ``cost``
    was flat for generation. Fallbacks were not stored; ``labeldist.methods`` infers them."""
    bd = d.get("breakdown") or {}
    if d.get("generation") is not None:
        g = d["generation"]
        rec.generation = GenerationRecord(
            g["text"], list(g["ids"]), list(g["parsed"]), list(g["unknown"]), g["stop_reason"],
            GenerationDiagnostics(bool(bd.get("answer_well_formed", True)), int(bd.get("scored_values", 0)),
                                  int(bd.get("bounded_scores", 0))))
    if isinstance(bd.get("unary"), dict):
        u = bd["unary"]
        rec.unary = UnaryScores.from_dict(u)
    if isinstance(bd.get("binary"), dict):
        b = bd["binary"]  # its bt_scores are recomputed by the binary method from pair_probs
        rec.binary = BinaryScores.from_dict(b)
    cost = d.get("cost") or {}
    if "prompts" in cost:
        rec.cost["generation"] = StageCost(prompts=int(cost.get("prompts", 0)),
                                           prompt_tokens=int(cost.get("prompt_tokens", 0)),
                                           generated_tokens=int(cost.get("generated_tokens", 0)))
    for stage in ("unary", "binary"):
        if isinstance(cost.get(stage), dict):
            rec.cost[stage] = StageCost(prompts=int(cost[stage].get("prompts", 0)),
                                        forward_tokens=int(cost[stage].get("forward_tokens", 0)))
