"""The answer grammar of Llama Guard style classifiers: ``safe``, or ``unsafe`` then category codes.

An answer is ``safe`` + end of turn (no label: the ``none`` candidate), or ``unsafe`` + line
end + one or more distinct codes separated by commas + end of turn (Llama Guard 3:
``unsafe\\nS1,S10``). Codes are written with their :meth:`LabelSet.spelling` (``S1`` for
the label ``s1``), so prompts, grammar and answers agree with the model's own format.

Units are token sequences computed by tokenising whole answers, as in
:class:`labeldist.labels.grammar.AnswerGrammar`, with one difference: the separator is
part of the *next* code's unit (``,S10`` is one unit after a code), because tokenizers
merge the comma with the code's first letter (Qwen2.5 writes ``,S`` as one token).
Codes share leading tokens (``S``, ``1``); the trie tells ``S1`` from ``S10`` by the token
after ``1``: a code counts once the next token is a label boundary (the next unit or the
end of turn). The end-of-turn token is the tokenizer's EOS when the model lists it among
its end tokens, else the smallest of them.

The grammar implements the constraint protocol (``initial``, ``allowed``, ``advance``,
``done``, ``is_slot``) and what the token-level methods read (``in_label``,
``labels_in``, ``reachable``); ``is_slot`` marks the first code only (later codes start
inside the merged separator token, which has no per-label distribution).
"""

from __future__ import annotations

from labeldist.errors import LabeldistError
from labeldist.labels.grammar import _suffix, build_trie
from labeldist.prompts.answer import LlamaGuardPieces, code_spelling
from labeldist.records import LabelSet
from labeldist.tokenizer import Tokenizer

# state = (phase, slot, used, node)
#   "head":  inside ``safe`` / ``unsafe`` + line end (``node`` in the head trie)
#   "label": inside a code unit of slot ``slot`` (``node`` in the first / later trie)
#   "close": the end-of-turn token is next;  "done": complete


