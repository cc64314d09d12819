"""Score unary and binary breakdown prompts with one batched forward pass per item.

No generation: both methods only need the next-token distribution after each ending.
Prompts are split into three cache levels — header + demos (once per run), the item's
question (once per item), the short endings (batched) — at the points where the
tokenisation of the full prompt allows it, so the ids always equal those of the full
prompt text.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from labeldist.backends.base import Backend
from labeldist.errors import LabeldistError
from labeldist.estimators.breakdown import binary_pair_probs, two_way_probs
from labeldist.prompts.breakdown import (
    binary_pairs,
    breakdown_targets,
    build_binary_header,
    build_binary_prompt,
    build_unary_header,
    build_unary_prompt,
)
from labeldist.records import BinaryScores, Example, ExampleRecord, LabelSet, PromptIds, StageCost, UnaryScores
from labeldist.streams import StreamLog
from labeldist.tokenizer import Tokenizer


def _common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for k in range(n):
        t = first[k]
        if any(s[k] != t for s in seqs):
            return k
    return n


def segment_prompts(tokenizer: Tokenizer, header: str, header_ids: list[int], texts: Sequence[str]) -> list[PromptIds]:
    """Token-id prompts for ``texts`` (all starting with ``header``), split at run / item / ending level."""
    fulls = [tokenizer.encode(t) for t in texts]
    k_item = _common_prefix_len(fulls)
    if len(fulls) > 1:
        k_item = min(k_item, min(len(f) for f in fulls) - 1)  # every ending keeps >= 1 token
    k_run = min(_common_prefix_len([header_ids, fulls[0][:k_item]]), k_item)
    bos = list(tokenizer.bos_ids)
    return [PromptIds((tuple(bos + f[:k_run]), tuple(f[k_run:k_item]), tuple(f[k_item:]))) for f in fulls]


def target_ids(tokenizer: Tokenizer, targets: dict[str, tuple[str, ...]], *, single_token: bool = True
               ) -> dict[str, list[int]]:
    """The token of each target string, per answer word.

    With ``single_token`` (the fixed token form) every target must be one token: a
    multi-token word's first token is a fragment other words share, so its score would not
    be the word's. The faithful form reproduces the reference, which scored the first token
    whatever it was. Two words must not share a token. Violations are errors naming the
    word and the fix.
    """
    out: dict[str, list[int]] = {}
    for word, forms in targets.items():
        ids: list[int] = []
        for f in forms:
            toks = tokenizer.encode(f)
            if single_token and len(toks) != 1:
                raise LabeldistError(
                    f"the breakdown answer {f!r} is {len(toks)} tokens under this tokenizer "
                    f"({[tokenizer.decode([t]) for t in toks]}), so no single next-token score is its probability",
                    "use the other --token-form, or a model whose tokenizer has it as one token",
                )
            if toks[0] not in ids:
                ids.append(toks[0])
        out[word] = ids
    words = list(out)
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            shared = set(out[a]) & set(out[b])
            if shared:
                raise LabeldistError(
                    f"answer words {a!r} and {b!r} start with the same token {tokenizer.decode([shared.pop()])!r}",
                    "use --token-form fixed, or a model whose tokenizer separates them",
                )
    return out


class BreakdownScorer:
    """Unary and/or binary breakdown for one run: headers built once, items scored one by one.

    Stores each item's raw next-token scores (:class:`~labeldist.records.UnaryScores`,
    :class:`~labeldist.records.BinaryScores`); the methods read them from the record.
    """

    def __init__(self, backend: Backend, label_set: LabelSet, demos: Sequence[Example], config,
                 kinds: Sequence[str], streams: StreamLog | None = None):
        self.backend, self.label_set, self.config = backend, label_set, config
        streams = streams or StreamLog(config.prompt.seed)
        tok = backend.tokenizer
        self.form = config.breakdown_token_form
        self.kinds = list(kinds)
        self.headers: dict[str, str] = {}
        self.header_ids: dict[str, list[int]] = {}
        self.targets: dict[str, dict[str, list[int]]] = {}
        for kind in self.kinds:
            rng = streams.rng(f"breakdown_{kind}")
            build = build_unary_header if kind == "unary" else build_binary_header
            self.headers[kind] = build(demos, label_set, rng)
            self.header_ids[kind] = tok.encode(self.headers[kind])
            self.targets[kind] = target_ids(tok, breakdown_targets(kind, self.form), single_token=self.form == "fixed")
        if "binary" in self.kinds:  # fail before any work if the label set is too large
            binary_pairs(label_set, both_orders=config.binary_both_orders, max_pairs=config.max_binary_pairs)

    def _score(self, kind: str, prompt) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
        ids = segment_prompts(self.backend.tokenizer, self.headers[kind], self.header_ids[kind], prompt.texts())
        words = list(self.targets[kind])
        flat = [t for w in words for t in self.targets[kind][w]]
        before = self.backend.stats.get("forward_tokens", 0)
        scores, bounded = self.backend.score_next(ids, candidate_ids=flat)
        forward = self.backend.stats.get("forward_tokens", 0) - before
        out, start = {}, 0
        for w in words:
            n = len(self.targets[kind][w])
            out[w] = scores[:, start : start + n]
            start += n
        return bounded, out, forward

    def score(self, rec: ExampleRecord, ex: Example) -> None:
        for kind in self.kinds:
            if kind == "unary":
                prompt = build_unary_prompt(ex.text, self.headers[kind], self.label_set, token_form=self.form)
                bounded, s, fwd = self._score(kind, prompt)
                rec.unary = UnaryScores(
                    candidates=list(prompt.ending_labels), scores={w: v.tolist() for w, v in s.items()},
                    p_reasonable=two_way_probs(s["reasonable"], s["unreasonable"]).tolist(),
                    scored_values=int(bounded.size), bounded_scores=int(bounded.sum()))
            else:
                both = self.config.binary_both_orders
                prompt = build_binary_prompt(ex.text, self.headers[kind], self.label_set, token_form=self.form,
                                             both_orders=both, max_pairs=self.config.max_binary_pairs)
                bounded, s, fwd = self._score(kind, prompt)
                n = len(prompt.pairs) // 2 if both else len(prompt.pairs)
                pair_p, disagreement = binary_pair_probs(
                    s["a"][:n], s["b"][:n],
                    swapped_a_scores=s["a"][n:] if both else None, swapped_b_scores=s["b"][n:] if both else None)
                rec.binary = BinaryScores(
                    pairs=[list(p) for p in prompt.pairs], scores={w: v.tolist() for w, v in s.items()},
                    pair_probs=pair_p.tolist(),
                    position_disagreement=None if disagreement is None else float(disagreement),
                    scored_values=int(bounded.size), bounded_scores=int(bounded.sum()))
            rec.cost[kind] = StageCost(prompts=len(prompt.endings), forward_tokens=int(fwd))
