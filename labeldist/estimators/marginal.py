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
  (the backend keeps a key/value cache per node, so a node costs its new tokens).
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
    s = settings
    n_cand = max(len(space.candidates), n_labels)
    tally = _Tally(n_cand)
    normalize = s.normalize and constrained
    outside = outside_w = 0.0
    scored = bounded = 0
    log_min = math.log(s.min_path_prob) if s.min_path_prob > 0 else -math.inf
    counter = 0
    frontier: list[_Node] = []

    def fold(path: tuple[int, ...], state):
        """Normalised search: append forced tokens (probability 1 under the constrained sampler)."""
        if normalize:
            while not space.done(state):
                allowed = space.allowed(state)
                if len(allowed) != 1:
                    break
                state = space.advance(state, allowed[0])
                path = path + (int(allowed[0]),)
        return path, state

    def child(path: tuple[int, ...], state, logp: float, keep: bool) -> None:
        nonlocal counter
        mass = math.exp(logp)
        if space.done(state):
            tally.answer(mass, space.labels_in(state), none_index)
        elif keep and logp >= log_min and len(path) < s.max_depth:
            counter += 1
            heapq.heappush(frontier, _Node(-logp, counter, path, state))
        else:
            tally.prune(mass, space.labels_in(state), space.reachable(state))

    root_path, root_state = fold((), space.initial())
    child(root_path, root_state, 0.0, True)
    expanded = 0
    while frontier and expanded < s.max_nodes:
        batch = [heapq.heappop(frontier) for _ in range(min(s.batch_nodes, len(frontier), s.max_nodes - expanded))]
        allowed = [tuple(space.allowed(n.state)) if constrained else None for n in batch]
        rows = expand([n.path for n in batch], allowed)
        expanded += len(batch)
        for node, row, ok in zip(batch, rows, allowed):
            logp = -node.neg_logp
            p_node = math.exp(logp)
            if constrained:
                ids = np.asarray(ok, dtype=np.int64)
                lp = np.asarray(row[ids], dtype=np.float64)
                known = ~np.isnan(lp)
                scored += len(ids)
                bounded += int((~known).sum())
                unknown = 0.0
                if not known.all():  # at most the row's smallest listed probability each, and what is unlisted
                    listed = np.asarray(row, dtype=np.float64)
                    listed = listed[~np.isnan(listed)]
                    rest = max(0.0, 1.0 - float(np.exp(listed).sum()))
                    unknown = min(float((~known).sum()) * float(np.exp(listed.min())) if listed.size else 1.0, rest)
                ids, lp = ids[known], lp[known]
                a_known = float(np.exp(lp).sum())
                node_outside = max(0.0, 1.0 - a_known - unknown)
                if normalize:
                    z = a_known + unknown
                    lp = lp - math.log(z) if z > 0 else lp
                    unknown = unknown / z if z > 0 else 0.0
                    outside += p_node * node_outside
                    outside_w += p_node
                else:
                    outside += p_node * node_outside
                tally.prune(p_node * unknown, space.labels_in(node.state), space.reachable(node.state))
                live = np.isfinite(lp)  # a child of probability 0 adds nothing
                ids, lp = ids[live], lp[live]
                order = np.argsort(-lp, kind="stable")
                probs = np.exp(lp[order])
                total = probs.sum()
                cum = np.cumsum(probs)
                n_keep = int(np.searchsorted(cum, s.top_p * total - 1e-12)) + 1  # smallest prefix reaching top_p
                for k, j in enumerate(order):
                    tok = int(ids[j])
                    path, state = fold(node.path + (tok,), space.advance(node.state, tok))
                    child(path, state, logp + float(lp[j]), k < n_keep)
            else:
                _free_children(node, logp, np.asarray(row), space, s, child, tally)
    for node in frontier:  # node budget spent
        tally.prune(math.exp(-node.neg_logp), space.labels_in(node.state), space.reachable(node.state))

    real = slice(0, n_labels)
    e, certain, possible = tally.answers[real], tally.certain[real], tally.possible[real]
    rate = e / tally.explored if tally.explored > 0 else np.zeros(n_labels)
    exact_below = 1.0 if (normalize or not constrained) else 0.0
    lower = e + exact_below * certain
    upper = e + certain + possible + (0.0 if normalize or not constrained else outside)
    estimate = e + certain + possible * rate
    clip = lambda x: np.clip(x, 0.0, 1.0).tolist()  # noqa: E731 - float round-off only
    return MarginalScores(
        lower=clip(lower), upper=clip(upper), estimate=clip(np.clip(estimate, lower, upper)),
        explored_mass=float(tally.explored), pruned_mass=float(tally.pruned),
        outside_mass=float(outside / outside_w if normalize and outside_w > 0 else outside),
        none_mass=float(tally.none) if none_index is not None or not constrained else None,
        n_answers=tally.n_answers, nodes_expanded=expanded, scored_values=scored, bounded_values=bounded,
        settings={**s.to_dict(), "decoding": "constrained" if constrained else "free", "estimate_rule": ESTIMATE_RULE},
    )


def _free_children(node: _Node, logp: float, row: np.ndarray, space, s: MarginalSettings, child, tally) -> None:
    """Children of a free-decoding node: the nucleus's most probable tokens, end-of-sequence tokens
    (counted exactly), and the rest of the vocabulary's mass pruned with the node's labels."""
    p_node = math.exp(logp)
    lp = np.where(np.isnan(row), -np.inf, row.astype(np.float64))
    # only tokens that could pass the path threshold, or end the answer, are looked at one by one
    floor = math.log(s.min_path_prob) - logp if s.min_path_prob > 0 else -math.inf
    cand = np.flatnonzero(lp >= min(floor, np.sort(lp)[-1]))
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
