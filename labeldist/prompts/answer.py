"""The strings an answer is made of, per label format: what a constrained answer's grammar is built from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

from labeldist.records import LabelSet
from labeldist.tokenizer import Tokenizer


@dataclass(frozen=True)
class AnswerPieces:
    """The strings an answer is made of (the units of :mod:`labeldist.labels.grammar` are built from them)."""

    opening: str  # appended to the prompt
    first_prefix: str  # text before a first-slot label inside the answer (e.g. a leading space)
    separator: str  # after a label, before the next slot's label text
    later_prefix: str  # text before a later-slot label (e.g. the space after a comma)
    closing: str  # ends the answer


@dataclass(frozen=True)
class LlamaGuardPieces:
    """The strings of a Llama Guard style answer: ``safe``, or ``unsafe`` + line end + comma-separated
    category codes; the answer ends with the model's end-of-turn token (no closing text).

    ``opening`` is appended to the prompt under constrained decoding (empty: the chat template's
    assistant header is the answer's start; ``"\n\n"`` for checkpoints that write it first).
    """

    opening: str = ""
    safe: str = "safe"
    unsafe: str = "unsafe"
    line: str = "\n"
    separator: str = ","


def answer_pieces(label_format: str, *, json_key: str = "label", lead: str = "", line_end: str = "\n") -> AnswerPieces:
    """The pieces of a JSON (``{"label": ["a", "b"]}``) or comma (``a, b``) answer.

    ``lead`` is the template's text between the query and the answer (``"\\n"`` for
    ``Input: {text}\\n{label}``, ``" "`` after ``Answer:``); trailing spaces of it belong to
    the first label's tokens in the comma format (``Answer: care`` tokenises `` care``), so
    they are not part of the prompt there.
    """
    if label_format == "json":
        return AnswerPieces(lead + "{" + json.dumps(json_key) + ': ["', "", '", "', "", '"]}')
    if label_format == "comma":
        stripped = lead.rstrip(" ")
        return AnswerPieces(stripped, lead[len(stripped):], ",", " ", line_end or "\n")
    raise ValueError(f"unknown label format {label_format!r}")


def fold_label_spaces(pieces: AnswerPieces, tokenizer: Tokenizer, labels: Sequence[str]) -> AnswerPieces:
    """Comma answers whose tokenizer writes the space before every label as a token of its own
    (Qwen before digits: `` 1`` is `` `` + ``1``): that token is no decision, so it leaves the label
    units — into the opening (first slot) and the separator (later slots) — and each label slot is
    the label's own first token. Without this every label would start with the same token and the
    per-slot distributions could not tell the labels apart. ``labels`` are the answer's candidates
    (``none`` included): a multi-label digit scale, whose `` none`` is one token, is left as it is
    (its step-based methods are then left out with a warning). Other pieces are returned unchanged."""
    def own_token(prefix: str) -> bool:
        if not prefix:
            return False
        k = tokenizer.encode(prefix)
        return bool(k) and all(tokenizer.encode(prefix + label)[: len(k)] == k for label in labels)

    first, later = own_token(pieces.first_prefix), own_token(pieces.later_prefix)
    if not (first or later):
        return pieces
    return AnswerPieces(pieces.opening + pieces.first_prefix if first else pieces.opening,
                        "" if first else pieces.first_prefix,
                        pieces.separator + pieces.later_prefix if later else pieces.separator,
                        "" if later else pieces.later_prefix, pieces.closing)


def code_spelling(label_set: LabelSet, label: str) -> str:
    """The code as written: the label set's surface spelling, else ``S12`` for a label ``s12``."""
    spelled = label_set.spelling(label)
    if spelled == label and len(label) > 1 and label[0] == "s" and label[1:].isdigit():
        return "S" + label[1:]
    return spelled
