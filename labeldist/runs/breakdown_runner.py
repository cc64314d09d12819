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

from labeldist.backends.base import Backend, PromptIds
from labeldist.errors import LabeldistError
from labeldist.estimators.breakdown import binary_breakdown_probs, unary_breakdown_probs
from labeldist.prompts.breakdown import (
    binary_pairs,
    breakdown_targets,
    build_binary_header,
    build_binary_prompt,
    build_unary_header,
    build_unary_prompt,
)
from labeldist.records import Example, LabelSet
from labeldist.runs.records import ExampleRecord


def _common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for k in range(n):
        t = first[k]
        if any(s[k] != t for s in seqs):
            return k
    return n


def segment_prompts(backend: Backend, header: str, header_ids: list[int], texts: Sequence[str]) -> list[PromptIds]:
    """Token-id prompts for ``texts`` (all starting with ``header``), split at run / item / ending level."""
    fulls = [backend.encode(t) for t in texts]
    k_item = _common_prefix_len(fulls)
    if len(fulls) > 1:
        k_item = min(k_item, min(len(f) for f in fulls) - 1)  # every ending keeps >= 1 token
    k_run = min(_common_prefix_len([header_ids, fulls[0][:k_item]]), k_item)
    bos = list(backend.bos_ids)
    return [PromptIds((tuple(bos + f[:k_run]), tuple(f[k_run:k_item]), tuple(f[k_item:]))) for f in fulls]


def target_ids(backend: Backend, targets: dict[str, tuple[str, ...]]) -> dict[str, list[int]]:
    """First token of each target string, per answer word; the words must not share tokens."""
    out: dict[str, list[int]] = {}
    for word, forms in targets.items():
        ids: list[int] = []
        for f in forms:
            t = backend.encode(f)[0]
            if t not in ids:
                ids.append(t)
        out[word] = ids
    words = list(out)
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            shared = set(out[a]) & set(out[b])
            if shared:
                raise LabeldistError(
                    f"answer words {a!r} and {b!r} start with the same token {backend.decode([shared.pop()])!r}",
                    "use --token-form fixed, or a model whose tokenizer separates them",
                )
    return out


class BreakdownScorer:
    """Unary and/or binary breakdown for one run: headers built once, items scored one by one."""

    def __init__(self, backend: Backend, label_set: LabelSet, demos: Sequence[Example], config):
        self.backend, self.label_set, self.config = backend, label_set, config
        seed = config.prompt.seed
        self.form = config.breakdown_token_form
        self.kinds = [m for m in config.methods if m in ("unary", "binary")]
        self.headers: dict[str, str] = {}
        self.header_ids: dict[str, list[int]] = {}
        self.targets: dict[str, dict[str, list[int]]] = {}
        for kind in self.kinds:
            rng = np.random.default_rng([seed, 2 if kind == "unary" else 3])
            build = build_unary_header if kind == "unary" else build_binary_header
            self.headers[kind] = build(demos, label_set, rng)
            self.header_ids[kind] = backend.encode(self.headers[kind])
            self.targets[kind] = target_ids(backend, breakdown_targets(kind, self.form))
        if "binary" in self.kinds:  # fail before any work if the label set is too large
            binary_pairs(label_set, both_orders=config.binary_both_orders, max_pairs=config.max_binary_pairs)

    def _score(self, kind: str, prompt) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
        ids = segment_prompts(self.backend, self.headers[kind], self.header_ids[kind], prompt.texts())
        words = list(self.targets[kind])
        flat = [t for w in words for t in self.targets[kind][w]]
        before = dict(getattr(self.backend, "stats", {}))
        scores, bounded = self.backend.score_next(ids, candidate_ids=flat)
        forward = getattr(self.backend, "stats", {}).get("forward_tokens", 0) - before.get("forward_tokens", 0)
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
                res = unary_breakdown_probs(s["reasonable"], s["unreasonable"], self.label_set)
                rec.methods["unary"] = res.probs.tolist()
                rec.breakdown["unary"] = {
                    "candidates": list(prompt.ending_labels),
                    "p_reasonable": res.reasonable_probs.tolist(),
                    "scores": {w: v.tolist() for w, v in s.items()},
                }
            else:
                prompt = build_binary_prompt(ex.text, self.headers[kind], self.label_set, token_form=self.form,
                                             both_orders=self.config.binary_both_orders,
                                             max_pairs=self.config.max_binary_pairs)
                bounded, s, fwd = self._score(kind, prompt)
                pairs = np.array(prompt.pairs)
                n = len(pairs) // 2 if self.config.binary_both_orders else len(pairs)
                res = binary_breakdown_probs(
                    s["a"][:n], s["b"][:n], self.label_set,
                    swapped_a_scores=s["a"][n:] if self.config.binary_both_orders else None,
                    swapped_b_scores=s["b"][n:] if self.config.binary_both_orders else None,
                    pairs=pairs[:n], hard=self.config.binary_hard,
                )
                rec.methods["binary"] = res.probs.tolist()
                rec.breakdown["binary"] = {
                    "pairs": pairs.tolist(),
                    "pair_probs": res.pair_probs.tolist(),
                    "bt_scores": res.scores.tolist(),
                    "position_disagreement": None if res.position_disagreement is None else float(res.position_disagreement),
                    "scores": {w: v.tolist() for w, v in s.items()},
                }
            rec.breakdown[kind]["scored_values"] = int(bounded.size)
            rec.breakdown[kind]["bounded_scores"] = int(bounded.sum())
            rec.cost[kind] = {"prompts": len(prompt.endings), "forward_tokens": int(fwd)}
