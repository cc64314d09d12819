"""Run the classification pipeline over examples, writing one record per finished example.

Flow per run: pick demos once (seeded) → build the label-token map once → for each batch
of pending examples: run the stages the selected methods read (the greedy answer with the
scores of every label variant at every step; the unary / binary breakdown scores, one
forward pass per item instead of generating), then compute every selected method from the
record (:func:`labeldist.methods.apply_methods`) and append it. Re-running with the same
config skips every id already recorded.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from labeldist.backends import BACKENDS, DTYPES
from labeldist.backends.base import Backend
from labeldist.errors import LabeldistError
from labeldist.labels.grammar import DECODINGS, AnswerGrammar
from labeldist.labels.parsing import answer_end, parse_answer
from labeldist.labels.positions import (
    answer_label_starts,
    cut_answer,
    extract_steps,
    kept_length,
    steps_at,
    token_offsets,
)
from labeldist.labels.tokens import LabelTokenMap, build_label_token_map
from labeldist.methods import (
    DEFAULT_GROUPS,
    GENERATION_GROUP,
    EstimateOptions,
    MethodSpec,
    apply_methods,
    check_groups,
    reads_any,
    selected_methods,
)
from labeldist.prompts.breakdown import BREAKDOWN_KINDS, TOKEN_FORMS
from labeldist.prompts.demos import default_strategy, sample_demos
from labeldist.prompts.fewshot import FewShotPrompter, PromptConfig
from labeldist.records import (
    NONE_LABEL,
    Example,
    ExampleRecord,
    GenerationDiagnostics,
    GenerationRecord,
    LabelSet,
    ResolvedPrompt,
    RunSummary,
    StageCost,
)
from labeldist.streams import StreamLog



@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers (recorded in the manifest; resume requires equality).

    ``methods`` are ``--methods`` groups (:data:`labeldist.methods.GROUPS`). ``decoding``:
    ``constrained`` (the default: answers follow the answer grammar, every item answers) or
    ``free`` (the paper's unconstrained generation). ``binary_both_orders``: every pair is
    asked in both orders and averaged (the default; ``False`` is the paper's single order).
    """

    model: str = "qwen2.5-0.5b"
    dtype: str = "auto"
    backend: str = "hf"
    methods: tuple[str, ...] = DEFAULT_GROUPS
    prompt: PromptConfig = field(default_factory=PromptConfig)
    batch_size: int = 20
    decoding: str = "constrained"
    breakdown_token_form: str = "fixed"
    binary_both_orders: bool = True
    binary_hard: bool = False
    max_binary_pairs: int = 820

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", check_groups(self.methods))
        if self.backend not in BACKENDS:
            raise LabeldistError(f"unknown backend {self.backend!r}", f"use one of {', '.join(BACKENDS)}")
        if self.dtype not in DTYPES:
            raise LabeldistError(f"unknown dtype {self.dtype!r}", f"use one of {', '.join(DTYPES)}")
        if self.decoding not in DECODINGS:
            raise LabeldistError(f"unknown decoding {self.decoding!r}", f"use one of {', '.join(DECODINGS)}")
        if self.breakdown_token_form not in TOKEN_FORMS:
            raise LabeldistError(f"unknown token form {self.breakdown_token_form!r}",
                                 f"use one of {', '.join(TOKEN_FORMS)}")

    @property
    def estimate_options(self) -> EstimateOptions:
        return EstimateOptions(binary_hard=self.binary_hard)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["methods"] = list(self.methods)
        return d


