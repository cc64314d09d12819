"""A fake backend with a known next-token table, for hand-computed token-level values.

``table[path] = {token: probability}`` gives the next-token distribution after the
prompt plus ``path`` (the answer's tokens so far); the mass the entry leaves (1 − Σ) sits
on ``other``, a token no grammar allows. A path missing from the table puts all its mass
on ``other``. The tokenizer is a real one (the grammar's units are built on it); the
table speaks its token ids.
"""

from __future__ import annotations

import numpy as np

from labeldist.backends.base import Backend, Generation
from labeldist.records import ModelInfo


class TableBackend(Backend):
    def __init__(self, tokenizer, table: dict[tuple[int, ...], dict[int, float]], *, other: int, eos: int | None = None):
        self.tokenizer, self.table, self.other = tokenizer, table, other
        self.vocab = len(tokenizer)
        self.info = ModelInfo("table", "fake", "test")
        self.stats = {"forward_tokens": 0, "forward_calls": 0, "expanded_paths": 0}
        self._eos = frozenset() if eos is None else frozenset({eos})
        self.expanded: list[tuple[int, ...]] = []

    @property
    def eos_ids(self):
        return self._eos

    context_length = 100_000

    def row(self, path) -> np.ndarray:
        """Full-vocabulary log-probabilities after ``path``, shape (vocab,)."""
        probs = np.zeros(self.vocab)
        for t, p in self.table.get(tuple(path), {}).items():
            probs[t] += p
        probs[self.other] += max(0.0, 1.0 - probs.sum())
        with np.errstate(divide="ignore"):
            return np.log(probs)

    def expand(self, prompts, paths, *, allowed=None):
        self.stats["forward_calls"] += 1
        self.stats["expanded_paths"] += len(paths)
        self.expanded += [tuple(p) for p in paths]
        return np.stack([self.row(p) for p in paths])

    def score_next(self, prompts, *, candidate_ids):
        raise AssertionError("not used")

    def generate(self, prompts, *, candidate_ids, max_new_tokens, stop=(), want_hidden=False, constraint=None):
        out = []
        cand = list(candidate_ids)
        for _ in prompts:
            ids, lps, masses, slots, forced, outside, scores = [], [], [], [], [], [], []
            state = constraint.initial() if constraint is not None else None
            while len(ids) < max_new_tokens and not (constraint is not None and constraint.done(state)):
                row = self.row(ids)
                if constraint is not None:
                    allowed = list(constraint.allowed(state))
                    tok = max(allowed, key=lambda t: (row[t], -t))
                    mass = float(np.log(np.exp(row[allowed]).sum()))
                    slots.append(bool(constraint.is_slot(state)))
                    forced.append(len(allowed) == 1)
                    outside.append(1.0 - float(np.exp(mass)))
                    masses.append(mass)
                    state = constraint.advance(state, tok)
                else:
                    tok = int(np.argmax(row))
                ids.append(int(tok))
                lps.append(float(row[tok]))
                scores.append(row[cand] if cand else np.zeros(0))
                if constraint is None and tok in self._eos:
                    break
            sc = np.array(scores).reshape(len(ids), len(cand))
            g = Generation(ids=ids, candidate_scores=sc, bounded=np.zeros_like(sc, dtype=bool),
                           stop_reason="grammar" if constraint is not None else "eos", token_logprobs=np.array(lps))
            if constraint is not None:
                g.slots, g.forced = np.array(slots, dtype=bool), np.array(forced, dtype=bool)
                g.outside_mass, g.overridden = np.array(outside), np.zeros(len(ids), dtype=bool)
                g.allowed_logmass = np.array(masses)
            out.append(g)
        return out
