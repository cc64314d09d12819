"""Prompts as token-id segments: what prompt builders produce and every backend consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromptIds:
    """A prompt as token ids, split into segments at cache points.

    ``ids`` is the concatenation of ``segments``; special tokens (BOS) are already in it.
    Segment boundaries are cache points: a backend may keep the key/value cache of any
    leading run of segments and reuse it for later prompts that start with the same
    segments (the few-shot prefix is one segment; a breakdown item's question another).
    """

    segments: tuple[tuple[int, ...], ...]

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(t for seg in self.segments for t in seg)

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments)
