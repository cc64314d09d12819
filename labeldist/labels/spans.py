"""Where labels are written in a token path: by the grammar's units, ending at a label boundary.

The token-level methods (conditional, joint, marginal) need to know which tokens of an
answer write which label. Two readers, one rule — *a label counts where its whole unit
(the label's token sequence in its slot) is followed by a label boundary*: the
separator, the answer's closing or end of sequence. Never by string suffix, so ``S1`` is
not credited when ``S10`` is written as ``S``, ``1``, ``0`` (the reference's defect), and
``OS1`` is not ``S1``.

* :func:`grammar_label_spans` replays a constrained answer through its grammar
  (``AnswerGrammar`` or ``LlamaGuardGrammar``): the grammar's states say where each
  label's unit starts (a slot) and when it is closed.
* :class:`FreeAnswerReader` reads a free answer with the same units: it waits for the
  answer's opening token sequence anywhere in the path (prose before it is skipped), then
  reads label units, separators and the closing; a token that fits none ends the answer
  (labels read so far stand). A label written twice is one label (first span kept).
  Its states also drive the free-decoding marginal search.
"""

from __future__ import annotations

from typing import Sequence

from labeldist.records import LabelSpan

# FreeAnswerReader state: (phase, slot, node, found, pos, tail)
#   "seek":  waiting for the opening; ``tail`` holds the last len(opening) - 1 tokens
#   "label": inside a label unit of slot ``slot`` at trie node ``node``
#   "sep" / "close": ``pos`` tokens into the separator / closing unit
#   "done":  the answer ended (closing, end of sequence, or a token outside the answer's grammar)


def grammar_label_spans(grammar, ids: Sequence[int]) -> list[LabelSpan]:
    """Label spans of a constrained answer, in answer order (``none`` included as a candidate).

    ``grammar`` provides ``initial/advance/is_slot/labels_in`` and ``candidates``; ``ids``
    are the generated ids (the opening is in the prompt, so position 0 is the first slot).
    A label whose unit is not closed (the answer was cut by the token budget) has no span.
    Where the separator is part of the next label's unit (Llama Guard: ``,S`` is one token),
    that token both closes the previous label and starts the next label's span.
    """
    state = grammar.initial()
    spans: list[LabelSpan] = []
    start = 0
    for t, tok in enumerate(ids):
        if grammar.done(state):
            break
        if grammar.is_slot(state):
            start = t
        before = grammar.labels_in(state)
        state = grammar.advance(state, int(tok))
        for c in sorted(grammar.labels_in(state) - before):
            spans.append(LabelSpan(grammar.candidates[c], start, t))
        if grammar.labels_in(state) != before and grammar.in_label(state) and not grammar.is_slot(state):
            start = t  # a merged separator: the next unit starts here
    return spans


