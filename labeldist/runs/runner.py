"""Run the classification pipeline over examples, writing one record per finished example.

Flow per run: pick demos once (seeded) → build the label-token map once → for each batch
of pending examples: build prompts (shared prefix segment), generate greedily with the
scores of every label variant at every step, find label positions in the generated ids,
parse the answer, compute every estimator, append the record. Breakdown methods
(unary / binary) score their prompts with one forward pass per item instead of
generating. Re-running with the same config skips every id already recorded.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from labeldist.backends.base import Backend
from labeldist.errors import LabeldistError
from labeldist.estimators.zero_shot import estimate_all, generation_methods
from labeldist.labels.parsing import answer_end, parse_answer
from labeldist.labels.positions import cut_answer, extract_steps, kept_length
from labeldist.labels.tokens import LabelTokenMap, build_label_token_map
from labeldist.prompts.demos import default_strategy, sample_demos
from labeldist.prompts.fewshot import FewShotPrompter, PromptConfig
from labeldist.records import Example, LabelSet
from labeldist.runs.records import ExampleRecord, GenerationRecord
from labeldist.runs.store import RunStore

BREAKDOWN_METHODS = ("unary", "binary")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers (recorded in the manifest; resume requires equality)."""

    model: str = "qwen2.5-0.5b"
    dtype: str = "auto"
    backend: str = "hf"
    methods: tuple[str, ...] = ("generation",)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    batch_size: int = 20
    breakdown_token_form: str = "fixed"
    binary_both_orders: bool = False
    binary_hard: bool = False
    max_binary_pairs: int = 820

    def __post_init__(self) -> None:
        known = ("generation",) + BREAKDOWN_METHODS
        for m in self.methods:
            if m not in known:
                raise LabeldistError(f"unknown method group {m!r}", f"use a comma list of {', '.join(known)}")
        if not self.methods:
            raise LabeldistError("no methods selected", f"use --methods with any of {', '.join(known)}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["methods"] = list(self.methods)
        return d


@dataclass
class RunSummary:
    n_examples: int = 0
    n_new: int = 0
    n_resumed: int = 0
    seconds: float = 0.0
    fallbacks: dict[str, int] = field(default_factory=dict)
    unknown_outputs: int = 0
    malformed_answers: int = 0
    examples_without_label_token: int = 0
    bounded_share: float = 0.0  # share of read scores that are only top-k bounds (served models)
    binary_position_disagreement: float | None = None  # mean share of pairs whose two orders disagree

    def to_dict(self) -> dict:
        return asdict(self)


class Classifier:
    """The prompt, demos and label tokens of one run, bound to a backend."""

    def __init__(self, backend: Backend, label_set: LabelSet, config: RunConfig, demo_pool: Sequence[Example] = ()):
        self.backend, self.label_set, self.config = backend, label_set, config
        pc = config.prompt
        # No demo pool means zero-shot (recorded in the manifest); a pool too small for --shots is an error.
        self.demos = sample_demos(demo_pool, label_set, pc.shots if demo_pool else 0,
                                  strategy=pc.demo_sampling, seed=pc.seed, ratio=pc.demo_ratio)
        self.prompter = FewShotPrompter(pc, label_set, self.demos, backend)
        self.token_map: LabelTokenMap = build_label_token_map(
            label_set, backend.encode, backend.decode, self.prompter.slot_contexts
        )
        self.breakdown = None
        if any(m in BREAKDOWN_METHODS for m in config.methods):
            from labeldist.runs.breakdown_runner import BreakdownScorer

            self.breakdown = BreakdownScorer(backend, label_set, self.demos, config)

    def describe(self) -> dict:
        return {
            "demos": [d.id for d in self.demos],
            "demo_sampling": self.config.prompt.demo_sampling or default_strategy(self.label_set),
            "label_tokens": self.token_map.to_dict(),
            "stop": self.prompter.stop,
        }

    def classify_batch(self, examples: Sequence[Example]) -> list[tuple[ExampleRecord, list[str]]]:
        """Records for a batch of examples, plus each example's list of fallback methods."""
        if "generation" in self.config.methods:
            out = self.classify_batch_generation(examples)
        else:
            out = [(ExampleRecord.from_example(ex), []) for ex in examples]
        if self.breakdown is not None:
            for (rec, _), ex in zip(out, examples):
                self.breakdown.score(rec, ex)
        return out

    def classify_batch_generation(self, examples: Sequence[Example]) -> list[tuple[ExampleRecord, list[str]]]:
        """Generation-based methods only: one batched greedy generation for the whole batch."""
        pc = self.config.prompt
        prompts = [self.prompter.build(ex.text) for ex in examples]
        gens = self.backend.generate(prompts, candidate_ids=self.token_map.flat_ids,
                                     max_new_tokens=pc.max_new_tokens, stop=self.prompter.stop)
        out = []
        for ex, prompt, gen in zip(examples, prompts, gens):
            rec = ExampleRecord.from_example(ex)
            text = self.backend.decode(gen.ids)
            end = cut_answer(text, self.prompter.stop, lambda t: answer_end(t, pc.label_format))
            n_keep = kept_length(gen.ids, self.backend.decode, end)
            steps = extract_steps(gen.ids, gen.candidate_scores, self.token_map, n_keep)
            parsed = parse_answer(text[:end], self.label_set, pc.label_format, pc.json_key)
            rec.generation = GenerationRecord(text=text, ids=list(gen.ids), parsed=list(parsed.labels),
                                              unknown=list(parsed.unknown), stop_reason=gen.stop_reason)
            rec.steps = steps
            probs, fallbacks = estimate_all(steps, parsed.labels, self.label_set)
            rec.methods.update({k: v.tolist() for k, v in probs.items()})
            rec.breakdown["answer_well_formed"] = parsed.well_formed
            # Only the steps the estimators read count: other steps of a served model are bounded by design.
            at_steps = gen.bounded[[st.position for st in steps]] if steps else gen.bounded[:0]
            rec.breakdown["scored_values"] = int(at_steps.size)
            rec.breakdown["bounded_scores"] = int(at_steps.sum())
            rec.cost.update(prompt_tokens=len(prompt), generated_tokens=len(gen.ids), prompts=1)
            out.append((rec, fallbacks))
        return out


def run_examples(
    classifier: Classifier,
    examples: Sequence[Example],
    *,
    store: RunStore | None = None,
    progress: bool = True,
    on_record: Callable[[ExampleRecord], None] | None = None,
) -> tuple[list[ExampleRecord], RunSummary]:
    """Classify ``examples`` (skipping ids already in ``store``); return all records in input order."""
    ids = [ex.id for ex in examples]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise LabeldistError(f"duplicate example id {dup!r}", "give every example a unique id")
    done = store.done if store is not None else {}
    # Similar lengths share a batch, so little compute goes into padding (records are keyed by id).
    pending = sorted((ex for ex in examples if ex.id not in done), key=lambda ex: len(ex.text))
    summary = RunSummary(n_examples=len(examples), n_resumed=len(examples) - len(pending))
    results: dict[str, ExampleRecord] = {i: ExampleRecord.from_dict(done[i]) for i in ids if i in done}
    t0 = time.perf_counter()
    bs = max(1, classifier.config.batch_size)
    bar = tqdm(total=len(examples), initial=summary.n_resumed, disable=not progress, unit="ex",
               desc="classifying", mininterval=1.0, dynamic_ncols=True)
    try:
        for start in range(0, len(pending), bs):
            batch = pending[start : start + bs]
            for rec, fb in classifier.classify_batch(batch):
                for m in fb:
                    summary.fallbacks[m] = summary.fallbacks.get(m, 0) + 1
                if store is not None:
                    store.append(rec)
                results[rec.id] = rec
                summary.n_new += 1
                if on_record:
                    on_record(rec)
                bar.update(1)
    finally:
        bar.close()
    summary.seconds = round(time.perf_counter() - t0, 3)
    records = [results[i] for i in ids]
    bounded = scored = 0
    for rec in records:
        bounded += rec.breakdown.get("bounded_scores", 0)
        scored += rec.breakdown.get("scored_values", 0)
        for kind in BREAKDOWN_METHODS:
            if isinstance(rec.breakdown.get(kind), dict):
                bounded += rec.breakdown[kind].get("bounded_scores", 0)
                scored += rec.breakdown[kind].get("scored_values", 0)
        if rec.generation is not None:
            summary.unknown_outputs += len(rec.generation.unknown)
            summary.malformed_answers += int(not rec.breakdown.get("answer_well_formed", True))
            summary.examples_without_label_token += int(not rec.steps)
    summary.bounded_share = round(bounded / scored, 6) if scored else 0.0
    dis = [r.breakdown["binary"]["position_disagreement"] for r in records
           if isinstance(r.breakdown.get("binary"), dict) and r.breakdown["binary"].get("position_disagreement") is not None]
    summary.binary_position_disagreement = round(float(np.mean(dis)), 6) if dis else None
    return records, summary


def method_names(config: RunConfig, label_set: LabelSet) -> list[str]:
    names: list[str] = []
    if "generation" in config.methods:
        names += list(generation_methods(label_set))
    names += [m for m in config.methods if m in BREAKDOWN_METHODS]
    return names


def probs_matrix(records: Sequence[ExampleRecord], method: str) -> np.ndarray:
    """Shape (n_examples, n_labels) probabilities of one method."""
    return np.array([r.methods[method] for r in records], dtype=np.float64)
