"""SemEval E-c, ChaosNLI and DynaSent from the real files in ../shared/datasets."""

from __future__ import annotations

import json

import pytest

from labeldist.data import load_dataset

from .conftest import shared_folder


def by_id(ds):
    return {ex.id: ex for split in ds.splits.values() for ex in split}


def test_semeval_aggregate_only():
    folder = shared_folder("semeval2018_ec")
    ds = load_dataset("semeval2018-ec", root=folder.parent)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 6838, "dev": 886, "test": 3259}
    assert ds.label_set.labels == ("anger", "anticipation", "disgust", "fear", "joy", "love", "optimism",
                                   "pessimism", "sadness", "surprise", "trust")
    first = ds.split("dev")[0]  # 2018-En-00866: anger=1, disgust=1
    assert first.id == "2018-En-00866" and first.gold == ("anger", "disgust")
    assert first.human.kind == "aggregate_only" and first.human.probs[:3] == (1.0, 0.0, 1.0)
    assert ds.split("dev")[1].gold == ("joy", "love", "optimism")


@pytest.mark.parametrize("subset, n", [("snli", 1514), ("mnli", 1599), ("alphanli", 1532)])
def test_chaosnli_counts_and_partition(subset, n):
    folder = shared_folder("chaosnli")
    ds = load_dataset(f"chaosnli-{subset}", root=folder.parent)
    exs = by_id(ds)
    assert len(exs) == n and set(ds.splits) == {"train", "test"}
    assert not {e.id for e in ds.split("train")} & {e.id for e in ds.split("test")}
    assert 0.4 < len(ds.split("test")) / n < 0.6
    assert all(e.human.n_annotators == 100 and e.human.kind == "annotators" for e in exs.values())
    # The release's own label_dist equals eq. 1 for every item.
    codes = {"snli": "enc", "mnli": "enc", "alphanli": "12"}[subset]
    for line in (folder / {"snli": "chaosNLI_snli.jsonl", "mnli": "chaosNLI_mnli_m.jsonl",
                           "alphanli": "chaosNLI_alphanli.jsonl"}[subset]).read_text().splitlines():
        rec = json.loads(line)
        assert exs[rec["uid"]].human.probs == pytest.approx(rec["label_dist"]), codes


def test_chaosnli_snli_first_item_by_hand():
    ds = load_dataset("chaosnli-snli", root=shared_folder("chaosnli").parent)
    ex = by_id(ds)["2407214681.jpg#0r1n"]  # label_counter n 70, e 30
    assert ex.human.probs == pytest.approx((0.30, 0.70, 0.0)) and ex.gold == ("neutral",)
    assert ex.text.startswith("Premise: Two young children") and "\nHypothesis: Two kids at a ballgame" in ex.text


def test_dynasent_workers_by_hand():
    ds = load_dataset("dynasent-r1", root=shared_folder("dynasent").parent)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 3600, "test": 3600}
    ex = by_id(ds)["r1-0094460"]  # positive: 4 workers, neutral: 1
    assert ex.human.probs == pytest.approx((0.8, 0.0, 0.2, 0.0)) and ex.gold == ("positive",)
    assert ex.meta["annotators"] == ["w152", "w224", "w310", "w730", "w786"] and ex.split == "train"
    sst = load_dataset("dynasent-sst", root=shared_folder("dynasent").parent)
    golds = [e.gold for s in sst.splits.values() for e in s]
    assert len(golds) == 1101 and sum(g is None for g in golds) == 64  # no 3-of-5 majority
