"""The one narrow interface every model backend implements.

A backend turns token-id prompts into (a) greedy generations with the scores of chosen
candidate tokens at every step and (b) next-token scores of candidate tokens. Scores are
*logits up to a per-step additive constant*: the transformers backend returns raw logits,
an HTTP backend returns log-probabilities. Every estimator in labeldist only uses
differences of scores within one step (softmax over candidates, z_l - z_none), which the
constant cancels out of.

Prompts are given as :class:`~labeldist.records.PromptIds`, a tuple of token-id segments.
Segment boundaries are cache points: a backend may keep the key/value cache of any leading
run of segments and reuse it for later prompts that start with the same segments (the
few-shot prefix is one segment; a breakdown item's question another).

The interface is deliberately narrow: ``tokenizer``, ``info``, ``stats``, ``eos_ids``,
``context_length``, ``check_length``, ``generate``, ``score_next``, ``expand`` (search
nodes for the marginal method; optional) and ``close``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from labeldist.errors import LabeldistError
from labeldist.records import ModelInfo, PromptIds
from labeldist.tokenizer import Tokenizer


@dataclass
class Generation:
    """One greedy generation.

    Attributes
    ----------
    ids : list[int]
        Generated token ids, prompt excluded, up to and including the step that ended it.
    candidate_scores : np.ndarray, shape (n_steps, n_candidate_ids)
        Score of every requested candidate token id at every generated step; step ``t``
        is the distribution from which ``ids[t]`` was chosen.
    bounded : np.ndarray of bool, shape (n_steps, n_candidate_ids)
        True where a score is only an upper bound (a served model's top-k did not contain
        the token). Always False for local backends.
    stop_reason : str
        ``"eos"``, ``"stop"`` (a stop string appeared), ``"length"``, or ``"grammar"`` (a
        constrained answer is complete).
    hidden : np.ndarray or None, shape (n_steps, hidden_size)
        Last-layer hidden state of the input position at each step, only when requested.
    token_logprobs : np.ndarray, shape (n_steps,)
        Full-vocabulary log-softmax of ``ids[t]`` at step ``t`` (the conditional / joint
        methods read it); NaN where no forward ran for that token (the forced tokens that
        close a constrained answer) or a served model could not score it.

    Constrained generation only: ``allowed_logmass`` (n_steps,) = log of the model's mass on
    the tokens the constraint allowed at each step (NaN where unknown); ``token_logprobs −
    allowed_logmass`` is the token's log-probability under the constrained sampler.

    Constrained generation only (``constraint=`` given; empty arrays otherwise), all of
    shape (n_steps,):

    slots : bool
        The step is a label slot (``constraint.is_slot``): the first token of a label.
    outside_mass : float
        1 − Σ over the allowed tokens of the model's full-vocabulary softmax: the model's
        probability mass the grammar ruled out at that step (NaN where no logits were
        computed: the forced tokens that close an answer).
    overridden : bool
        The model's argmax over the whole vocabulary was not an allowed token.
    forced : bool
        Only one token was allowed (it was appended, not chosen).
    """

    ids: list[int]
    candidate_scores: np.ndarray
    bounded: np.ndarray
    stop_reason: str
    hidden: np.ndarray | None = None
    slots: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    outside_mass: np.ndarray = field(default_factory=lambda: np.zeros(0))
    overridden: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    forced: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    token_logprobs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    allowed_logmass: np.ndarray = field(default_factory=lambda: np.zeros(0))


class Constraint(Protocol):
    """Which tokens a constrained answer may continue with (``labeldist.labels.grammar.AnswerGrammar``).

    States are opaque; ``allowed`` is ascending and empty exactly when ``done``. A state
    with a single allowed token forces it.
    """

    def initial(self): ...

    def allowed(self, state) -> tuple[int, ...]: ...

    def advance(self, state, token: int): ...

    def done(self, state) -> bool: ...

    def is_slot(self, state) -> bool: ...


class Backend(ABC):
    """Batch in, list out, same order. Implementations: transformers, HTTP."""

    #: What a run records about the model (name, backend, source, sha256, dtype, extra).
    info: ModelInfo
    #: The model's tokenizer (:class:`labeldist.tokenizer.Tokenizer`): prompts and label tokens are built on it.
    tokenizer: Tokenizer
    #: Cost accounting, monotonically increasing counters: at least ``forward_tokens`` (tokens
    #: run through the model, prompt tokens a server served from its cache excluded) and
    #: ``forward_calls``; backends may add their own (requests, retries, ...).
    stats: dict[str, int]

    @property
    @abstractmethod
    def eos_ids(self) -> frozenset[int]:
        """Token ids that end a generation."""

    @property
    @abstractmethod
    def context_length(self) -> int:
        """Maximum number of tokens (prompt + generation) the model accepts."""

    context_owner = "model"  # how errors name whose context is exceeded

    def check_length(self, prompts: Sequence[PromptIds], extra: int) -> None:
        """Refuse any prompt whose tokens plus ``extra`` to generate exceed the context length."""
        for i, p in enumerate(prompts):
            if len(p) + extra > self.context_length:
                raise LabeldistError(
                    f"prompt {i} has {len(p)} tokens + {extra} to generate, over the {self.context_owner}'s context "
                    f"of {self.context_length}",
                    f"use fewer demonstrations (--shots), shorter texts, or a {self.context_owner} with a longer context",
                )

    # -- model -----------------------------------------------------------------------
    @abstractmethod
    def generate(
        self,
        prompts: Sequence[PromptIds],
        *,
        candidate_ids: Sequence[int],
        max_new_tokens: int,
        stop: Sequence[str] = (),
        want_hidden: bool = False,
        constraint: Constraint | None = None,
    ) -> list[Generation]:
        """Greedy generation for every prompt; see :class:`Generation`.

        With ``constraint``, each step's token is the argmax of the model's logits over the
        tokens the constraint allows; candidate scores are read from the unmasked logits;
        runs of forced tokens are appended without a decision; generation ends when the
        constraint is done (``max_new_tokens`` is then only a safety bound).
        """

    @abstractmethod
    def score_next(
        self, prompts: Sequence[PromptIds], *, candidate_ids: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Next-token scores of ``candidate_ids`` after each prompt.

        Returns ``(scores, bounded)``, both of shape ``(n_prompts, n_candidate_ids)``.
        """

    def expand(self, prompts: Sequence[PromptIds], paths: Sequence[tuple[int, ...]], *,
               allowed: Sequence[Sequence[int] | None] | None = None) -> np.ndarray:
        """Next-token log-probabilities after ``prompts[i] + paths[i]`` for every path (marginal search).

        Returns an array of shape ``(n_paths, vocab_size)``: the full-vocabulary log-softmax
        after each path. NaN marks a token whose log-probability is unknown (a served
        model's top-k did not list it); ``allowed[i]`` names the tokens that must be scored
        for path ``i`` (exactly where the backend can, else left NaN and counted bounded).
        Backends keep per-node key/value caches, so a path that extends an expanded one
        costs only its new tokens, never a re-prefill of the prompt; paths of several
        prompts (examples) may come in one call.
        """
        raise LabeldistError(f"the {type(self).__name__} backend cannot expand search nodes",
                             "use --backend hf or --backend http for --methods marginal")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (servers, caches)."""
