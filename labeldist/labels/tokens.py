"""Map each candidate label (and ``none``) to the token ids that can start it.

Paper §3 / REFERENCE §3.1. A label is represented by the *first token* of its surface
form in the context where the model writes it. Unlike the reference (one id per label,
taken in the first slot only), every candidate gets a set of **variants**:

* the first token in each context the prompt format produces (first slot and later
  slots, e.g. after ``["`` and after ``", "`` for JSON, after ``\\n`` and after ``, `` for
  the comma format), and
* the first token of the lower-case, Capitalised and UPPER-case forms, each with and
  without a leading space.

At a label position the candidate's score is the max over its variants' logits. Two
candidates whose *in-context* first tokens coincide cannot be told apart: that is an
error naming both labels. A secondary (case/space) variant shared by two candidates is
dropped from both and listed in :attr:`LabelTokenMap.dropped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from labeldist.errors import LabeldistError
from labeldist.records import LabelSet
from labeldist.tokenizer import Tokenizer


@dataclass(frozen=True)
class LabelTokenMap:
    """Candidate label -> token-id variants.

    Attributes
    ----------
    candidates : tuple of str
        ``LabelSet.candidates`` order (real labels, then ``none`` for multi-label sets).
    variants : tuple of tuple of int
        ``variants[c]`` = token ids that start candidate ``c``; the first entry is the
        canonical in-context token.
    variant_text : tuple of tuple of str
        Decoded text of each variant, for records and debugging.
    dropped : tuple of str
        Human-readable notes on variants removed because two candidates shared them.
    """

    candidates: tuple[str, ...]
    variants: tuple[tuple[int, ...], ...]
    variant_text: tuple[tuple[str, ...], ...] = ()
    dropped: tuple[str, ...] = field(default=())

    @property
    def flat_ids(self) -> list[int]:
        """All variant ids, candidate by candidate: the ``candidate_ids`` to request from a backend."""
        return [t for v in self.variants for t in v]

    @property
    def columns(self) -> list[slice]:
        """Slice of :attr:`flat_ids` belonging to each candidate."""
        out, start = [], 0
        for v in self.variants:
            out.append(slice(start, start + len(v)))
            start += len(v)
        return out

    def token_to_candidate(self) -> dict[int, int]:
        return {t: c for c, v in enumerate(self.variants) for t in v}

    def to_dict(self) -> dict:
        return {
            "candidates": list(self.candidates),
            "variants": [list(v) for v in self.variants],
            "variant_text": [list(v) for v in self.variant_text],
            "dropped": list(self.dropped),
        }


def first_token_in_context(encode: Callable[[str], list[int]], context: str, text: str) -> int | None:
    """Id of the first token of ``text`` when it follows ``context``.

    Tokenises ``context`` and ``context + text``; if the context's ids are a prefix of the
    joint ids, the next id starts ``text``. Returns None when the tokenizer merges across
    the boundary (the text has no token of its own start there).
    """
    ctx = encode(context) if context else []
    joint = encode(context + text)
    if joint[: len(ctx)] != ctx or len(joint) <= len(ctx):
        return None
    return joint[len(ctx)]


def build_label_token_map(
    label_set: LabelSet,
    tokenizer: Tokenizer,
    contexts: Sequence[str],
    *,
    case_variants: bool = True,
    first_tokens: dict[str, list[int]] | None = None,
) -> LabelTokenMap:
    """Build the variant map for ``label_set`` given the slot contexts of the prompt format.

    Parameters
    ----------
    tokenizer : Tokenizer
        The model's tokenizer (only ``encode`` and ``decode`` are used).
    contexts : sequence of str
        Text that precedes a label in the model's output, e.g. ``['{"label": ["', '", "']``
        for JSON. The first context gives the canonical token.
    """
    encode, decode = tokenizer.encode, tokenizer.decode
    cands = label_set.candidates
    canonical: list[list[int]] = []
    secondary: list[list[int]] = []
    for c in cands:
        ctx_ids = list(first_tokens[c]) if first_tokens is not None else []
        for ctx in contexts if first_tokens is None else ():
            t = first_token_in_context(encode, ctx, c)
            if t is not None and t not in ctx_ids:
                ctx_ids.append(t)
        if not ctx_ids:
            ctx_ids = [encode(c)[0]]
        canonical.append(ctx_ids)
        sec = []
        if case_variants:
            for form in (c, c.capitalize(), c.upper()):
                for prefix in ("", " "):
                    ids = encode(prefix + form)
                    if ids and ids[0] not in ctx_ids and ids[0] not in sec:
                        sec.append(ids[0])
        secondary.append(sec)

    # In-context collisions: the model's own way of writing two labels starts identically.
    owner: dict[int, int] = {}
    for ci, ids in enumerate(canonical):
        for t in ids:
            if t in owner and owner[t] != ci:
                a, b = cands[owner[t]], cands[ci]
                raise LabeldistError(
                    f"labels {a!r} and {b!r} start with the same token {decode([t])!r}, so their probabilities cannot be told apart",
                    "rename one of them (e.g. a synonym or a distinct first word) so their first tokens differ",
                )
            owner[t] = ci
    # Secondary variants shared with another candidate (canonical or secondary) are ambiguous: drop them.
    count: dict[int, set[int]] = {}
    for ci, ids in enumerate(canonical):
        for t in ids:
            count.setdefault(t, set()).add(ci)
    for ci, ids in enumerate(secondary):
        for t in ids:
            count.setdefault(t, set()).add(ci)
    dropped = []
    variants = []
    for ci in range(len(cands)):
        keep = list(canonical[ci])
        for t in secondary[ci]:
            if len(count[t]) > 1:
                others = sorted(cands[o] for o in count[t] if o != ci)
                dropped.append(f"{cands[ci]!r}: variant {decode([t])!r} also starts {', '.join(map(repr, others))}")
            else:
                keep.append(t)
        variants.append(tuple(keep))
    return LabelTokenMap(
        candidates=cands,
        variants=tuple(variants),
        variant_text=tuple(tuple(decode([t]) for t in v) for v in variants),
        dropped=tuple(dropped),
    )
