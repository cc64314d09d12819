"""Le-Wi-Di 2023 and 2025 from the real release files in ../shared/datasets."""

from __future__ import annotations

import json

import pytest

from labeldist.data import load_dataset

from .conftest import shared_folder

TASKS_2023 = {"md": "MD-Agreement", "hsbrexit": "HS-Brexit", "armis": "ArMIS", "convabuse": "ConvAbuse"}


def raw_2023(release, split):
    folder = shared_folder("lewidi2023")
    return json.loads((folder / f"{release}_dataset" / f"{release}_{split}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("task", list(TASKS_2023))
def test_2023_binary_matches_release_soft_and_hard_labels(task):
    ds = load_dataset(f"lewidi-{task}", root=shared_folder("lewidi2023").parent)
    positive = ds.label_set.labels[1]
    for split, exs in ds.splits.items():
        raw = raw_2023(TASKS_2023[task], split)
        assert len(exs) == len(raw)
        for ex in exs:
            rec = raw[ex.meta["source_id"]]
            assert ex.id == f"{split}-{ex.meta['source_id']}"
            assert ex.human.probs[1] == pytest.approx(rec["soft_label"]["1"], abs=0.006)  # release rounds to 2 d.p.
            # hard_label is "1" or 1 (ConvAbuse mixes strings and ints)
            assert ex.gold == ((positive,) if str(rec["hard_label"]) == "1" else (ds.label_set.labels[0],))


def test_2023_hand_computed():
    root = shared_folder("lewidi2023").parent
    md = {e.id: e for e in load_dataset("lewidi-md", root=root).split("dev")}
    assert md["dev-1"].human.probs == pytest.approx((0.8, 0.2))  # annotations 0,0,0,0,1
    assert md["dev-1"].meta["annotators"] == ["Ann423", "Ann163", "Ann553", "Ann428", "Ann757"]
    conv = {e.id: e for e in load_dataset("lewidi-convabuse", root=root).split("dev")}
    assert conv["dev-1"].human.probs == (1.0, 0.0)  # severities 1,1,1,1,1,1: not abusive
    assert conv["dev-1"].text.splitlines()[-1] == "User: What are carbon offsets?"


def test_2023_multilabel_variants():
    root = shared_folder("lewidi2023").parent
    ml = load_dataset("lewidi-hsbrexit-ml", root=root)
    assert ml.label_set.labels == ("hate", "aggressive", "offensive") and ml.label_set.multilabel
    ex = {e.id: e for e in ml.split("train")}["train-426"]  # offensive vector "0,No,0,0,1,0": No read as 0
    assert ex.human.probs[2] == pytest.approx(1 / 6)
    assert "3 'No'/'Yes' values" in ml.description
    types = load_dataset("lewidi-convabuse-types", root=root)
    assert types.label_set.labels == ("ableist", "homophobic", "intellectual", "racist", "sexist", "harassment",
                                      "transphobic")
    raw = raw_2023("ConvAbuse", "train")
    multi = [e for e in types.split("train") for a in e.annotations if len(a) > 1]
    assert multi  # some annotators mark several abuse types
    for e in types.split("train")[:200]:
        other = raw[e.meta["source_id"]]["other_info"]["other_annotations"]
        votes = [int(v) for v in other["sexist"].split(",")]
        assert e.human.probs[4] == pytest.approx(sum(votes) / len(votes))


def test_2025_varierrnli_multilabel_per_annotator():
    folder = shared_folder("lewidi2025")
    ds = load_dataset("lewidi-varierrnli", root=folder.parent)
    assert ds.label_set.multilabel and {k: len(v) for k, v in ds.splits.items()} == {"train": 388, "dev": 50, "test": 50}
    ex = {e.id: e for e in ds.split("dev")}["dev-49807"]  # Ann1 neutral, Ann2 entailment+neutral, Ann3 neutral, Ann4 entailment
    assert ex.human.probs == pytest.approx((0.5, 0.75, 0.0)) and ex.gold == ("entailment", "neutral")
    assert ex.text.startswith("Context: The next year") and "\nStatement: " in ex.text
    kinds = {e.human.kind for e in ds.split("train")}
    assert "single_annotator" in kinds  # three items have one annotator
    raw = json.loads((folder / "VariErrNLI" / "VariErrNLI_train.json").read_text())
    for e in ds.split("train"):
        soft = raw[e.meta["source_id"]]["soft_label"]
        assert e.human.probs == pytest.approx([soft[l]["1"] for l in ds.label_set.labels], abs=0.001)


@pytest.mark.parametrize("task, splits", [("csc", {"train": 704, "test": 704}), ("mp", {"train": 3005, "test": 3756}),
                                          ("paraphrase", {"train": 400, "dev": 50, "test": 50})])
def test_2025_single_label(task, splits):
    folder = shared_folder("lewidi2025")
    ds = load_dataset(f"lewidi-{task}", root=folder.parent)
    assert {k: len(v) for k, v in ds.splits.items()} == splits
    release = {"csc": "CSC", "mp": "MP", "paraphrase": "Paraphrase"}[task]
    names = dict(zip(("0", "1"), ds.label_set.labels)) if task == "mp" else {l: l for l in ds.label_set.labels}
    raw = json.loads((folder / release / f"{release}_test.json").read_text(encoding="utf-8"))
    for e in ds.split("test"):
        probs = {names[str(int(float(k)))]: v for k, v in raw[e.meta["source_id"]]["soft_label"].items()}
        assert e.human.probs == pytest.approx([probs[l] for l in ds.label_set.labels], abs=0.006)
        assert sum(e.human.probs) == pytest.approx(1.0)
    if task == "mp":  # dev soft-label keys are "0.0"/"1.0", test "0"/"1": both normalised
        assert ds.split("train")[0].meta["source_split"] == "dev"
