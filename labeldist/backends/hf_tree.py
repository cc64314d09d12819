"""Search-node expansion for the transformers backend: one key/value cache for a whole forest of search trees.

The marginal search (:mod:`labeldist.estimators.marginal`) asks for the next-token
distribution after many short paths, for many examples whose prompts share the run's
few-shot prefix. :class:`NodeForest` keeps that prefix's key/value cache once and appends
every token it is asked about — each example's query, then the search nodes' tokens — to
the same cache, as one sequence: a token attends to the prefix and to its own ancestors
only (a forest attention mask), at the position it has on its own path. Expanding a batch
of nodes of any number of examples is then one forward of their new tokens: a node whose
parent was expanded costs exactly its own tokens (one, or its run of forced tokens), an
example's query is prefilled once, and nothing is ever re-prefilled or copied per node.
Tokens new in one batch are shared by the batch's paths that start with them.

Shapes: ``mask (1, 1, T_new, P + T_forest + T_new)`` with P prefix tokens, T_forest tokens
already in the forest and T_new tokens of this batch.
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch


class NodeForest:
    """The key/value cache of one shared prompt prefix plus every token expanded after it.

    Parameters
    ----------
    backend : HFBackend
        Its model, prefix cache (the shared segments are reused from it) and stats.
    prefix : tuple of token-id tuples
        The shared leading segments of the prompts (``PromptIds.segments[:-1]``).
    """

    def __init__(self, backend, prefix: tuple[tuple[int, ...], ...]):
        from transformers import DynamicCache

        self.backend, self.key = backend, prefix
        base = backend._prefix_state(prefix) if prefix else (None, None, None, 0)
        self.past = copy.deepcopy(base[0]) if base[0] is not None else DynamicCache(config=backend.model.config)
        self.plen = base[3]
        self.index: dict[tuple[int, ...], int] = {}  # tokens after the prefix -> forest index of the last one
        self.chains: list[tuple[int, ...]] = []  # forest index -> forest indices of its path (itself last)

    def __len__(self) -> int:
        return len(self.chains)

    def expand(self, paths: Sequence[tuple[int, ...]], max_tokens: int = 1024) -> np.ndarray:
        """Full-vocabulary log-softmax after ``prefix + path`` for each (non-empty) path, shape (n, vocab), float32."""
        out: list[np.ndarray | None] = [None] * len(paths)
        pending: list[int] = []
        width = 0
        for i, p in enumerate(paths):
            n_new = len(p) - self._known(p)
            if pending and width + n_new > max_tokens:
                self._forward([paths[j] for j in pending], pending, out)
                pending, width = [], 0
            pending.append(i)
            width += n_new
        if pending:
            self._forward([paths[j] for j in pending], pending, out)
        return np.stack(out)

    def _known(self, path: tuple[int, ...]) -> int:
        """Length of the longest proper prefix of ``path`` whose tokens are in the forest."""
        k = len(path) - 1  # the last token is always forwarded: its logits are what is asked for
        while k > 0 and path[:k] not in self.index:
            k -= 1
        return k

    def _forward(self, paths: Sequence[tuple[int, ...]], where: Sequence[int], out: list) -> None:
        t0 = len(self.chains)
        tokens, pos, last = [], [], []
        for p in paths:  # new tokens are registered at once, so later paths of the batch share them
            k = self._known(p)
            chain = list(self.chains[self.index[p[:k]]]) if k else []
            for j, tok in enumerate(p[k:]):
                chain = chain + [t0 + len(tokens)]
                tokens.append(int(tok))
                pos.append(self.plen + k + j)
                self.chains.append(tuple(chain))
                self.index[p[: k + j + 1]] = chain[-1]
            last.append(len(tokens) - 1)
        n = len(tokens)
        mask = torch.zeros(n, self.plen + t0 + n, dtype=torch.bool)
        mask[:, : self.plen] = True
        for r in range(n):
            mask[r, [self.plen + c for c in self.chains[t0 + r]]] = True
        keep = torch.tensor(sorted(set(last)), dtype=torch.long)
        b = self.backend
        try:
            with torch.inference_mode():
                b.stats["forward_tokens"] += n
                b.stats["forward_calls"] += 1
                res = b.model(input_ids=torch.tensor([tokens]), attention_mask=mask[None, None],
                              position_ids=torch.tensor([pos]), cache=self.past, use_cache=True, logits_to_keep=keep)
                logp = torch.log_softmax(res.logits[0].float(), dim=-1).numpy()
        except BaseException:
            self.index, self.chains = {}, []  # the cache may hold part of this batch: start over next time
            self.past = None
            raise
        self.past = res.past_key_values
        rows = {int(k): r for r, k in enumerate(keep.tolist())}
        for i, t in zip(where, last):
            out[i] = logp[rows[t]]