class Classifier:
    """The prompt, demos and label tokens of one run, bound to a backend."""

    def __init__(self, backend: Backend, label_set: LabelSet, config: RunConfig, demo_pool: Sequence[Example] = ()):
        self.backend, self.label_set, self.config = backend, label_set, config
        self.specs: list[MethodSpec] = selected_methods(config.methods, label_set)
        pc = config.prompt
        self.streams = StreamLog(pc.seed)
        # No demo pool means zero-shot (recorded in the manifest); a pool too small for --shots is an error.
        shots = pc.shots if demo_pool else 0
        self.demos = sample_demos(demo_pool, label_set, shots, strategy=pc.demo_sampling, ratio=pc.demo_ratio,
                                  rng=self.streams.rng("demos") if shots else None)
        self.prompter = FewShotPrompter(pc, label_set, self.demos, backend.tokenizer,
                                        order_rng=self.streams.rng("label_order") if pc.label_order == "random" else None)
        self.generates = reads_any(self.specs, "steps", "answer")
        self.constrained = self.generates and config.decoding == "constrained"
        self.grammar = AnswerGrammar(label_set, backend.tokenizer, self.prompter.pieces) if self.constrained else None
        self.token_map: LabelTokenMap = build_label_token_map(
            label_set, backend.tokenizer, self.prompter.slot_contexts,
            first_tokens=self.grammar.slot_first_tokens() if self.grammar is not None else None)
        self.breakdown = None
        kinds = [k for k in BREAKDOWN_KINDS if reads_any(self.specs, f"{k}_scores")]
        if kinds:
            from labeldist.runs.breakdown_runner import BreakdownScorer

            self.breakdown = BreakdownScorer(backend, label_set, self.demos, config, kinds, self.streams)

    @property
    def method_names(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def max_new_tokens(self) -> int:
        """Generation budget: a constrained answer always completes, so it gets the grammar's bound."""
        if self.grammar is not None:
            return max(self.config.prompt.max_new_tokens, self.grammar.max_answer_tokens)
        return self.config.prompt.max_new_tokens

    def build_prompt(self, text: str):
        return self.prompter.build(text, opening=self.constrained)

    def describe(self) -> ResolvedPrompt:
        g = self.grammar
        dec = self.backend.tokenizer.decode
        grammar = {} if g is None else {
            "opening": g.pieces.opening,
            "first_units": {c: [dec([t]) for t in u] for c, u in zip(g.candidates, g.first_units)},
            "later_units": {c: [dec([t]) for t in u] for c, u in zip(g.candidates, g.later_units) if u},
            "separator": [dec([t]) for t in g.separator_ids], "closing": [dec([t]) for t in g.closing_ids],
            "max_answer_tokens": g.max_answer_tokens,
        }
        return ResolvedPrompt(
            demos=[d.id for d in self.demos],
            demo_sampling=self.config.prompt.demo_sampling or default_strategy(self.label_set),
            label_tokens=self.token_map.to_dict(),
            stop=[] if self.constrained else self.prompter.stop,
            resolved=self.prompter.describe(),
            grammar=grammar,
        )

    def classify_batch(self, examples: Sequence[Example]) -> list[ExampleRecord]:
        """Records for a batch of examples, every selected method computed."""
        records = [ExampleRecord.from_example(ex) for ex in examples]
        if self.generates:
            self._generate(records, examples)
        if self.breakdown is not None:
            for rec, ex in zip(records, examples):
                self.breakdown.score(rec, ex)
        for rec in records:
            apply_methods(rec, self.specs, self.label_set, self.config.estimate_options)
        return records

    def _generate(self, records: Sequence[ExampleRecord], examples: Sequence[Example]) -> None:
        """One batched greedy generation for the batch: answer, label steps, parsed labels."""
        pc = self.config.prompt
        tok = self.backend.tokenizer
        prompts = [self.build_prompt(ex.text) for ex in examples]
        gens = self.backend.generate(prompts, candidate_ids=self.token_map.flat_ids, max_new_tokens=self.max_new_tokens,
                                     stop=[] if self.constrained else self.prompter.stop, constraint=self.grammar)
        prefilled = self.prompter.pieces.opening if self.constrained else ""
        for rec, prompt, gen in zip(records, prompts, gens):
            text = tok.decode(gen.ids)
            if self.constrained:
                answer = prefilled + text
                parsed = parse_answer(answer, self.label_set, pc.label_format, pc.json_key)
                labels = list(parsed.labels) or ([NONE_LABEL] if parsed.said_none else [])
                steps = steps_at(gen.ids, gen.candidate_scores, self.token_map, gen.slots, labels,
                                 gen.outside_mass, gen.overridden)
            else:
                end = cut_answer(text, self.prompter.stop, lambda t: answer_end(t, pc.label_format))
                n_keep = kept_length(gen.ids, tok.decode, end)
                starts = answer_label_starts(text[:end], pc.label_format, pc.json_key)
                steps = extract_steps(gen.ids[:n_keep], gen.candidate_scores, self.token_map,
                                      token_offsets(gen.ids[:n_keep], tok.decode), starts)
                parsed = parse_answer(text[:end], self.label_set, pc.label_format, pc.json_key)
            # Only the steps the estimators read count: other steps of a served model are bounded by design.
            at_steps = gen.bounded[[st.position for st in steps]] if steps else gen.bounded[:0]
            rec.generation = GenerationRecord(
                text=text, ids=list(gen.ids), parsed=list(parsed.labels), unknown=list(parsed.unknown),
                stop_reason=gen.stop_reason, prefilled=prefilled,
                diagnostics=GenerationDiagnostics(well_formed=parsed.well_formed, scored_values=int(at_steps.size),
                                                  bounded_scores=int(at_steps.sum()), constrained=self.constrained))
            rec.steps = steps
            rec.cost[GENERATION_GROUP] = StageCost(prompts=1, prompt_tokens=len(prompt), generated_tokens=len(gen.ids))


def summarize(records: Sequence[ExampleRecord]) -> RunSummary:
    """Counts over records (all of a run's records, so a resumed run reports the whole run)."""
    s = RunSummary(n_examples=len(records))
    bounded = scored = 0
    for rec in records:
        for m in rec.fallbacks:
            s.fallbacks[m] = s.fallbacks.get(m, 0) + 1
        parts = [p for p in (rec.unary, rec.binary) if p is not None]
        if rec.generation is not None:
            d = rec.generation.diagnostics
            bounded, scored = bounded + d.bounded_scores, scored + d.scored_values
            s.unknown_outputs += len(rec.generation.unknown)
            s.malformed_answers += int(not d.well_formed)
            s.examples_without_label_token += int(not rec.steps)
        for p in parts:
            bounded, scored = bounded + p.bounded_scores, scored + p.scored_values
    s.bounded_share = round(bounded / scored, 6) if scored else 0.0
    dis = [r.binary.position_disagreement for r in records
           if r.binary is not None and r.binary.position_disagreement is not None]
    s.binary_position_disagreement = round(float(np.mean(dis)), 6) if dis else None
    slots = [st for r in records for st in r.steps if st.outside_mass is not None]
    if slots:
        s.mean_outside_mass = round(float(np.mean([st.outside_mass for st in slots])), 6)
        s.grammar_override_share = round(float(np.mean([bool(st.overridden) for st in slots])), 6)
    return s


def run_examples(
    classifier: Classifier,
    examples: Sequence[Example],
    *,
    store=None,
    progress: bool = True,
    on_record: Callable[[ExampleRecord], None] | None = None,
) -> tuple[list[ExampleRecord], RunSummary]:
    """Classify ``examples`` (skipping ids already in ``store``); return all records in input order."""
    ids = [ex.id for ex in examples]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise LabeldistError(f"duplicate example id {dup!r}", "give every example a unique id")
    done = store.done if store is not None else {}
    pending = [ex for ex in examples if ex.id not in done]
    results: dict[str, ExampleRecord] = {i: done[i] for i in ids if i in done}
    t0 = time.perf_counter()
    bs = max(1, classifier.config.batch_size)
    # Similar lengths share a batch, so little compute goes into padding (records are keyed by id).
    # The batches are cut from ALL examples, and a batch with anything pending is computed whole:
    # after a resume every item meets the same batch-mates (same padding, same shapes) as in an
    # uninterrupted run, so its numbers are the same. Done items of such a batch are recomputed
    # and dropped (only a crash between the appends of one batch leaves such a batch).
    ordered = sorted(examples, key=lambda ex: len(ex.text))
    batches = [ordered[start : start + bs] for start in range(0, len(ordered), bs)]
    n_new = 0
    bar = tqdm(total=len(examples), initial=len(examples) - len(pending), disable=not progress, unit="ex",
               desc="classifying", mininterval=1.0, dynamic_ncols=True)
    try:
        for batch in batches:
            if all(ex.id in results for ex in batch):
                continue
            for rec in classifier.classify_batch(batch):
                if rec.id in results:
                    continue
                if store is not None:
                    store.append(rec)
                results[rec.id] = rec
                n_new += 1
                if on_record:
                    on_record(rec)
                bar.update(1)
    finally:
        bar.close()
    records = [results[i] for i in ids]
    summary = summarize(records)
    summary.n_new, summary.n_resumed = n_new, len(examples) - len(pending)
    summary.seconds = round(time.perf_counter() - t0, 3)
    return records, summary
