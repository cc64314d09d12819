"""The small tokenizer protocol that prompts and label tokens are built on.

Prompt builders and the label-token map need only to encode and decode text, to know
which tokens start a prompt (BOS) and to render a chat with the model's template. Every
backend provides an object of this shape as ``backend.tokenizer``, so ``prompts/`` and
``labels/`` never depend on a backend.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable


@runtime_checkable
class Tokenizer(Protocol):
    """What prompts/ and labels/ need from a tokenizer."""

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` (special tokens kept as text)."""
        ...

    @property
    def bos_ids(self) -> list[int]:
        """Tokens the model expects at the very start of a prompt (may be empty)."""
        ...

    @property
    def has_chat_template(self) -> bool:
        """Whether :meth:`chat_prompt` can render chats."""
        ...

    def chat_prompt(self, messages: list[dict]) -> str:
        """Render a chat with the model's own template, ending with the assistant turn's start."""
        ...
