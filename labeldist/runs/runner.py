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
from labeldist.labels.grammar import DECODINGS
from labeldist.labels.parsing import answer_end, parse_answer
from labeldist.labels.positions import (
    answer_label_starts,
    cut_answer,
    extract_steps,
    kept_length,
    steps_at,
    token_offsets,
)
from labeldist.labels.llamaguard import grammar_for
from labeldist.labels.spans import grammar_label_spans
from labeldist.labels.tokens import LabelTokenMap, build_label_token_map
from labeldist.estimators.marginal import MarginalSettings
from labeldist.estimators.token_level import JOINT_VARIANTS
from labeldist.methods import (
    DEFAULT_GROUPS,
    GROUPS,
    GENERATION_GROUP,
    METHODS,
    EstimateOptions,
    MethodSpec,
    apply_methods,
    check_groups,
    reads_any,
    selected_methods,
)
from labeldist.prompts.breakdown import BREAKDOWN_KINDS, TOKEN_FORMS
from labeldist.prompts.demos import default_strategy, sample_demos
from labeldist.prompts.fewshot import PromptConfig
from labeldist.prompts.llamaguard import prompter_for
from labeldist.records import (
    NONE_LABEL,
    AdaptedGeneration,
    Example,
    ExampleRecord,
    GenerationDiagnostics,
    GenerationRecord,
    LabelSet,
    ResolvedPrompt,
    RunSummary,
    StageCost,
)
from labeldist.runs.supervised import SupervisedConfig, SupervisedStage
from labeldist.runs.attention import attach_attention
from labeldist.streams import StreamLog



