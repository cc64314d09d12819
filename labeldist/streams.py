"""Named random streams: every seeded generator of a run is handed out here, by name.

A stream's generator is ``np.random.default_rng([seed, *key])``, with the stream's fixed
``key`` below, so streams are independent of each other and of the order in which they are
drawn. Runs record the streams they used (``Manifest.streams``: name -> ``[seed, *key]``),
so every random choice can be traced to its seed.
"""

from __future__ import annotations

import numpy as np

from labeldist.errors import LabeldistError

#: Stream name -> fixed key appended to the user's seed (kept as they were before streams
#: existed, so the same seed gives the same demos, orders and samples).
STREAMS: dict[str, tuple[int, ...]] = {
    "demos": (),  # which training examples become the few-shot demonstrations
    "label_order": (1,),  # --label-order random: the order of labels in demos and instruction
    "breakdown_unary": (2,),  # unary demos: which are marked reasonable, which label each shows
    "breakdown_binary": (3,),  # binary demos: the right / wrong label pair and its a/b order
    "sample_n": (7,),  # --n: the seeded sample of a split
    "test_set": (),  # --test-set main|multilabel: the stratified test-set sample
    "demo_items": (),  # `labeldist demo`: which VADER tweets are scored
    "fit_train": (11,),  # supervised methods: the seeded sample of train items they are fitted on
    "fit_dev": (12,),  # supervised methods: the dev items (or the share of train that serves as dev)
    "fit_cover": (13,),  # supervised methods: train items added so every label has its minimum of positives
}


def entropy(name: str, seed: int) -> list[int]:
    """``[seed, *key]`` of stream ``name``: what seeds its generator."""
    if name not in STREAMS:
        raise LabeldistError(f"unknown random stream {name!r}", f"use one of {', '.join(STREAMS)}")
    return [int(seed), *STREAMS[name]]


def rng(name: str, seed: int) -> np.random.Generator:
    """A fresh generator for stream ``name`` under ``seed``."""
    return np.random.default_rng(entropy(name, seed))


class StreamLog:
    """Hands out generators by name and remembers which were used (for the manifest)."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.used: dict[str, list[int]] = {}

    def rng(self, name: str) -> np.random.Generator:
        self.used[name] = entropy(name, self.seed)
        return rng(name, self.seed)

    def to_dict(self) -> dict[str, list[int]]:
        return dict(self.used)