class FreeAnswerReader:
    """Reads labels from free token paths with the units of an answer grammar.

    Parameters
    ----------
    grammar : AnswerGrammar
        Its ``opening_ids``, ``tries`` (first-slot and later-slot label units),
        ``separator_ids`` and ``closing_ids``; the grammar's rules on which labels may
        follow which are *not* applied (a free answer may repeat a label).
    eos_ids : set of int
        End-of-sequence tokens: a boundary after a label, and the end of every path.
    closers : set of int, optional
        Other tokens that close the answer right after a label: those whose text begins with
        the closing's text (a free answer ``negative`` + ``\n\n`` when the closing is ``\n``),
        from :func:`closing_tokens`.
    """

    def __init__(self, grammar, eos_ids, closers=frozenset(), openings=()):
        self.grammar = grammar
        self.closers = frozenset(int(t) for t in closers)
        self.candidates = grammar.candidates
        # a Llama Guard answer's labels come after its verdict: read them after "unsafe" + line end
        self.opening = tuple(getattr(grammar, "answer_opening_ids", grammar.opening_ids))
        # other token spellings of the same opening (`` {"label": ["`` with the space the model put first)
        self.openings = sorted({self.opening} | {tuple(int(t) for t in o) for o in openings if o}, key=len)
        self.seek_len = max(len(o) for o in self.openings)
        self.sep, self.close = tuple(grammar.separator_ids), tuple(grammar.closing_ids)
        self.tries = grammar.tries
        self.eos = frozenset(int(e) for e in eos_ids)
        self.all = frozenset(range(len(self.candidates)))

    def initial(self):
        if not self.opening:
            return ("label", 0, 0, frozenset(), 0, ())
        return ("seek", 0, 0, frozenset(), 0, ())

    def done(self, state) -> bool:
        return state[0] == "done"

    def is_slot(self, state) -> bool:
        return state[0] == "label" and state[2] == 0

    def labels_in(self, state) -> frozenset[int]:
        return state[3]

    def reachable(self, state) -> frozenset[int]:
        """Candidates some continuation may still contain (all but after the answer closed)."""
        if state[0] in ("done", "close"):
            return state[3]
        return self.all

    def advance(self, state, tok: int):
        phase, slot, node, found, pos, tail = state
        tok = int(tok)
        if phase == "done":
            return state
        if tok in self.eos:
            if phase == "label":
                label = self.tries[min(slot, 1)][node].label
                if label is not None:
                    found = found | {label}
            return ("done", 0, 0, found, 0, ())
        if phase == "seek":
            tail = (tail + (tok,))[-self.seek_len:]
            if any(tail[-len(o):] == o for o in self.openings if len(tail) >= len(o)):
                return ("label", 0, 0, found, 0, ())
            return ("seek", 0, 0, found, 0, tail[1:] if len(tail) == self.seek_len else tail)
        if phase == "label":
            nodes = self.tries[min(slot, 1)]
            n = nodes[node]
            if tok in n.children:
                return ("label", slot, n.children[tok], found, 0, ())
            if n.label is not None and self.sep and tok == self.sep[0]:
                return self._unit("sep", slot, found | {n.label}, 1)
            later = self.tries[1][0].children
            if n.label is not None and not self.sep and tok in later:  # the separator is part of the next unit
                return ("label", slot + 1, later[tok], found | {n.label}, 0, ())
            if n.label is not None and self.close and tok == self.close[0]:
                return self._unit("close", slot, found | {n.label}, 1)
            if n.label is not None and tok in self.closers:
                return ("done", 0, 0, found | {n.label}, 0, ())
            return ("done", 0, 0, found, 0, ())
        unit = self.sep if phase == "sep" else self.close
        if tok != unit[pos]:
            return ("done", 0, 0, found, 0, ())
        return self._unit(phase, slot, found, pos + 1)

    def _entered_later(self, before, state, tok) -> bool:
        """The token closed a label and opened the next slot's unit (separator merged into it)."""
        return not self.sep and state[1] > 0 and self.tries[1][0].children.get(int(tok)) == state[2]

    def _unit(self, phase: str, slot: int, found: frozenset, pos: int):
        unit = self.sep if phase == "sep" else self.close
        if pos < len(unit):
            return (phase, slot, 0, found, pos, ())
        if phase == "sep":
            return ("label", slot + 1, 0, found, 0, ())
        return ("done", 0, 0, found, 0, ())

    def spans(self, ids: Sequence[int]) -> list[LabelSpan]:
        """Label spans of a free answer; a label written twice keeps its first span."""
        state = self.initial()
        spans: list[LabelSpan] = []
        seen: set[int] = set()
        start = 0
        for t, tok in enumerate(ids):
            if self.done(state):
                break
            if self.is_slot(state):
                start = t
            before = state[3]
            state = self.advance(state, tok)
            for c in sorted(state[3] - before):
                if c not in seen:
                    seen.add(c)
                    spans.append(LabelSpan(self.candidates[c], start, t))
            if state[0] == "label" and state[2] != 0 and t > 0 and self._entered_later(before, state, tok):
                start = t  # a merged separator: the next unit starts here
        return spans


def closing_tokens(grammar, tokenizer) -> frozenset[int]:
    """Tokens other than the closing's own first token whose text begins with the closing's text
    (``\n\n``, ``\n\n\n`` for a ``\n`` closing): free answers end with them as with the closing."""
    closing = tuple(getattr(grammar, "closing_ids", ()))  # a Llama Guard answer closes with end-of-turn
    text = tokenizer.decode(list(closing)) if closing else ""
    if not text:
        return frozenset()
    first = closing[0]
    return frozenset(t for t in range(len(tokenizer)) if t != first and tokenizer.decode([t]).startswith(text))


def opening_variants(grammar, tokenizer) -> list[tuple[int, ...]]:
    """The answer's opening as a free answer may spell it: its text without leading whitespace, after
    nothing, a space or a line end (Qwen writes `` {"label": ["`` with ``' {'`` where the grammar's
    opening starts with ``'{'``). Each must end with the grammar's own last opening token, so the label
    units that follow are the same."""
    opening = tuple(getattr(grammar, "answer_opening_ids", grammar.opening_ids))
    if not opening:
        return []
    core = tokenizer.decode(list(opening)).lstrip()
    out = []
    for lead in ("", " ", "\n", " \n", "\n\n"):
        ids = tuple(tokenizer.encode(lead + core))
        if ids and ids[-1] == opening[-1] and ids != opening:
            out.append(ids)
    return out