@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers (recorded in the manifest; resume requires equality).

    ``methods`` are ``--methods`` groups (:data:`labeldist.methods.GROUPS`). ``decoding``:
    ``constrained`` (the default: answers follow the answer grammar, every item answers) or
    ``free`` (the paper's unconstrained generation). ``binary_both_orders``: every pair is
    asked in both orders and averaged (the default; ``False`` is the paper's single order).
    ``joint``: the joint method's variant (:data:`labeldist.estimators.token_level.JOINT_VARIANTS`);
    ``marginal``: the marginal search's pruning (:class:`labeldist.estimators.marginal.MarginalSettings`).
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
    joint: str = "path"
    marginal: MarginalSettings = field(default_factory=MarginalSettings)
    supervised: SupervisedConfig = field(default_factory=SupervisedConfig)
    attention: bool = False  # --attention: attention region masses of later label steps (labeldist.runs.attention)

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", check_groups(self.methods))
        if self.attention and self.backend != "hf":
            raise LabeldistError(f"--attention needs the model's attention weights, which --backend {self.backend} "
                                 "does not return", "use the local backend (--backend hf), or drop --attention")
        if self.attention and GENERATION_GROUP not in self.methods:
            raise LabeldistError("--attention reads the answer's label steps, which only the generation group makes",
                                 f"add {GENERATION_GROUP} to --methods, or drop --attention")
        if self.backend not in BACKENDS:
            raise LabeldistError(f"unknown backend {self.backend!r}", f"use one of {', '.join(BACKENDS)}")
        if self.dtype not in DTYPES:
            raise LabeldistError(f"unknown dtype {self.dtype!r}", f"use one of {', '.join(DTYPES)}")
        if self.decoding not in DECODINGS:
            raise LabeldistError(f"unknown decoding {self.decoding!r}", f"use one of {', '.join(DECODINGS)}")
        if self.breakdown_token_form not in TOKEN_FORMS:
            raise LabeldistError(f"unknown token form {self.breakdown_token_form!r}",
                                 f"use one of {', '.join(TOKEN_FORMS)}")
        if self.joint not in JOINT_VARIANTS:
            raise LabeldistError(f"unknown joint variant {self.joint!r}", f"use one of {', '.join(JOINT_VARIANTS)}")

    @property
    def estimate_options(self) -> EstimateOptions:
        return EstimateOptions(binary_hard=self.binary_hard, joint=self.joint, normalize=self.marginal.normalize)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["methods"] = list(self.methods)
        # Options at their defaults are left out, so runs made before they existed keep their identity (resume).
        if not self.attention:
            del d["attention"]
        if not any(METHODS[m].family == "supervised" for g in self.methods for m in GROUPS[g]):
            del d["supervised"]  # only the supervised methods read these options
        return d


class Classifier:
    """The prompt, demos and label tokens of one run, bound to a backend."""

    def __init__(self, backend: Backend, label_set: LabelSet, config: RunConfig, demo_pool: Sequence[Example] = ()):
        self.backend, self.label_set, self.config = backend, label_set, config
        self.specs: list[MethodSpec] = selected_methods(config.methods, label_set)
        self.calibration = None
        pc = config.prompt
        self.streams = StreamLog(pc.seed)
        # No demo pool means zero-shot (recorded in the manifest); a pool too small for --shots is an error.
        shots = pc.shots if demo_pool else 0
        self.demos = sample_demos(demo_pool, label_set, shots, strategy=pc.demo_sampling, ratio=pc.demo_ratio,
                                  rng=self.streams.rng("demos") if shots else None)
        self.prompter = prompter_for(pc, label_set, self.demos, backend.tokenizer,
                                     order_rng=self.streams.rng("label_order") if pc.label_order == "random" else None)
        self.supervised = SupervisedStage(self, config.supervised, self.specs) \
            if any(s.family == "supervised" for s in self.specs) else None
        self.generates = reads_any(self.specs, "steps", "answer", "token_logprobs", "hidden_states")
        if reads_any(self.specs, "adapted_steps", "adapted_answer") and config.backend != "hf":
            raise LabeldistError("the sft methods train and run a LoRA adapter on a local model", "use --backend hf")
        searches = reads_any(self.specs, "marginal_scores")
        answers = self.generates or searches or reads_any(self.specs, "adapted_steps", "adapted_answer")
        self.constrained = answers and config.decoding == "constrained"
        if self.constrained:
            self.prompter.fold_label_spaces()
        self.grammar = grammar_for(label_set, backend.tokenizer, self.prompter.pieces, backend.eos_ids) \
            if self.constrained else None
        self.token_map: LabelTokenMap = self._token_map(label_set)
        self.breakdown = None
        kinds = [k for k in BREAKDOWN_KINDS if reads_any(self.specs, f"{k}_scores")]
        if kinds:
            from labeldist.runs.breakdown_runner import BreakdownScorer

            self.breakdown = BreakdownScorer(backend, label_set, self.demos, config, kinds, self.streams)
        # free answers are read with the grammar's units (labeldist.labels.spans); the marginal search runs on them
        from labeldist.runs.marginal_runner import MarginalScorer, free_reader

        self.reader = None if self.constrained or not (self.generates or searches) else \
            free_reader(label_set, backend, self.prompter.pieces, required=searches)
        self.marginal = MarginalScorer(backend, label_set, self.grammar or self.reader, config.marginal,
                                       constrained=self.constrained) if searches else None

    def _token_map(self, label_set: LabelSet) -> LabelTokenMap:
        """The label-token map of the step-based methods. Labels that share their first token (``S1`` /
        ``S10`` written ``S`` ``1`` ``0``) have no per-step distribution: those methods are then left out
        with a warning (the token-level methods read whole label units and still apply)."""
        try:
            return build_label_token_map(label_set, self.backend.tokenizer, self.prompter.slot_contexts,
                                         first_tokens=self.grammar.slot_first_tokens() if self.grammar is not None else None)
        except LabeldistError as e:
            stepwise = [s.name for s in self.specs if reads_any([s], "steps", "adapted_steps")]
            rest = [s for s in self.specs if s.name not in stepwise]
            if not rest:
                raise
            if stepwise:
                import warnings

                warnings.warn(f"{e}; so {', '.join(stepwise)} are left out of this run", stacklevel=3)
            self.specs = rest
            return LabelTokenMap(label_set.candidates, tuple(() for _ in label_set.candidates))

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
        gens = None
        if self.generates:
            hidden = self.supervised is not None and self.supervised.wants_hidden
            gens = self.generate_answers(records, examples, want_hidden=hidden,
                                         hidden_layer=self.config.supervised.probe_layer)
        if self.breakdown is not None:
            for rec, ex in zip(records, examples):
                self.breakdown.score(rec, ex)
        if self.marginal is not None:
            self.marginal.score(records, [self.build_prompt(ex.text) for ex in examples])
        if self.supervised is not None:
            if not self.supervised.info:
                raise LabeldistError("the supervised methods are not fitted yet", "use labeldist run (or api.run)")
            self.supervised.score(records, examples, gens)
        for rec in records:
            apply_methods(rec, self.specs, self.label_set, self.config.estimate_options)
        if self.calibration is not None:  # labeldist.calibration.AppliedCalibration, set by api.run
            self.calibration.apply(records)
        return records

    def generate_answers(self, records: Sequence[ExampleRecord], examples: Sequence[Example], *,
                         want_hidden: bool = False, hidden_layer: int = -1, adapted: bool = False):
        """One batched greedy generation for the batch: each record's answer, label steps and parsed
        labels (``rec.generation`` / ``rec.steps``, or ``rec.adapted`` for the LoRA-adapted model).
        Returns the backend's generations (with hidden states when asked)."""
        pc = self.config.prompt
        tok = self.backend.tokenizer
        prompts = [self.build_prompt(ex.text) for ex in examples]
        kw = dict(candidate_ids=self.token_map.flat_ids, max_new_tokens=self.max_new_tokens,
                  stop=[] if self.constrained else self.prompter.stop, constraint=self.grammar)
        if want_hidden:
            kw.update(want_hidden=True, hidden_layer=hidden_layer)
        gens = self.backend.generate(prompts, **kw)
        prefilled = self.prompter.pieces.opening if self.constrained else ""
        eos = self.backend.eos_ids
        for rec, prompt, gen in zip(records, prompts, gens):
            text = tok.decode(gen.ids)
            # an end-of-turn token's text ("<|im_end|>", closing a Llama Guard answer) is not part of the answer
            body = tok.decode(gen.ids[:-1]) if gen.ids and gen.ids[-1] in eos else text
            if self.constrained:
                answer = prefilled + body
                parsed = parse_answer(answer, self.label_set, pc.label_format, pc.json_key)
                labels = list(parsed.labels) or ([NONE_LABEL] if parsed.said_none else [])
                steps = steps_at(gen.ids, gen.candidate_scores, self.token_map, gen.slots, labels,
                                 gen.outside_mass, gen.overridden) if self.token_map.flat_ids else []
                spans = grammar_label_spans(self.grammar, gen.ids)
                grammar_lp = _float_list(np.where(gen.forced, 0.0, gen.token_logprobs - gen.allowed_logmass)) \
                    if len(gen.allowed_logmass) == len(gen.ids) == len(gen.token_logprobs) else None
            else:
                end = cut_answer(body, self.prompter.stop, lambda t: answer_end(t, pc.label_format))
                n_keep = kept_length(gen.ids, tok.decode, end)
                starts = answer_label_starts(body[:end], pc.label_format, pc.json_key)
                steps = extract_steps(gen.ids[:n_keep], gen.candidate_scores, self.token_map,
                                      token_offsets(gen.ids[:n_keep], tok.decode), starts)
                parsed = parse_answer(body[:end], self.label_set, pc.label_format, pc.json_key)
                # the whole path: the token after the answer (its boundary, e.g. "\n\n") closes the last label
                spans = None if self.reader is None else self.reader.spans(gen.ids)
                grammar_lp = None
            # Only the steps the estimators read count: other steps of a served model are bounded by design.
            at_steps = gen.bounded[[st.position for st in steps]] if steps else gen.bounded[:0]
            record = GenerationRecord(
                text=text, ids=list(gen.ids), parsed=list(parsed.labels), unknown=list(parsed.unknown),
                stop_reason=gen.stop_reason, prefilled=prefilled, label_spans=spans,
                token_logprobs=_float_list(gen.token_logprobs) if len(gen.token_logprobs) == len(gen.ids) else None,
                grammar_logprobs=grammar_lp,
                diagnostics=GenerationDiagnostics(well_formed=parsed.well_formed, scored_values=int(at_steps.size),
                                                  bounded_scores=int(at_steps.sum()), constrained=self.constrained))
            cost = StageCost(prompts=1, prompt_tokens=len(prompt), generated_tokens=len(gen.ids))
            if adapted:
                rec.adapted = AdaptedGeneration(record, steps)
                rec.cost["adapted"] = cost
            else:
                rec.generation, rec.steps = record, steps
                rec.cost[GENERATION_GROUP] = cost
        if self.config.attention and not adapted:
            attach_attention(self.backend, prompts, records)
        return gens


def _float_list(x: np.ndarray) -> list[float | None]:
    """JSON-ready floats, None for NaN (no value)."""
    return [None if np.isnan(v) else float(v) for v in x]


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
            reads_steps = any("steps" in METHODS[m].reads for m in rec.methods if m in METHODS)
            s.examples_without_label_token += int(not rec.steps and reads_steps)
        for p in parts:
            bounded, scored = bounded + p.bounded_scores, scored + p.scored_values
    s.bounded_share = round(bounded / scored, 6) if scored else 0.0
    dis = [r.binary.position_disagreement for r in records
           if r.binary is not None and r.binary.position_disagreement is not None]
    s.binary_position_disagreement = round(float(np.mean(dis)), 6) if dis else None
    searched = [r.marginal for r in records if r.marginal is not None]
    if searched:  # the marginal search's bounded log-probabilities count with the other bounded scores
        bounded += sum(m.bounded_values for m in searched)
        scored += sum(m.scored_values for m in searched)
        s.bounded_share = round(bounded / scored, 6) if scored else 0.0
        s.marginal_bound_gap = round(float(np.mean([m.bound_gap for m in searched])), 6)
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
