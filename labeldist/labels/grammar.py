"""The answer grammar: which tokens may come next at every point of a constrained answer.

A constrained answer starts from its *opening*, which is part of the prompt (JSON: the
separator the template puts before the answer, then ``{"label": ["``; comma format: the
separator), so the first generated token is the first label slot by construction. The
answer is then built from token *units*, each a fixed token sequence:

* a label unit per candidate and slot kind (first slot / later slot): the candidate's
  tokens as the model writes them there (``joy``; in the comma format later labels carry
  their leading space, `` fear``);
* after a label, the separator unit (JSON ``", "``, comma ``,``) opening the next slot, or
  the closing unit (JSON ``"]}``, comma: the line end), which ends the answer.

Rules: a multi-label answer is ``none`` alone, or one or more distinct labels; a
single-label answer is exactly one label. Label units of one slot kind form a token trie,
so labels that share leading tokens (``S1`` / ``S10`` under digit-splitting tokenizers)
are told apart by the token after the shorter one. Two labels that the next token cannot
tell apart (identical units, or one unit a prefix of another where the longer one continues
with the separator's or the closing's first token) are an error naming both.

Units are computed by tokenising whole answer strings and checked to compose: the token
ids of ``opening + answer`` are the opening's ids followed by the units' ids, for every
label first and for every label after another, so the constrained answer is always the
tokenisation the model would see in the demonstrations.

States are small immutable tuples; :class:`AnswerGrammar` implements the constraint
protocol the backends use (``initial``, ``allowed``, ``advance``, ``done``, ``is_slot``).
A token that is the only one allowed is *forced*: backends append runs of forced tokens in
one forward pass (or none at all when nothing is read after them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from labeldist.errors import LabeldistError
from labeldist.prompts.answer import AnswerPieces
from labeldist.records import NONE_LABEL, LabelSet
from labeldist.tokenizer import Tokenizer

#: ``--decoding`` choices: answers under the grammar, or the paper's unconstrained generation.
DECODINGS = ("constrained", "free")

# state = (phase, slot, used, node, unit, pos)
#   phase "label": inside a label unit of slot ``slot``; ``node`` indexes the slot kind's trie.
#   phase "unit":  inside the separator ("sep") or closing ("close") unit, ``pos`` tokens in.
#   phase "done":  the answer is complete.
State = tuple


@dataclass
class _Node:
    children: dict[int, int] = field(default_factory=dict)
    label: int | None = None  # candidate index whose unit ends here
    below: frozenset[int] = frozenset()  # candidates whose units pass through this node


def _suffix(tokenizer: Tokenizer, context: str, text: str) -> list[int] | None:
    """Ids that ``text`` adds after ``context``, or None when the context's ids are not a prefix."""
    ctx = tokenizer.encode(context) if context else []
    joint = tokenizer.encode(context + text)
    if joint[: len(ctx)] != ctx:
        return None
    return joint[len(ctx):]


def build_trie(units: Sequence[tuple[int, ...]], names: Sequence[str]) -> list[_Node]:
    """The token trie of ``units`` (node 0 the root; ``label`` = index of the unit ending there;
    ``below`` = every unit reachable from the node). Two units with the same tokens are an error."""
    nodes = [_Node()]
    for ci, unit in enumerate(units):
        if not unit:
            continue
        at = 0
        for tok in unit:
            nxt = nodes[at].children.get(tok)
            if nxt is None:
                nodes.append(_Node())
                nxt = nodes[at].children[tok] = len(nodes) - 1
            at = nxt
        if nodes[at].label is not None:
            raise LabeldistError(f"labels {names[nodes[at].label]!r} and {names[ci]!r} have the same tokens in the "
                                 "answer, so they cannot be told apart", "rename one of them")
        nodes[at].label = ci

    def fill(i: int) -> frozenset[int]:
        below = {nodes[i].label} if nodes[i].label is not None else set()
        for child in nodes[i].children.values():
            below |= fill(child)
        nodes[i].below = frozenset(below)
        return nodes[i].below

    fill(0)
    return nodes


