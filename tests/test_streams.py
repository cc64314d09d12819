"""Named random streams: fixed keys (the same numbers as before streams existed), recorded by runs."""

import numpy as np
import pytest

from labeldist import streams
from labeldist.errors import LabeldistError
from labeldist.prompts.fewshot import PromptConfig
from labeldist.records import Example, LabelSet
from labeldist.runs.runner import Classifier, RunConfig

LS = LabelSet(("joy", "anger"))
POOL = [Example(f"d{i}", f"text {i}", g) for i, g in
        enumerate([("joy",), ("anger",), ("joy", "anger"), ("joy",), ("anger",), ("joy", "anger")])]


def test_stream_generators_are_the_seeded_generators_they_replace():
    # demos used default_rng(seed); label order default_rng([seed, 1]); unary [seed, 2]; binary [seed, 3]
    assert streams.rng("demos", 5).random() == np.random.default_rng(5).random()
    assert streams.rng("label_order", 5).random() == np.random.default_rng([5, 1]).random()
    assert streams.rng("breakdown_binary", 5).random() == np.random.default_rng([5, 3]).random()
    assert streams.entropy("sample_n", 2) == [2, 7]
    with pytest.raises(LabeldistError, match="unknown random stream 'nope'"):
        streams.rng("nope", 0)


def test_classifier_records_exactly_the_streams_it_draws(tiny_backend):
    config = RunConfig(methods=("generation", "unary"), prompt=PromptConfig(shots=3, label_order="random", seed=4))
    clf = Classifier(tiny_backend, LS, config, POOL)
    assert clf.streams.to_dict() == {"demos": [4], "label_order": [4, 1], "breakdown_unary": [4, 2]}
    zero_shot = Classifier(tiny_backend, LS, RunConfig(prompt=PromptConfig(shots=0)), [])
    assert zero_shot.streams.to_dict() == {}  # nothing random was drawn
