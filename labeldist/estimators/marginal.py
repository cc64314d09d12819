"""Marginal label probabilities: P(label appears in the answer) by best-first search over decoding paths.

Praharaj & Kasundra (2025) define the marginal of a label as its probability of appearing
anywhere in the generated answer and estimate it with a depth-first search over top-p
continuations (REFERENCE-METHODS-2.md §1.5). Their code sums ``curr_prob · p`` at every
token whose decoded text ends with the label, so it computes an expected emission count
(a label written twice counts twice; values exceed 1), matches ``S1`` inside ``S10``,
credits children below the pruning threshold, and runs the whole prompt for every node.
Here:

* **What is summed.** Complete answers, each counted once: ``P(l) = Σ_{a ∋ l} P(a)``. A
  label is in an answer when its whole unit ends at a label boundary (the answer grammar,
  or :class:`~labeldist.labels.spans.FreeAnswerReader` under free decoding).
* **Search.** Best-first: the frontier's most probable nodes are expanded together, in
  batches of ``batch_nodes``, by ``expand(paths, allowed) -> (n_paths, vocab) log-probs``
  (the backend keeps a key/value cache per node, so a node costs its new tokens);
  :func:`marginal_search_many` advances the searches of several examples together, so one
  forward serves all their frontiers. Without a node budget, which nodes are expanded
  does not depend on the order or the batching, only the cost does.
* **Pruning** (the reference's defaults: top-p 0.99, path probability 0.01, depth 20). At
  a node, children outside the nucleus (the smallest set of the most probable children
  whose mass reaches ``top_p`` of the node's), below ``min_path_prob`` or at ``max_depth``
  answer tokens are not expanded. A child that is already a complete answer needs no
  expansion, so it is always counted exactly, pruned or not; every other pruned child's
  mass is kept with the labels already written on its path and the labels still possible
  below it, which give the bounds (:class:`~labeldist.records.MarginalScores`). Nodes left
  when ``max_nodes`` is reached are pruned the same way.
* **Constrained decoding.** The search runs over the grammar's answers (label sets in
  some order), so it is usually exact at small cost. ``normalize=True`` (default) uses the
  distribution the constrained sampler draws from: at every node the model's
  probabilities renormalised over the allowed tokens (forced tokens then have probability
  1 and are appended without a node of their own). ``normalize=False`` keeps the model's
  own full-vocabulary probabilities; the mass on tokens the grammar does not allow is
  ``outside_mass``, which is no answer's: it enters no lower bound and every upper bound.
* **Free decoding.** The search runs over free token paths with the same pruning; a path
  ends at end of sequence, at the answer's closing, or at a token that leaves the answer's
  grammar after the opening (the labels written so far stand). The mass of tokens a node's
  processed children do not cover (the vocabulary's tail; a served model's unlisted
  tokens) is pruned with the node's labels.

A served model reports only its top-k (:meth:`labeldist.backends.base.Backend.expand`:
NaN for unlisted tokens): an allowed token it cannot score exactly is *bounded* (counted
in ``bounded_values``); its mass, at most the row's smallest listed probability, is
pruned, so it widens the bounds instead of being guessed.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.records import MarginalScores

#: How the estimate shares out unexplored mass (recorded in ``MarginalScores.settings``).
ESTIMATE_RULE = ("lower bound + each pruned node's mass for labels already written on its path + its mass "
                 "times the explored answers' rate of each label still possible below it")

Expand = Callable[[list[tuple[int, ...]], list[Sequence[int] | None]], np.ndarray]


@dataclass(frozen=True)
class MarginalSettings:
    """Pruning and batching of the marginal search (defaults: the reference's pruning).

    Attributes
    ----------
    top_p : float, default 0.99
        Nucleus per node: children beyond the smallest most-probable set holding this share
        of the node's mass are pruned.
    min_path_prob : float, default 0.01
        Children whose path probability is below this are not expanded (checked before any
        credit; a child that is already a complete answer is counted exactly).
    max_depth : int, default 20
        Answer tokens at most on an expanded path.
    normalize : bool, default True
        Constrained decoding: renormalise over the allowed tokens (the constrained
        sampler's distribution); False keeps the model's full-vocabulary probabilities.
    batch_nodes : int, default 32
        Frontier nodes expanded per backend call.
    max_nodes : int, default 2000
        Node budget per example; what is left is pruned (and shows in the bounds).
    """

    top_p: float = 0.99
    min_path_prob: float = 0.01
    max_depth: int = 20
    normalize: bool = True
    batch_nodes: int = 32
    max_nodes: int = 2000

    def __post_init__(self) -> None:
        if not 0.0 < self.top_p <= 1.0:
            raise LabeldistError(f"marginal top-p must be in (0, 1], got {self.top_p}", "use e.g. --marginal-top-p 0.99")
        if not 0.0 <= self.min_path_prob < 1.0:
            raise LabeldistError(f"marginal path-probability threshold must be in [0, 1), got {self.min_path_prob}",
                                 "use e.g. --marginal-min-prob 0.01")
        if self.max_depth < 1 or self.batch_nodes < 1 or self.max_nodes < 1:
            raise LabeldistError("marginal max depth, batch and node budget must be at least 1",
                                 "use e.g. --marginal-max-depth 20")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(order=True)
class _Node:
    neg_logp: float
    order: int
    path: tuple[int, ...]
    state: object


class _Tally:
    """Mass bookkeeping over candidates (``none`` included): explored answers and pruned nodes."""

    def __init__(self, n_cand: int):
        self.answers = np.zeros(n_cand)  # Σ P(a) over explored answers containing c
        self.certain = np.zeros(n_cand)  # Σ m_n over pruned nodes with c written
        self.possible = np.zeros(n_cand)  # Σ m_n over pruned nodes where c is possible, not written
        self.explored = self.pruned = self.none = 0.0
        self.n_answers = 0

    def answer(self, mass: float, labels, none_index: int | None) -> None:
        self.explored += mass
        self.n_answers += 1
        idx = list(labels)
        self.answers[idx] += mass
        if not (set(idx) - {none_index}):
            self.none += mass

    def prune(self, mass: float, written, reachable) -> None:
        if mass <= 0.0:
            return
        self.pruned += mass
        w = list(written)
        self.certain[w] += mass
        self.possible[list(set(reachable) - set(written))] += mass


class MarginalSearch:
    """One example's best-first search, advanced batch by batch (so several examples can share forwards).

    ``pop(k)`` takes the ``k`` most probable frontier nodes and returns ``(paths, allowed)`` to
    expand; ``feed(rows)`` takes their log-probabilities (shape (k, vocab)) and grows the tree;
    ``result()`` gives the :class:`~labeldist.records.MarginalScores` once ``finished``.
    Parameters as :func:`marginal_search`.
    """

    def __init__(self, space, n_labels: int, settings: MarginalSettings = MarginalSettings(), *, constrained: bool,
                 none_index: int | None = None):
        self.space, self.n_labels, self.s = space, n_labels, settings
        self.constrained, self.none_index = constrained, none_index
        self.normalize = settings.normalize and constrained
        self.tally = _Tally(max(len(space.candidates), n_labels))
        self.outside = self.outside_w = 0.0
        self.scored = self.bounded = self.expanded = 0
        self.log_min = math.log(settings.min_path_prob) if settings.min_path_prob > 0 else -math.inf
        self.counter = 0
        self.frontier: list[_Node] = []
        self._batch: list[_Node] = []
        self._child(*self._fold((), space.initial()), 0.0, True)

    @property
    def finished(self) -> bool:
        return not self.frontier or self.expanded >= self.s.max_nodes

    def _fold(self, path: tuple[int, ...], state):
        """Normalised search: append forced tokens (probability 1 under the constrained sampler)."""
        if self.normalize:
            while not self.space.done(state):
                allowed = self.space.allowed(state)
                if len(allowed) != 1:
                    break
                state = self.space.advance(state, allowed[0])
                path = path + (int(allowed[0]),)
        return path, state

    def _child(self, path: tuple[int, ...], state, logp: float, keep: bool) -> None:
        mass = math.exp(logp)
        if self.space.done(state):
            self.tally.answer(mass, self.space.labels_in(state), self.none_index)
        elif keep and logp >= self.log_min and len(path) < self.s.max_depth:
            self.counter += 1
            heapq.heappush(self.frontier, _Node(-logp, self.counter, path, state))
        else:
            self.tally.prune(mass, self.space.labels_in(state), self.space.reachable(state))

    def pop(self, k: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...] | None]]:
        """The next batch: the ``k`` most probable frontier nodes (within the node budget)."""
        k = min(k, len(self.frontier), self.s.max_nodes - self.expanded)
        self._batch = [heapq.heappop(self.frontier) for _ in range(k)]
        allowed = [tuple(self.space.allowed(n.state)) if self.constrained else None for n in self._batch]
        self._allowed = allowed
        return [n.path for n in self._batch], allowed

    def feed(self, rows: np.ndarray) -> None:
        """Grow the tree from the popped nodes' next-token log-probabilities, shape (k, vocab)."""
        space, s, tally = self.space, self.s, self.tally
        self.expanded += len(self._batch)
        for node, row, ok in zip(self._batch, rows, self._allowed):
            logp = -node.neg_logp
            p_node = math.exp(logp)
            if not self.constrained:
                _free_children(node, logp, np.asarray(row), space, s, self._child, tally)
                continue
            ids = np.asarray(ok, dtype=np.int64)
            lp = np.asarray(row[ids], dtype=np.float64)
            known = ~np.isnan(lp)
            self.scored += len(ids)
            self.bounded += int((~known).sum())
            unknown = 0.0
            if not known.all():  # at most the row's smallest listed probability each, and what is unlisted
                listed = np.asarray(row, dtype=np.float64)
                listed = listed[~np.isnan(listed)]
                rest = max(0.0, 1.0 - float(np.exp(listed).sum()))
                unknown = min(float((~known).sum()) * float(np.exp(listed.min())) if listed.size else 1.0, rest)
            ids, lp = ids[known], lp[known]
            a_known = float(np.exp(lp).sum())
            node_outside = max(0.0, 1.0 - a_known - unknown)
            self.outside += p_node * node_outside
            if self.normalize:
                z = a_known + unknown
                lp = lp - math.log(z) if z > 0 else lp
                unknown = unknown / z if z > 0 else 0.0
                self.outside_w += p_node
            tally.prune(p_node * unknown, space.labels_in(node.state), space.reachable(node.state))
            live = np.isfinite(lp)  # a child of probability 0 adds nothing
            ids, lp = ids[live], lp[live]
            order = np.argsort(-lp, kind="stable")
            cum = np.cumsum(np.exp(lp[order]))
            n_keep = int(np.searchsorted(cum, s.top_p * (cum[-1] if cum.size else 0.0) - 1e-12)) + 1
            for k, j in enumerate(order):  # the nucleus: the smallest most-probable prefix reaching top_p
                tok = int(ids[j])
                path, state = self._fold(node.path + (tok,), space.advance(node.state, tok))
                self._child(path, state, logp + float(lp[j]), k < n_keep)
        self._batch = []

    def result(self) -> MarginalScores:
        for node in self.frontier:  # node budget spent
            self.tally.prune(math.exp(-node.neg_logp), self.space.labels_in(node.state), self.space.reachable(node.state))
        self.frontier = []
        tally, n = self.tally, self.n_labels
        e, certain, possible = tally.answers[:n], tally.certain[:n], tally.possible[:n]
        rate = e / tally.explored if tally.explored > 0 else np.zeros(n)
        exact_below = 1.0 if (self.normalize or not self.constrained) else 0.0
        lower = e + exact_below * certain
        upper = e + certain + possible + (0.0 if self.normalize or not self.constrained else self.outside)
        estimate = np.clip(e + certain + possible * rate, lower, upper)
        clip = lambda x: np.clip(x, 0.0, 1.0).tolist()  # noqa: E731 - float round-off only
        return MarginalScores(
            lower=clip(lower), upper=clip(upper), estimate=clip(estimate),
            explored_mass=float(tally.explored), pruned_mass=float(tally.pruned),
            outside_mass=float(self.outside / self.outside_w if self.normalize and self.outside_w > 0 else self.outside),
            none_mass=float(tally.none),
            n_answers=tally.n_answers, nodes_expanded=self.expanded, scored_values=self.scored,
            bounded_values=self.bounded,
            settings={**self.s.to_dict(), "decoding": "constrained" if self.constrained else "free",
                      "estimate_rule": ESTIMATE_RULE},
        )


def marginal_search(expand: Expand, space, n_labels: int, settings: MarginalSettings = MarginalSettings(), *,
                    constrained: bool, none_index: int | None = None) -> MarginalScores:
    """Best-first search over the answers of one prompt; see the module docstring.

    Parameters
    ----------
    expand : callable
        ``expand(paths, allowed)``: full-vocabulary log-probabilities after each path,
        shape (n_paths, vocab); NaN = unknown. ``allowed[i]`` is the tuple of tokens the
        space allows after path ``i`` (None under free decoding).
    space : AnswerGrammar, LlamaGuardGrammar or FreeAnswerReader
        ``initial/advance/done/labels_in/reachable`` (and ``allowed`` when constrained);
        candidate indices ``0..n_labels-1`` are the real labels, ``none_index`` the
        no-label answer.
    n_labels : int
        Real labels (the returned arrays' length).
    constrained : bool
        Search the grammar's answers (``space.allowed``) or free token paths.
    """
    search = MarginalSearch(space, n_labels, settings, constrained=constrained, none_index=none_index)
    while not search.finished:
        paths, allowed = search.pop(settings.batch_nodes)
        search.feed(expand(paths, allowed))
    return search.result()


def marginal_search_many(expand_many: Callable, n_items: int, space, n_labels: int,
                         settings: MarginalSettings = MarginalSettings(), *, constrained: bool,
                         none_index: int | None = None) -> list[MarginalScores]:
    """The searches of ``n_items`` examples advanced together: each round takes up to ``batch_nodes``
    nodes from every unfinished search and expands them in one call, ``expand_many(owners, paths,
    allowed)`` (``owners[i]``: the example of path ``i``), so a forward serves many examples at once.
    Each example's search is the one :func:`marginal_search` does."""
    searches = [MarginalSearch(space, n_labels, settings, constrained=constrained, none_index=none_index)
                for _ in range(n_items)]
    while True:
        live = [(i, s) for i, s in enumerate(searches) if not s.finished]
        if not live:
            break
        owners, paths, allowed, sizes = [], [], [], []
        for i, s in live:
            p, a = s.pop(settings.batch_nodes)
            owners += [i] * len(p)
            paths += p
            allowed += a
            sizes.append(len(p))
        rows = expand_many(owners, paths, allowed)
        at = 0
        for (i, s), k in zip(live, sizes):
            s.feed(rows[at:at + k])
            at += k
    return [s.result() for s in searches]


def _free_children(node: _Node, logp: float, row: np.ndarray, space, s: MarginalSettings, child, tally) -> None:
    """Children of a free-decoding node: the nucleus's most probable tokens, end-of-sequence tokens
    (counted exactly), and the rest of the vocabulary's mass pruned with the node's labels."""
    p_node = math.exp(logp)
    lp = np.where(np.isnan(row), -np.inf, row.astype(np.float64))
    # only tokens that could pass the path threshold, or end the answer, are looked at one by one
    floor = math.log(s.min_path_prob) - logp if s.min_path_prob > 0 else -math.inf
    cand = np.flatnonzero(lp >= min(floor, lp.max()))
    if cand.size > 512:
        cand = cand[np.argsort(-lp[cand])[:512]]
    order = cand[np.argsort(-lp[cand], kind="stable")]
    probs = np.exp(lp[order])
    cum = np.cumsum(probs)
    n_keep = int(np.searchsorted(cum, s.top_p - 1e-12)) + 1
    eos = [t for t in getattr(space, "eos", ()) if t < lp.size and np.isfinite(lp[t]) and t not in set(order.tolist())]
    covered = 0.0
    for k, tok in enumerate(list(order.tolist()) + eos):
        p_tok = math.exp(lp[tok])
        covered += p_tok
        path = node.path + (int(tok),)
        child(path, space.advance(node.state, int(tok)), logp + float(lp[tok]), k < n_keep)
    tally.prune(p_node * max(0.0, 1.0 - covered), space.labels_in(node.state), space.reachable(node.state))
