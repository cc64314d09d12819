"""The :class:`~labeldist.tokenizer.Tokenizer` of every backend that holds a local Hugging Face
tokenizer (the transformers backend and the HTTP backend, whose tokenizer stays local)."""

from __future__ import annotations

from typing import Sequence

from labeldist.errors import LabeldistError


class HFTokenizer:
    """``encode``, ``decode``, ``bos_ids``, chat rendering and the vocabulary of a transformers tokenizer.

    ``hf`` is the wrapped transformers tokenizer; ``name`` names the model in errors.
    """

    def __init__(self, hf, name: str):
        self.hf, self.name = hf, name

    def encode(self, text: str) -> list[int]:
        return list(self.hf(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return self.hf.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    @property
    def bos_ids(self) -> list[int]:
        """What the tokenizer puts before the text (e.g. Gemma's ``<bos>``); empty for SmolLM2 and Qwen."""
        with_special = self.hf("a", add_special_tokens=True)["input_ids"]
        without = self.hf("a", add_special_tokens=False)["input_ids"]
        return list(with_special[: len(with_special) - len(without)]) if with_special[-len(without):] == without else []

    def __len__(self) -> int:
        """Vocabulary size, added tokens included."""
        return len(self.hf)

    @property
    def vocab(self) -> dict[str, int]:
        """Token string -> id, as the tokenizer stores it (byte-level forms for BPE)."""
        return self.hf.get_vocab()

    @property
    def pad_id(self) -> int | None:
        return self.hf.pad_token_id

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.hf, "chat_template", None))

    def chat_prompt(self, messages: list[dict]) -> str:
        if not self.has_chat_template:
            raise LabeldistError(f"model {self.name!r} has no chat template", "drop --chat (use the plain few-shot prompt)")
        return self.hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
