"""Small builders shared by tests."""

from __future__ import annotations

from labeldist.records import LabelSet, Manifest, ModelInfo


def make_manifest(config: dict | None = None, *, labels=("joy", "anger"), multilabel: bool = True,
                  dataset: str = "toy", model: str = "fake", methods=(), train_base_rates=None) -> Manifest:
    """A minimal manifest for run directories written by tests."""
    return Manifest(config=config or {}, label_set=LabelSet(tuple(labels), multilabel=multilabel), dataset=dataset,
                    model=ModelInfo(name=model, backend="fake", source="test"), methods=list(methods),
                    train_base_rates=train_base_rates)
