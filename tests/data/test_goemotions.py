"""GoEmotions: the raw per-rater path on a faithful fixture, and the real aggregate release from shared."""

from __future__ import annotations

import shutil
import time

import pytest

from labeldist.data import load_dataset
from labeldist.data.goemotions import CLUSTERS, load_goemotions
from labeldist.errors import LabeldistError

from .conftest import FIXTURES, shared_folder

FIX = FIXTURES / "goemotions"


def by_id(ds):
    return {ex.id: ex for split in ds.splits.values() for ex in split}


def test_clusters_cover_27_emotions_once():
    members = [e for ms in CLUSTERS.values() for e in ms]
    assert len(members) == len(set(members)) == 27 and "neutral" not in members
    assert list(CLUSTERS) == ["joy", "optimism", "admiration", "surprise", "fear", "sadness", "anger"]


def test_raw_rater_distributions_by_hand():
    ds = load_goemotions(FIX)
    assert ds.label_set.labels == tuple(CLUSTERS)
    ex = by_id(ds)
    q = lambda key: dict(zip(ds.label_set.labels, ex[key].human.probs))  # noqa: E731
    # c1: raters love+gratitude, love, very-unclear (all zeros), neutral -> 4 raters, two none votes.
    assert q("c1") == pytest.approx({"joy": 0.5, "optimism": 0, "admiration": 0.25, "surprise": 0, "fear": 0,
                                     "sadness": 0, "anger": 0})
    assert ex["c1"].human.n_annotators == 4 and ex["c1"].annotations[2:] == ((), ())
    assert ex["c1"].gold == ("joy", "admiration")  # release aggregate: gratitude, love
    # c2: confusion | curiosity+annoyance | anger.
    assert q("c2")["surprise"] == pytest.approx(2 / 3) and q("c2")["anger"] == pytest.approx(2 / 3)
    assert ex["c2"].gold == ("surprise",) and ex["c2"].text == 'Why would anyone do that, "seriously"?'
    # c3: neutral | approval; aggregate neutral -> no gold label.
    assert q("c3")["admiration"] == 0.5 and ex["c3"].gold == () and ex["c3"].split == "train"
    # c4: rater 6 appears twice (files 2 and 3): counted once.
    assert ex["c4"].human.n_annotators == 3
    assert q("c4")["fear"] == pytest.approx(2 / 3) and q("c4")["sadness"] == pytest.approx(2 / 3)
    # c5 has no raw rows: aggregate only, never a distribution.
    assert ex["c5"].human.kind == "aggregate_only" and ex["c5"].gold == ("admiration",)
    assert "c9" not in ex  # raw rows outside the splits are ignored
    assert "1 split items without raw rows" in ds.description and "1 duplicate" in ds.description


def test_raw_27_emotions():
    ds = load_goemotions(FIX, clusters=False)
    assert len(ds.label_set.labels) == 27 and "neutral" not in ds.label_set.labels
    c2 = dict(zip(ds.label_set.labels, by_id(ds)["c2"].human.probs))
    assert {k: v for k, v in c2.items() if v} == pytest.approx(
        {"confusion": 1 / 3, "curiosity": 1 / 3, "annoyance": 1 / 3, "anger": 1 / 3})


def test_raw_switches(tmp_path):
    assert all(ex.human.kind == "aggregate_only" for ex in by_id(load_goemotions(FIX, raw=False)).values())
    for name in ("emotions.txt", "train.tsv", "dev.tsv", "test.tsv"):
        shutil.copy(FIX / name, tmp_path / name)
    with pytest.raises(LabeldistError, match="goemotions_1.csv"):
        load_goemotions(tmp_path, raw=True)
    (tmp_path / "full_dataset").mkdir()
    for i in (1, 2, 3):
        shutil.copy(FIX / f"goemotions_{i}.csv", tmp_path / "full_dataset")
    assert by_id(load_goemotions(tmp_path))["c1"].human.kind == "annotators"


def test_bad_label_id(tmp_path):
    for name in ("emotions.txt", "train.tsv", "dev.tsv"):
        shutil.copy(FIX / name, tmp_path / name)
    (tmp_path / "test.tsv").write_text("ok\t3\tx1\nbad\t31\tx2\n")
    with pytest.raises(LabeldistError, match=r"test\.tsv line 2: label ids '31' are not integers in 0\.\.27"):
        load_goemotions(tmp_path, raw=False)
    assert len(load_goemotions(tmp_path, raw=False, skip_invalid=True).skipped) == 1


def test_real_aggregate_release():
    folder = shared_folder("goemotions")
    start = time.perf_counter()
    ds = load_goemotions(folder)
    assert time.perf_counter() - start < 15  # 54k rows: seconds, not minutes
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 43410, "dev": 5426, "test": 5427}
    dev = ds.split("dev")
    assert all(ex.human.kind == "aggregate_only" and not ex.human.is_distribution for ex in dev)
    # dev line 2: "You know the answer man, ..." labels 4,27 = approval + neutral -> admiration.
    assert dev[1].id == "ee84bjg" and dev[1].gold == ("admiration",)
    assert dev[0].gold == ()  # neutral only
    fine = load_dataset("goemotions-27", root=folder.parent)
    assert fine.split("dev")[1].gold == ("approval",)
