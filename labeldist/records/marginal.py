"""Records of the token-level methods: where labels sit in the greedy answer, and the marginal search's result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class LabelSpan:
    """One label written in a generated answer: candidate name and its tokens ``ids[start:end]``.

    Constrained answers: the label's unit in its slot (from the answer grammar). Free
    answers: a label unit whose token sequence is followed by a label boundary (the
    separator, the closing or end of sequence), never a string suffix.
    """

    label: str
    start: int
    end: int


@dataclass
class MarginalScores:
    """P(label appears in the answer) by best-first search over the answer's decoding paths.

    Per-label arrays are in ``LabelSet.labels`` order (``none`` is not a column). With
    E the explored complete answers and N the pruned nodes (mass ``m_n``, labels already
    written on the node's path ``D_n``, labels still possible below it ``R_n ⊇ D_n``)::

        lower_l    = Σ_{a∈E, l∈a} P(a) + Σ_{n∈N, l∈D_n} m_n · c
        upper_l    = lower_l + Σ_{n∈N, l∉D_n, l∈R_n} m_n  (+ the mass that left the grammar, unnormalised)
        estimate_l = lower_l + Σ_{n∈N, l∉D_n, l∈R_n} m_n · r_l,   r_l = Σ_{a∈E, l∈a} P(a) / Σ_{a∈E} P(a)

    ``c`` is 1 where every completion of a node is an answer (normalised grammar search,
    free decoding) — the label is already written; unnormalised grammar search counts
    those nodes in the upper bound only. The estimate's rule: unexplored mass contains a
    still-possible label at the rate the explored answers contain it.

    Attributes
    ----------
    lower, upper, estimate : list of float, length n_labels
    explored_mass : float
        Σ_{a∈E} P(a), the mass of the complete answers found.
    pruned_mass : float
        Σ_{n∈N} m_n (nucleus, path-probability, depth and node-budget pruning, and the mass
        a served model's top-k did not list).
    outside_mass : float
        Unnormalised grammar search: the model's mass on tokens the grammar does not allow
        (at expanded nodes). Normalised search: the path-probability-weighted mean of that
        mass per expanded node (a diagnostic; it is not part of the answers' mass).
    none_mass : float or None
        Mass of the explored answers with no label (``none`` / ``safe``).
    n_answers, nodes_expanded, forward_tokens : int
    scored_values, bounded_values : int
        Log-probabilities the search read for allowed tokens, and how many of them a
        served model could only bound (their mass is counted as pruned).
    settings : dict
        ``top_p``, ``min_path_prob``, ``max_depth``, ``normalize``, ``max_nodes``,
        ``decoding`` and the estimate rule.
    """

    lower: list[float]
    upper: list[float]
    estimate: list[float]
    explored_mass: float
    pruned_mass: float
    outside_mass: float = 0.0
    none_mass: float | None = None
    n_answers: int = 0
    nodes_expanded: int = 0
    forward_tokens: int = 0
    scored_values: int = 0
    bounded_values: int = 0
    settings: dict = field(default_factory=dict)

    @property
    def bound_gap(self) -> float:
        """Mean over labels of upper − lower: how far from exact the values are."""
        return sum(u - lo for u, lo in zip(self.upper, self.lower)) / max(1, len(self.lower))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MarginalScores":
        return cls(list(d["lower"]), list(d["upper"]), list(d["estimate"]), float(d["explored_mass"]),
                   float(d["pruned_mass"]), float(d.get("outside_mass", 0.0)), d.get("none_mass"),
                   int(d.get("n_answers", 0)), int(d.get("nodes_expanded", 0)), int(d.get("forward_tokens", 0)),
                   int(d.get("scored_values", 0)), int(d.get("bounded_values", 0)), dict(d.get("settings") or {}))
