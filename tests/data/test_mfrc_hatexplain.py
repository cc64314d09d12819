"""MFRC and HateXplain on faithful fixtures in their release layouts (no real files are shared)."""

from __future__ import annotations

import shutil

import pytest

from labeldist.data import load_dataset
from labeldist.data.hatexplain import load_hatexplain
from labeldist.data.mfrc import LABELS, load_mfrc
from labeldist.errors import LabeldistError

from .conftest import FIXTURES


def by_id(ds):
    return {ex.id: ex for split in ds.splits.values() for ex in split}


def q(ds, ex):
    return {l: p for l, p in zip(ds.label_set.labels, ex.human.probs) if p}


def test_mfrc_rules_and_distributions():
    ds = load_mfrc(FIXTURES / "mfrc")
    assert ds.label_set.labels == LABELS  # fixed, not inferred per split
    ex = by_id(ds)
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 2, "dev": 1, "test": 2}
    # "0": Care | Care,Purity | Non-Moral (a none vote).
    assert q(ds, ex["0"]) == pytest.approx({"care": 2 / 3, "purity": 1 / 3}) and ex["0"].gold == ("care",)
    # "1": Authority | Authority+Thin Morality (row dropped) | Thin Morality (none) -> 1 of 2; tie counts positive.
    assert ex["1"].human.n_annotators == 2 and q(ds, ex["1"]) == {"authority": 0.5} and ex["1"].gold == ("authority",)
    assert q(ds, ex["2"]) == pytest.approx({"equality": 2 / 3, "proportionality": 2 / 3})
    assert ex["2"].gold == ("equality", "proportionality") and ex["2"].split == "dev"
    assert ex["3"].human.kind == "single_annotator" and not ex["3"].human.is_distribution
    assert ex["4"].gold == () and ex["4"].human.probs == (0.0,) * 6 and ex["4"].human.n_annotators == 3
    assert "1 rows combining" in ds.description and "1 rows in no split" in ds.description


def test_mfrc_unknown_foundation(tmp_path):
    shutil.copy(FIXTURES / "mfrc" / "splits.yaml", tmp_path)
    text = (FIXTURES / "mfrc" / "final_mfrc_data.csv").read_text().replace("Loyalty", "Liberty")
    (tmp_path / "final_mfrc_data.csv").write_text(text)
    with pytest.raises(LabeldistError, match=r"final_mfrc_data\.csv line 11: unknown foundation\(s\) \['liberty'\]"):
        load_mfrc(tmp_path)
    ds = load_mfrc(tmp_path, skip_invalid=True)
    assert "3" not in by_id(ds) and len(ds.skipped) == 1


def test_mfrc_missing_files(tmp_path):
    with pytest.raises(LabeldistError, match="no splits.yaml in"):
        load_mfrc(tmp_path)
    with pytest.raises(LabeldistError, match=r"no folder .*mfrc.*LABELDIST_SHARED_DATASETS"):
        load_dataset("mfrc", root=tmp_path)


def test_hatexplain_votes_and_undecided_ties():
    ds = load_hatexplain(FIXTURES / "hatexplain")
    assert ds.label_set.labels == ("hate", "normal", "offensive") and not ds.label_set.multilabel
    ex = by_id(ds)
    tw = ex["1179055004553900032_twitter"]
    assert tw.human.probs == pytest.approx((0, 2 / 3, 1 / 3)) and tw.gold == ("normal",)
    assert tw.text == "i dont think that is right" and tw.split == "train" and tw.meta["source"] == "twitter"
    assert ex["1180000000000000001_gab"].human.probs == (1.0, 0.0, 0.0)
    assert ex["1178000000000000002_twitter"].split == "dev" and ex["1178000000000000002_twitter"].gold == ("offensive",)
    tie = ex["13851720_gab"]
    assert tie.human.probs == pytest.approx((1 / 3,) * 3) and tie.gold is None
    assert "9999_gab" not in ex and "1 posts in no split" in ds.description
    # The reference's rule: ties go to the first annotator's label.
    first = by_id(load_hatexplain(FIXTURES / "hatexplain", tie_rule="first_seen"))
    assert first["13851720_gab"].gold == ("offensive",)


def test_registry_loads_fixture_root():
    assert load_dataset("hatexplain", root=FIXTURES).name == "hatexplain"
    assert load_dataset("mfrc", root=FIXTURES).name == "mfrc"
    assert load_dataset("goemotions", root=FIXTURES).split("dev")[0].human.kind == "annotators"
