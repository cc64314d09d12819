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
from labeldist.estimators.marginal import MarginalSettings, marginal_search
from labeldist.labels.llamaguard import grammar_for
from labeldist.labels.spans import FreeAnswerReader
from labeldist.methods import MARGINAL_GROUP
from labeldist.records import ExampleRecord, LabelSet, PromptIds, StageCost


def free_reader(label_set: LabelSet, backend: Backend, pieces, *, required: bool) -> FreeAnswerReader | None:
    """The reader of free answers, or None when the labels have no token units of their own under this
    tokenizer (the token-level methods then fall back; the marginal search, ``required``, is refused)."""
    try:
        return FreeAnswerReader(grammar_for(label_set, backend.tokenizer, pieces, backend.eos_ids), backend.eos_ids)
    except LabeldistError as e:
        if required:
            raise LabeldistError(f"the marginal search cannot read free answers ({e})") from None
        return None


class MarginalScorer:
    """Runs :func:`~labeldist.estimators.marginal.marginal_search` for one example at a time."""

    def __init__(self, backend: Backend, label_set: LabelSet, space, settings: MarginalSettings, *, constrained: bool):
        self.backend, self.label_set, self.space, self.settings = backend, label_set, space, settings
        self.constrained = constrained
        self.none_index = label_set.n_labels if label_set.multilabel else None

    def score(self, rec: ExampleRecord, prompt: PromptIds) -> None:
        before = self.backend.stats.get("forward_tokens", 0)

        def expand(paths, allowed):
            return self.backend.expand(prompt, paths, allowed=allowed)

        res = marginal_search(expand, self.space, self.label_set.n_labels, self.settings,
                              constrained=self.constrained, none_index=self.none_index)
        res.forward_tokens = int(self.backend.stats.get("forward_tokens", 0) - before)
        rec.marginal = res
        rec.cost[MARGINAL_GROUP] = StageCost(prompts=1, prompt_tokens=len(prompt), forward_tokens=res.forward_tokens,
                                             generated_tokens=res.nodes_expanded)
