"""Paper test sets (uniform over label type × agreement), the multi-label-only set, and the overlap check."""

from __future__ import annotations

import warnings
from collections import Counter

import pytest

from labeldist.data import cell_of, check_no_overlap, load_dataset, sample_multilabel_test_set, sample_test_set
from labeldist.data._common import aggregate_example, annotator_example
from labeldist.errors import LabeldistError
from labeldist.records import Dataset, LabelSet

ML = LabelSet(("a", "b", "c"), multilabel=True)
SL = LabelSet(("neg", "pos"), multilabel=False)
# Annotator label lists producing each (label type, agreement) cell under the >= 0.5 gold rule.
CELL_VOTES = {
    "none/agree": [[], []],
    "none/disagree": [["a"], [], []],
    "single/agree": [["a"], ["a"]],
    "single/disagree": [["a"], ["a"], ["a", "b"]],
    "multi/agree": [["a", "b"], ["a", "b"]],
    "multi/disagree": [["a", "b"], ["a", "b", "c"], ["a"]],
}


def ml_dataset(sizes: dict[str, int], split="test") -> Dataset:
    exs = [annotator_example(f"{cell}-{i}", f"text {cell} {i}", votes, ML, split=split)
           for cell, votes in CELL_VOTES.items() for i in range(sizes.get(cell, 0))]
    return Dataset("synthetic", ML, {split: tuple(exs)})


def test_cells_of_synthetic_items():
    ds = ml_dataset({c: 1 for c in CELL_VOTES})
    assert [cell_of(e, True) for e in ds.split("test")] == list(CELL_VOTES)


def test_uniform_deterministic_main_test_set():
    ds = ml_dataset({c: 50 for c in CELL_VOTES})
    a = sample_test_set(ds, n=200, seed=3)
    assert sample_test_set(list(ds.split("test")), n=200, seed=3) == a  # multilabel inferred from gold sizes
    assert len(a) == 200 and len({e.id for e in a}) == 200
    assert Counter(cell_of(e, True) for e in a) == {"none/agree": 34, "none/disagree": 34, "single/agree": 33,
                                                    "single/disagree": 33, "multi/agree": 33, "multi/disagree": 33}
    assert [e.id for e in sample_test_set(ds, n=200, seed=3)] == [e.id for e in a]
    assert [e.id for e in sample_test_set(ds, n=200, seed=4)] != [e.id for e in a]


def test_shortfall_is_redistributed_with_a_warning():
    ds = ml_dataset({**{c: 50 for c in CELL_VOTES}, "multi/agree": 5})
    with pytest.warns(UserWarning, match="cells with fewer than 33 items: {'multi/agree': 5}"):
        got = sample_test_set(ds, n=200)
    counts = Counter(cell_of(e, True) for e in got)
    assert len(got) == 200 and counts["multi/agree"] == 5 and max(counts.values()) - min(
        v for c, v in counts.items() if c != "multi/agree") <= 1
    with pytest.raises(LabeldistError, match="cells with fewer"):
        sample_test_set(ds, n=200, strict=True)


def test_only_distribution_items_and_named_splits():
    ds = ml_dataset({c: 10 for c in CELL_VOTES})
    extra = (annotator_example("solo", "one rater", [["a"]], ML, split="test"),
             aggregate_example("agg", "aggregate", ["a"], ML, split="test"))
    ds = Dataset("synthetic", ML, {"train": ds.split("test"), "test": ds.split("test") + extra})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = sample_test_set(ds, n=60, splits=["test"])
    assert {"solo", "agg"}.isdisjoint(e.id for e in got) and len(got) == 60


def test_single_label_two_cells():
    agree = [annotator_example(f"ag{i}", f"t{i}", [["pos"]] * 3, SL, split="test") for i in range(40)]
    dis = [annotator_example(f"di{i}", f"u{i}", [["pos"], ["neg"], ["pos"]], SL, split="test") for i in range(40)]
    got = sample_test_set(agree + dis, n=50, multilabel=False)
    assert Counter(cell_of(e, False) for e in got) == {"agree": 25, "disagree": 25}
    assert sample_test_set(agree + dis, n=50) == got  # inferred: every gold has exactly one label


def test_aggregate_only_falls_back_to_label_type():
    exs = [aggregate_example(f"x{i}", f"t{i}", ["a", "b"][: i % 3], ML, split="test") for i in range(30)]
    with pytest.warns(UserWarning, match="stratifying by label type only"):
        got = sample_test_set(exs, n=9, multilabel=True)
    assert Counter(len(e.gold) for e in got) == {0: 3, 1: 3, 2: 3}


def test_multilabel_only_set():
    ds = ml_dataset({c: 20 for c in CELL_VOTES})
    got = sample_multilabel_test_set(ds, n=30)
    assert len(got) == 30 and all(len(e.gold) >= 2 for e in got)
    assert sample_test_set(ds.split("test"), n=30, kind="multilabel") == got
    with pytest.warns(UserWarning, match="only 40 items"):
        assert len(sample_multilabel_test_set(ds, n=100)) == 40


def test_check_no_overlap():
    ds = ml_dataset({c: 3 for c in CELL_VOTES})
    test = ds.split("test")[:5]
    check_no_overlap(ds.split("test")[5:], test)  # disjoint: passes
    same_text = annotator_example("other-id", "  TEXT none/agree 0 ", [["a"]], ML, split="train")
    with pytest.raises(LabeldistError, match=r"2 demonstration\(s\) overlap.*'none/agree-1' \(same id\).*"
                                             r"'other-id' \(same text as test item 'none/agree-0'\)") as err:
        check_no_overlap([test[1], same_text, ds.split("test")[7]], test)
    assert "\n" not in str(err.value)


def test_vader_tweets_test_set(vader_dir):
    ds = load_dataset("vader-tweets")
    got = sample_test_set(ds, n=50, seed=0)
    assert len(got) == 50 and all(e.split == "test" for e in got)
    assert Counter(cell_of(e, False) for e in got) == {"agree": 25, "disagree": 25}
    check_no_overlap(ds.split("train")[:10], got)