class AnswerGrammar:
    """Token-level grammar of the answers to one prompt format and label set.

    Parameters
    ----------
    label_set : LabelSet
    tokenizer : Tokenizer
    pieces : AnswerPieces
        From :func:`answer_pieces`.

    Attributes
    ----------
    opening_ids : list of int
        Token ids of ``pieces.opening`` (the prompt ends with them).
    first_units, later_units : list of tuple of int
        Label units per candidate (``LabelSet.candidates`` order); ``none`` has no later unit.
    separator_ids, closing_ids : tuple of int
    """

    def __init__(self, label_set: LabelSet, tokenizer: Tokenizer, pieces: AnswerPieces):
        self.label_set, self.pieces = label_set, pieces
        self.candidates = label_set.candidates
        self.none_index = len(label_set.labels) if label_set.multilabel else None
        self.opening_ids = tokenizer.encode(pieces.opening) if pieces.opening else []
        self._build_units(tokenizer)
        self.tries = {0: build_trie(self.first_units, self.candidates), 1: build_trie(self.later_units, self.candidates)}
        self.max_labels = label_set.n_labels if label_set.multilabel else 1
        self._check_distinguishable()

    # -- construction -----------------------------------------------------------------------
    def _unit(self, tokenizer, context: str, text: str, what: str) -> tuple[int, ...]:
        ids = _suffix(tokenizer, context, text)
        if not ids:
            raise LabeldistError(
                f"{what} cannot be written as tokens of its own after {context[-12:]!r} under this tokenizer",
                "use another label name or --label-format, or --decoding free",
            )
        return tuple(ids)

    def _build_units(self, tokenizer: Tokenizer) -> None:
        p = self.pieces
        first, later = [], []
        seps, closes = set(), set()
        other = self.label_set.labels[0] if len(self.label_set.labels) == 1 else self.label_set.labels[-1]
        for c in self.candidates:
            text = p.first_prefix + c
            first.append(self._unit(tokenizer, p.opening, text, f"label {c!r}"))
            after = p.opening + text
            closes.add(self._unit(tokenizer, after, p.closing, f"the answer's closing after {c!r}"))
            if c == NONE_LABEL and self.label_set.multilabel:
                later.append(())
                continue
            seps.add(self._unit(tokenizer, after, p.separator, f"the separator after {c!r}"))
            # the label in a later slot, after another label and the separator
            prev = other if other != c else self.label_set.labels[0]
            ctx = p.opening + p.first_prefix + prev + p.separator
            later.append(self._unit(tokenizer, ctx, p.later_prefix + c, f"label {c!r} after another label"))
        if len(closes) != 1 or (self.label_set.multilabel and len(seps) != 1):
            raise LabeldistError(
                "the answer's separator or closing tokenises differently after different labels",
                "use --label-format json, other label names, or --decoding free",
            )
        self.first_units, self.later_units = first, later
        self.closing_ids = next(iter(closes))
        self.separator_ids = next(iter(seps)) if seps else ()
        self._check_composition(tokenizer)

    def _check_composition(self, tokenizer: Tokenizer) -> None:
        """The units concatenate to the tokenisation of whole answers (first, and after another label)."""
        p = self.pieces
        labels = self.label_set.labels
        for ci, c in enumerate(self.candidates):
            text = p.opening + p.first_prefix + c + p.closing
            want = list(self.opening_ids) + list(self.first_units[ci]) + list(self.closing_ids)
            pairs = [(text, want)]
            if self.label_set.multilabel and c != NONE_LABEL and len(labels) > 1:
                prev = labels[0] if c != labels[0] else labels[1]
                pi = labels.index(prev)
                text2 = p.opening + p.first_prefix + prev + p.separator + p.later_prefix + c + p.closing
                want2 = (list(self.opening_ids) + list(self.first_units[pi]) + list(self.separator_ids)
                         + list(self.later_units[ci]) + list(self.closing_ids))
                pairs.append((text2, want2))
            for s, w in pairs:
                if tokenizer.encode(s) != w:
                    raise LabeldistError(
                        f"label {c!r} merges with the answer's punctuation under this tokenizer "
                        f"({s[len(p.opening):]!r} does not tokenise unit by unit)",
                        "rename the label, use the other --label-format, or --decoding free",
                    )

    def _check_distinguishable(self) -> None:
        after = {self.closing_ids[0]} | ({self.separator_ids[0]} if self.separator_ids else set())
        for kind, nodes in self.tries.items():
            for n in nodes:
                if n.label is None:
                    continue
                clash = after & set(n.children)
                if clash:
                    longer = sorted(self.candidates[c] for c in nodes[n.children[clash.pop()]].below)
                    raise LabeldistError(
                        f"labels {self.candidates[n.label]!r} and {longer[0]!r} cannot be told apart token by token "
                        f"(the longer one continues with the answer's punctuation)", "rename one of them")

    # -- the constraint protocol -------------------------------------------------------------
    def initial(self) -> State:
        return ("label", 0, frozenset(), 0, "", 0)

    def is_slot(self, state: State) -> bool:
        """True at the first token of a label: a label slot, where the step-based methods read."""
        return state[0] == "label" and state[3] == 0

    def done(self, state: State) -> bool:
        return state[0] == "done"

    def _after_options(self, used: frozenset[int], label: int) -> list[str]:
        if label == self.none_index or len(used) + 1 >= self.max_labels:
            return ["close"]
        return ["sep", "close"]

    def _unit_ids(self, unit: str) -> tuple[int, ...]:
        return self.separator_ids if unit == "sep" else self.closing_ids

    def allowed(self, state: State) -> tuple[int, ...]:
        """Token ids allowed next, ascending; empty when the answer is complete."""
        phase, slot, used, node, unit, pos = state
        if phase == "done":
            return ()
        if phase == "unit":
            return (self._unit_ids(unit)[pos],)
        nodes = self.tries[min(slot, 1)]
        n = nodes[node]
        out = {tok for tok, child in n.children.items() if nodes[child].below - used
               and not (slot > 0 and nodes[child].below <= {self.none_index})}
        if n.label is not None and n.label not in used:
            out |= {self._unit_ids(u)[0] for u in self._after_options(used, n.label)}
        return tuple(sorted(out))

    def advance(self, state: State, token: int) -> State:
        phase, slot, used, node, unit, pos = state
        if phase == "unit":
            ids = self._unit_ids(unit)
            if token != ids[pos]:
                raise ValueError(f"token {token} is not allowed here")
            if pos + 1 < len(ids):
                return ("unit", slot, used, node, unit, pos + 1)
            return ("done", slot, used, 0, "", 0) if unit == "close" else ("label", slot + 1, used, 0, "", 0)
        if phase != "label":
            raise ValueError("the answer is complete")
        nodes = self.tries[min(slot, 1)]
        n = nodes[node]
        child = n.children.get(token)
        if child is not None and nodes[child].below - used:
            return ("label", slot, used, child, "", 0)
        if n.label is not None:
            for u in self._after_options(used, n.label):
                if self._unit_ids(u)[0] == token:
                    return self.advance(("unit", slot, used | {n.label}, 0, u, 0), token)
        raise ValueError(f"token {token} is not allowed here")

    # -- what the token-level methods read (labeldist.marginal) ------------------------------
    def in_label(self, state: State) -> bool:
        """True inside a label unit: the next token belongs to a label."""
        return state[0] == "label"

    def labels_in(self, state: State) -> frozenset[int]:
        """Candidates (indices into ``candidates``) written on the path to ``state`` and closed by the
        separator or the closing: a label counts once its unit ends at a label boundary."""
        return state[2]

    def reachable(self, state: State) -> frozenset[int]:
        """Candidates some completion of ``state`` contains (those already written included)."""
        phase, slot, used, node, unit, _ = state
        if phase == "done" or (phase == "unit" and unit == "close"):
            return used
        real = frozenset(range(len(self.label_set.labels)))
        if phase == "unit":  # a separator: one more slot follows
            return used | (real - used)
        cur = self.tries[min(slot, 1)][node].below - used
        if slot > 0:
            cur = cur - {self.none_index}
        out = used | cur
        if (cur - {self.none_index}) and len(used) + 1 < self.max_labels:
            out |= real - used
        return out

    def labels_of(self, state_path: Sequence[State]) -> list[str]:
        """The candidates chosen along a path of states (in answer order)."""
        out: list[str] = []
        seen: set[int] = set()
        for st in state_path:
            for c in st[2] - seen:
                out.append(self.candidates[c])
                seen.add(c)
        return out

    def slot_first_tokens(self) -> dict[str, list[int]]:
        """Per candidate, the first token of its unit in each slot kind (first slot, later slot)."""
        out: dict[str, list[int]] = {}
        for ci, c in enumerate(self.candidates):
            ids = [u[0] for u in (self.first_units[ci], self.later_units[ci]) if u]
            out[c] = list(dict.fromkeys(ids))
        return out

    @property
    def max_answer_tokens(self) -> int:
        """An upper bound on the generated tokens of any answer (for length checks)."""
        longest = sorted((len(u) for u in self.later_units if u), reverse=True)
        first = max(len(u) for u in self.first_units)
        n_more = self.max_labels - 1
        return first + sum(longest[:n_more]) + n_more * len(self.separator_ids) + len(self.closing_ids)
