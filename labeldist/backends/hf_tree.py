"""Search-node expansion for the transformers backend: one key/value cache shared by a whole search tree.

The marginal search (:mod:`labeldist.estimators.marginal`) asks for the next-token
distribution after many short paths that share one prompt. :class:`NodeTree` keeps the
prompt's key/value cache once and appends every expanded node's tokens to it; a token
attends to the prompt and to its own ancestors only (a tree attention mask), with the
position it has on its path. Expanding a batch of nodes is then one forward of their new
tokens (a node whose parent was expanded costs exactly its own tokens: one, or its run of
forced tokens), never a re-prefill of the prompt and never a copy of the cache per node.

Shapes: ``mask (1, 1, T_new, P + T_tree + T_new)`` with P prompt tokens, T_tree tokens of
nodes expanded before and T_new tokens of this batch.
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np

from labeldist.records import PromptIds

import torch  # noqa: E402  (the transformers backend's own dependency)


class NodeTree:
    """The key/value cache of one prompt plus every expanded node's tokens.

    Parameters
    ----------
    backend : HFBackend
        Its model, prefix cache (the prompt's leading segments are reused from it) and stats.
    prompt : PromptIds
    """

    def __init__(self, backend, prompt: PromptIds):
        from transformers import DynamicCache

        self.backend, self.key = backend, prompt.segments
        segs = prompt.segments
        base = backend._prefix_state(segs[:-1]) if len(segs) > 1 else (None, None, None, 0)
        past = copy.deepcopy(base[0]) if base[0] is not None else DynamicCache(config=backend.model.config)
        plen, tail = base[3], list(segs[-1])
        if tail:
            with torch.inference_mode():
                out = backend._forward(torch.tensor([tail]), past=past,
                                       position_ids=torch.arange(plen, plen + len(tail)).unsqueeze(0),
                                       attention_mask=torch.ones(1, plen + len(tail), dtype=torch.long))
            past, last = out.past_key_values, out.logits[0, -1].float()
        else:
            last = base[1]
        self.past, self.plen = past, plen + len(tail)
        self.root = torch.log_softmax(last, dim=-1).numpy()
        self.index: dict[tuple[int, ...], int] = {}  # path -> tree index of its last token
        self.chains: list[tuple[int, ...]] = []  # tree index -> tree indices of its path (itself last)

    def __len__(self) -> int:
        return len(self.chains)

    def expand(self, paths: Sequence[tuple[int, ...]], max_tokens: int = 1024) -> np.ndarray:
        """Full-vocabulary log-softmax after each path, shape (n_paths, vocab), float32."""
        out: list[np.ndarray | None] = [None] * len(paths)
        pending: list[int] = []
        width = 0
        for i, p in enumerate(paths):
            if not p:
                out[i] = self.root
                continue
            n_new = len(p) - self._known_prefix(p)
            if pending and width + n_new > max_tokens:
                self._forward([paths[j] for j in pending], pending, out)
                pending, width = [], 0
            pending.append(i)
            width += n_new
        if pending:
            self._forward([paths[j] for j in pending], pending, out)
        return np.stack(out)

    def _known_prefix(self, path: tuple[int, ...]) -> int:
        """Length of the longest proper prefix of ``path`` whose tokens are in the tree (0: the prompt)."""
        k = len(path) - 1  # the last token is always forwarded: its logits are what is asked for
        while k > 0 and path[:k] not in self.index:
            k -= 1
        return k

    def _forward(self, paths: Sequence[tuple[int, ...]], where: Sequence[int], out: list) -> None:
        tokens, chains, pos, last, names = [], [], [], [], []
        t0 = len(self.chains)
        for p in paths:
            k = self._known_prefix(p)
            chain = list(self.chains[self.index[p[:k]]]) if k else []
            for j, tok in enumerate(p[k:]):
                chain = chain + [t0 + len(tokens)]
                tokens.append(int(tok))
                chains.append(tuple(chain))
                pos.append(self.plen + k + j)
                names.append(p[: k + j + 1])
            last.append(len(tokens) - 1)
        n = len(tokens)
        mask = torch.zeros(n, self.plen + t0 + n, dtype=torch.bool)
        mask[:, : self.plen] = True
        for r, chain in enumerate(chains):
            mask[r, [self.plen + c for c in chain]] = True
        keep = torch.tensor(sorted(set(last)), dtype=torch.long)
        b = self.backend
        with torch.inference_mode():
            b.stats["forward_tokens"] += n
            b.stats["forward_calls"] += 1
            res = b.model(input_ids=torch.tensor([tokens]), attention_mask=mask[None, None],
                          position_ids=torch.tensor([pos]), cache=self.past, use_cache=True, logits_to_keep=keep)
            logp = torch.log_softmax(res.logits[0].float(), dim=-1).numpy()
        self.past = res.past_key_values
        self.chains.extend(chains)
        for name, chain in zip(names, chains):
            self.index[name] = chain[-1]
        rows = {int(k): r for r, k in enumerate(keep.tolist())}
        for i, t in zip(where, last):
            out[i] = logp[rows[t]]