class LlamaGuardGrammar:
    """Token-level grammar of Llama Guard answers for one label set (multi-label; ``none`` = safe).

    Parameters
    ----------
    label_set : LabelSet
        The category codes (multi-label).
    tokenizer : Tokenizer
    pieces : LlamaGuardPieces
    eos_ids : set of int
        The model's end tokens; one of them closes the answer.
    """

    def __init__(self, label_set: LabelSet, tokenizer: Tokenizer, pieces: LlamaGuardPieces, eos_ids):
        if not label_set.multilabel:
            raise LabeldistError("the Llama Guard answer format is for multi-label category sets",
                                 "use a multi-label label set, or --label-format json")
        if not eos_ids:
            raise LabeldistError("the model names no end-of-sequence token, so a Llama Guard answer cannot end",
                                 "use a model with an EOS token, or --label-format json")
        self.label_set, self.pieces = label_set, pieces
        self.candidates = label_set.candidates
        self.none_index = label_set.n_labels
        eos = getattr(getattr(tokenizer, "hf", None), "eos_token_id", None)
        self.eos = int(eos) if eos in eos_ids else int(min(eos_ids))
        self.closing_ids, self.separator_ids = (self.eos,), ()
        self.opening_ids = tuple(tokenizer.encode(pieces.opening)) if pieces.opening else ()
        p, codes = pieces, [code_spelling(label_set, l) for l in label_set.labels]
        self.codes = codes
        unit = lambda ctx, text, what: self._unit(tokenizer, ctx, text, what)  # noqa: E731
        self.safe_ids = unit(p.opening, p.safe, "the verdict 'safe'")
        self.unsafe_ids = unit(p.opening, p.unsafe + p.line, "the verdict 'unsafe' and its line end")
        head = p.opening + p.unsafe + p.line
        self.answer_opening_ids = self.opening_ids + self.unsafe_ids  # what free answers are read after
        first = [unit(head, c, f"code {c!r}") for c in codes]
        prev = lambda i: codes[-1] if i != len(codes) - 1 else codes[0]  # noqa: E731
        later = [unit(head + prev(i), p.separator + c, f"code {c!r} after another code") for i, c in enumerate(codes)]
        if len(codes) == 1:
            later = [()]
        self.first_units = first + [self.safe_ids]  # candidates order; none = safe (for descriptions)
        self.later_units = later + [()]
        self.head = build_trie([self.safe_ids, self.unsafe_ids], ["safe", "unsafe"])
        self.tries = {0: build_trie(first, codes), 1: build_trie(later, codes)}
        self._check(tokenizer, codes)

    @staticmethod
    def _unit(tokenizer, context: str, text: str, what: str) -> tuple[int, ...]:
        ids = _suffix(tokenizer, context, text)
        if not ids:
            raise LabeldistError(f"{what} cannot be written as tokens of its own after {context[-12:]!r} under this "
                                 "tokenizer", "use other category codes, --label-format json, or --decoding free")
        return tuple(ids)

    def _check(self, tokenizer, codes: list[str]) -> None:
        """Units compose to whole answers' tokens; no code continues into the next unit or the end."""
        p = self.pieces
        cases = [(p.opening + p.safe, list(self.opening_ids) + list(self.safe_ids))]
        for i, c in enumerate(codes):
            base = list(self.opening_ids) + list(self.unsafe_ids)
            cases.append((p.opening + p.unsafe + p.line + c, base + list(self.tries_unit(0, i))))
            if len(codes) > 1:
                j = (i + 1) % len(codes)
                cases.append((p.opening + p.unsafe + p.line + c + p.separator + codes[j],
                              base + list(self.tries_unit(0, i)) + list(self.tries_unit(1, j))))
        for text, want in cases:
            if tokenizer.encode(text) != want:
                raise LabeldistError(f"the Llama Guard answer {text[len(p.opening):]!r} does not tokenise unit by unit",
                                     "use other category codes, or --decoding free")
        after = {self.eos} | set(self.tries[1][0].children)
        for nodes in self.tries.values():
            for n in nodes:
                if n.label is not None and after & set(n.children):
                    raise LabeldistError(f"code {codes[n.label]!r} cannot be told apart from a longer code token by "
                                         "token", "use other category codes")
        for n in self.head:
            if n.label is not None and n.children:
                raise LabeldistError("'safe' and 'unsafe' cannot be told apart token by token", "report this as a bug")

    def tries_unit(self, kind: int, i: int) -> tuple[int, ...]:
        return (self.first_units if kind == 0 else self.later_units)[i]

    # -- the constraint protocol -------------------------------------------------------------
    def initial(self):
        return ("head", 0, frozenset(), 0)

    def done(self, state) -> bool:
        return state[0] == "done"

    def is_slot(self, state) -> bool:
        return state[0] == "label" and state[1] == 0 and state[3] == 0

    def _more(self, used: frozenset, label: int) -> bool:
        return len(used) + 1 < self.label_set.n_labels

    def allowed(self, state) -> tuple[int, ...]:
        phase, slot, used, node = state
        if phase == "done":
            return ()
        if phase == "close":
            return (self.eos,)
        if phase == "head":
            return tuple(sorted(self.head[node].children))
        nodes = self.tries[min(slot, 1)]
        n = nodes[node]
        out = {t for t, c in n.children.items() if nodes[c].below - used}
        if n.label is not None and n.label not in used:
            out.add(self.eos)
            if self._more(used, n.label):
                later = self.tries[1]
                out |= {t for t, c in later[0].children.items() if later[c].below - used - {n.label}}
        return tuple(sorted(out))

    def advance(self, state, token: int):
        phase, slot, used, node = state
        token = int(token)
        if phase == "close" and token == self.eos:
            return ("done", slot, used, 0)
        if phase == "head":
            child = self.head[node].children.get(token)
            if child is None:
                raise ValueError(f"token {token} is not allowed here")
            label = self.head[child].label
            if label is None:
                return ("head", 0, used, child)
            return ("close", 0, frozenset({self.none_index}), 0) if label == 0 else ("label", 0, used, 0)
        if phase != "label":
            raise ValueError(f"token {token} is not allowed here")
        nodes = self.tries[min(slot, 1)]
        n = nodes[node]
        child = n.children.get(token)
        if child is not None and nodes[child].below - used:
            return ("label", slot, used, child)
        if n.label is not None and n.label not in used:
            if token == self.eos:
                return ("done", slot, used | {n.label}, 0)
            later = self.tries[1]
            child = later[0].children.get(token)
            if child is not None and later[child].below - used - {n.label} and self._more(used, n.label):
                return ("label", slot + 1, used | {n.label}, child)
        raise ValueError(f"token {token} is not allowed here")

    # -- what the token-level methods read ------------------------------------------------------
    def in_label(self, state) -> bool:
        """The verdict and the codes (everything before the end of turn) are read by the token-level methods."""
        return state[0] in ("head", "label")

    def labels_in(self, state) -> frozenset[int]:
        return state[2]

    def reachable(self, state) -> frozenset[int]:
        phase, slot, used, node = state
        real = frozenset(range(self.label_set.n_labels))
        if phase in ("done", "close"):
            return used
        if phase == "head":
            below = self.head[node].below
            return (frozenset({self.none_index}) if 0 in below else frozenset()) | (real if 1 in below else frozenset())
        cur = self.tries[min(slot, 1)][node].below - used
        out = used | cur
        if cur and len(used) + 1 < self.label_set.n_labels:
            out |= real - used
        return out

    def slot_first_tokens(self) -> dict[str, list[int]]:
        """Per candidate the first token of its first unit (the verdict ``safe`` for ``none``)."""
        return {c: [u[0]] for c, u in zip(self.candidates, self.first_units)}

    @property
    def max_answer_tokens(self) -> int:
        longest = sorted((len(u) for u in self.later_units if u), reverse=True)
        first = max(len(u) for u in self.first_units[:-1])
        return len(self.unsafe_ids) + first + sum(longest[: self.label_set.n_labels - 1]) + 1


def grammar_for(label_set: LabelSet, tokenizer: Tokenizer, pieces, eos_ids):
    """The answer grammar of ``pieces``' format: Llama Guard's, or the JSON / comma grammar."""
    if isinstance(pieces, LlamaGuardPieces):
        return LlamaGuardGrammar(label_set, tokenizer, pieces, eos_ids)
    from labeldist.labels.grammar import AnswerGrammar

    return AnswerGrammar(label_set, tokenizer, pieces)

