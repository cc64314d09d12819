"""The marginal stage of a run: one best-first search over the answer's decoding paths per example.

Its own stage, like the breakdown: the greedy answer is not needed. The search space is
the answer grammar under constrained decoding, or free token paths read with the
grammar's units under free decoding (:mod:`labeldist.labels.spans`); node expansions go to
:meth:`labeldist.backends.base.Backend.expand`. The result is stored in the record
(:class:`~labeldist.records.MarginalScores`); the registered method reads its estimate.
"""

from __future__ import annotations

from labeldist.backends.base import Backend
from labeldist.errors import LabeldistError
from labeldist.estimators.marginal import MarginalSettings, marginal_search_many
from labeldist.labels.llamaguard import grammar_for
from labeldist.labels.spans import FreeAnswerReader, closing_tokens, opening_variants
from labeldist.methods import MARGINAL_GROUP
from labeldist.records import ExampleRecord, LabelSet, PromptIds, StageCost


def free_reader(label_set: LabelSet, backend: Backend, pieces, *, required: bool) -> FreeAnswerReader | None:
    """The reader of free answers, or None when the labels have no token units of their own under this
    tokenizer (the token-level methods then fall back; the marginal search, ``required``, is refused)."""
    try:
        grammar = grammar_for(label_set, backend.tokenizer, pieces, backend.eos_ids)
        tok = backend.tokenizer
        return FreeAnswerReader(grammar, backend.eos_ids, closing_tokens(grammar, tok), opening_variants(grammar, tok))
    except LabeldistError as e:
        if required:
            raise LabeldistError(f"the marginal search cannot read free answers ({e})") from None
        return None


class MarginalScorer:
    """Runs the marginal searches of a batch of examples together
    (:func:`~labeldist.estimators.marginal.marginal_search_many`): every forward serves the
    frontier nodes of all the batch's unfinished searches."""

    def __init__(self, backend: Backend, label_set: LabelSet, space, settings: MarginalSettings, *, constrained: bool):
        self.backend, self.label_set, self.space, self.settings = backend, label_set, space, settings
        self.constrained = constrained
        self.none_index = label_set.n_labels if label_set.multilabel else None

    def score(self, records: list[ExampleRecord], prompts: list[PromptIds]) -> None:
        """Fill ``rec.marginal`` and ``rec.cost`` for every record. The batch's forward tokens are
        shared out to the examples in proportion to the nodes each expanded (they share forwards)."""
        before = self.backend.stats.get("forward_tokens", 0)

        def expand(owners, paths, allowed):
            return self.backend.expand([prompts[i] for i in owners], paths, allowed=allowed)

        results = marginal_search_many(expand, len(records), self.space, self.label_set.n_labels, self.settings,
                                       constrained=self.constrained, none_index=self.none_index)
        total = int(self.backend.stats.get("forward_tokens", 0) - before)
        nodes = sum(r.nodes_expanded for r in results) or 1
        for rec, prompt, res in zip(records, prompts, results):
            res.forward_tokens = int(round(total * res.nodes_expanded / nodes))
            rec.marginal = res
            rec.cost[MARGINAL_GROUP] = StageCost(prompts=1, prompt_tokens=len(prompt), forward_tokens=res.forward_tokens,
                                                 generated_tokens=res.nodes_expanded)
