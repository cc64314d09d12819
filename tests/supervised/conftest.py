"""Fixtures for the supervised-baseline tests: a few dozen real items from ../shared or VADER."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from labeldist.errors import LabeldistError


@dataclass(frozen=True)
class Split:
    texts: list[str]
    Y: np.ndarray


@dataclass(frozen=True)
class SmallData:
    labels: tuple[str, ...]
    multilabel: bool
    train: Split
    dev: Split
    train_examples: tuple


def _small(name: str, n_train: int, n_dev: int, targets: str) -> SmallData:
    from labeldist.data import load_dataset
    from labeldist.supervised.targets import target_matrix

    try:
        ds = load_dataset(name)
    except LabeldistError as exc:  # the folder or the VADER install is absent on this machine
        pytest.skip(f"{name} is not available here ({exc})")
    train = ds.splits["train"][:n_train]
    # VADER has no dev split: the next items of its train split serve as dev.
    dev = ds.splits["dev"][:n_dev] if "dev" in ds.splits else ds.splits["train"][n_train:n_train + n_dev]

    def split(exs) -> Split:
        Y, keep = target_matrix(exs, ds.label_set, targets)
        assert keep.all()
        return Split([e.text for e in exs], Y)

    return SmallData(ds.label_set.labels, ds.label_set.multilabel, split(train), split(dev), tuple(train))


@pytest.fixture(scope="session")
def brexit() -> SmallData:
    """Le-Wi-Di 2023 HS-Brexit (hate / aggressive / offensive, 6 annotators): 32 train, 16 dev, soft q."""
    return _small("lewidi-hsbrexit-ml", 32, 16, "soft")


@pytest.fixture(scope="session")
def vader() -> SmallData:
    """VADER tweets, 3 sentiment classes, 20-99 raters: 24 train, 12 dev, soft vote shares."""
    return _small("vader-tweets", 24, 12, "soft")
