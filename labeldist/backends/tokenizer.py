"""The tokenizer half of the backend interface, shared by every backend that holds a local
Hugging Face tokenizer (``self.tokenizer``): the transformers backend and the HTTP backend."""

from __future__ import annotations

from typing import Sequence

from labeldist.errors import LabeldistError


class LocalTokenizerMixin:
    """``encode``, ``decode``, ``bos_ids``, ``vocab`` and ``chat_prompt`` from ``self.tokenizer``."""

    tokenizer: object

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    @property
    def bos_ids(self) -> list[int]:
        """What the tokenizer puts before the text (e.g. Gemma's ``<bos>``); empty for SmolLM2 and Qwen."""
        with_special = self.tokenizer("a", add_special_tokens=True)["input_ids"]
        without = self.tokenizer("a", add_special_tokens=False)["input_ids"]
        return list(with_special[: len(with_special) - len(without)]) if with_special[-len(without):] == without else []

    @property
    def vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()

    def chat_prompt(self, messages: list[dict]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise LabeldistError(f"model {self.info.name!r} has no chat template", "drop --chat (use the plain few-shot prompt)")
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
