"""The one narrow interface every model backend implements.

A backend turns token-id prompts into (a) greedy generations with the scores of chosen
candidate tokens at every step and (b) next-token scores of candidate tokens. Scores are
*logits up to a per-step additive constant*: the transformers backend returns raw logits,
an HTTP backend returns log-probabilities. Every estimator in labeldist only uses
differences of scores within one step (softmax over candidates, z_l - z_none), which the
constant cancels out of.

Prompts are given as :class:`PromptIds`, a tuple of token-id segments. Segment
boundaries are cache points: a backend may keep the key/value cache of any leading run of
segments and reuse it for later prompts that start with the same segments (the few-shot
prefix is one segment; a breakdown item's question another).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class PromptIds:
    """A prompt as token ids, split into segments at cache points.

    ``ids`` is the concatenation of ``segments``; special tokens (BOS) are already in it.
    """

    segments: tuple[tuple[int, ...], ...]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(t for seg in self.segments for t in seg)

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments)


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
        ``"eos"``, ``"stop"`` (a stop string appeared) or ``"length"``.
    hidden : np.ndarray or None, shape (n_steps, hidden_size)
        Last-layer hidden state of the input position at each step, only when requested.
    """

    ids: list[int]
    candidate_scores: np.ndarray
    bounded: np.ndarray
    stop_reason: str
    hidden: np.ndarray | None = None


@dataclass
class BackendInfo:
    """What a run records about the model it used."""

    name: str
    backend: str
    source: str
    sha256: str | None = None
    dtype: str | None = None
    extra: dict = field(default_factory=dict)


class Backend(ABC):
    """Batch in, list out, same order. Implementations: transformers, HTTP."""

    info: BackendInfo

    # -- tokenizer -----------------------------------------------------------------
    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` (special tokens kept as text)."""

    @property
    @abstractmethod
    def bos_ids(self) -> list[int]:
        """Tokens the model expects at the very start of a prompt (may be empty)."""

    @property
    @abstractmethod
    def eos_ids(self) -> frozenset[int]:
        """Token ids that end a generation."""

    @property
    @abstractmethod
    def context_length(self) -> int:
        """Maximum number of tokens (prompt + generation) the model accepts."""

    @property
    @abstractmethod
    def vocab(self) -> dict[str, int]:
        """Token string -> id, as the tokenizer stores it (byte-level forms for BPE)."""

    def chat_prompt(self, messages: list[dict]) -> str:
        """Render a chat with the model's own template, ending with the assistant turn's start."""
        from labeldist.errors import LabeldistError

        raise LabeldistError(f"backend {type(self).__name__} cannot render chat templates", "drop --chat")

    context_owner = "model"  # how errors name whose context is exceeded

    def check_length(self, prompts: Sequence[PromptIds], extra: int) -> None:
        """Refuse any prompt whose tokens plus ``extra`` to generate exceed the context length."""
        from labeldist.errors import LabeldistError

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
    ) -> list[Generation]:
        """Greedy generation for every prompt; see :class:`Generation`."""

    @abstractmethod
    def score_next(
        self, prompts: Sequence[PromptIds], *, candidate_ids: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Next-token scores of ``candidate_ids`` after each prompt.

        Returns ``(scores, bounded)``, both of shape ``(n_prompts, n_candidate_ids)``.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (servers, caches)."""
