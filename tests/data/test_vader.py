"""VADER rating sets: the installed real data, and the installer on a locally built sdist (offline)."""

from __future__ import annotations

import io
import tarfile

import pytest

from labeldist.data import load_dataset
from labeldist.data import vader
from labeldist.errors import LabeldistError


def by_id(ds):
    return {ex.id: ex for split in ds.splits.values() for ex in split}


@pytest.mark.parametrize("corpus, n, lo, hi", [("tweets", 4200, 20, 99), ("movies", 10605, 15, 29),
                                                ("nyt", 5190, 20, 20), ("amazon", 3708, 20, 20)])
def test_real_corpora(vader_dir, corpus, n, lo, hi):
    ds = load_dataset(f"vader-{corpus}")
    exs = by_id(ds)
    assert len(exs) == n and not ds.label_set.multilabel
    assert ds.label_set.labels == ("negative", "neutral", "positive")
    raters = [e.human.n_annotators for e in exs.values()]
    assert (min(raters), max(raters)) == (lo, hi)
    assert all(e.human.kind == "annotators" and sum(e.human.probs) == pytest.approx(1) for e in exs.values())
    train, test = {e.id for e in ds.split("train")}, {e.id for e in ds.split("test")}
    assert not train & test and 0.45 < len(test) / n < 0.55
    texts = lambda split: {" ".join(e.text.casefold().split()) for e in ds.split(split)}  # noqa: E731
    assert not texts("train") & texts("test")  # repeated texts stay in one split


def test_hand_computed_items(vader_dir):
    amazon = by_id(load_dataset("vader-amazon"))
    # 1_1: ratings 0 x7, -1 x8, -2 x5.
    assert amazon["1_1"].human.probs == pytest.approx((0.65, 0.35, 0.0)) and amazon["1_1"].gold == ("negative",)
    # 1_2: nineteen 0s and one -3.
    assert amazon["1_2"].human.probs == pytest.approx((0.05, 0.95, 0.0))
    nine = load_dataset("vader-amazon-9")
    q = dict(zip(nine.label_set.labels, by_id(nine)["1_1"].human.probs))
    assert q == pytest.approx({"awful": 0, "bad": 0, "poor": 0.25, "meh": 0.4, "neutral": 0.35, "okay": 0, "good": 0,
                               "great": 0, "excellent": 0})
    assert by_id(nine)["1_1"].gold == ("meh",)
    nyt = by_id(load_dataset("vader-nyt"))
    assert nyt["1_1"].human.probs == pytest.approx((0.0, 0.75, 0.25))  # 0 x15, 1 x2, 2 x3
    assert nyt["1_1"].text.startswith("On Dec. 19, around noon")


def test_tweets_use_rater_ratings_not_groundtruth_mean(vader_dir):
    ex = by_id(load_dataset("vader-tweets"))["2"]
    assert ex.text == "Yay. Another good phone interview."
    assert ex.meta["mean_rating"] == pytest.approx(2.262626263) and ex.meta["groundtruth_mean"] == pytest.approx(1.443298969)
    assert ex.human.n_annotators == len(ex.meta["ratings"]) == 99


def test_same_partition_for_3_and_9_levels(vader_dir):
    a, b = load_dataset("vader-tweets"), load_dataset("vader-tweets-9")
    assert [e.id for e in a.split("test")] == [e.id for e in b.split("test")]
    labels = b.label_set.labels
    assert len({l.split()[0] for l in labels}) == 9  # distinct first words


# ---- installer, offline on a locally built sdist ----

def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def fake_sdist(path):
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        for prefix in vader.CORPORA.values():
            _add(t, f"hutto_ICWSM_2014/{prefix}_anonDataRatings.txt", b"\xef\xbb\xbf1\t0.5\t0.5\t[0, 1]\r\n2\t-4.0\t0\t[-4, -4]\r\n")
            _add(t, f"hutto_ICWSM_2014/{prefix}_GroundTruth.txt", b"1\t0.5\tok then\r\n2\t-4.0\tawful day\r\n")
        _add(t, "hutto_ICWSM_2014/_README_.txt", b"readme")
    with tarfile.open(path, "w:gz") as t:
        _add(t, f"vaderSentiment-{vader.VERSION}/additional_resources/hutto_ICWSM_2014.tar.gz", inner.getvalue())
        _add(t, f"vaderSentiment-{vader.VERSION}/LICENSE.txt", b"MIT")
    return path


def test_install_from_local_sdist_is_idempotent(tmp_path):
    dest = tmp_path / "vader"
    assert vader.install_vader(dest, sdist=fake_sdist(tmp_path / "v.tar.gz")) == dest
    assert vader.is_installed(dest) and (dest / "LICENSE.txt").read_text() == "MIT"
    (dest / "tweets_GroundTruth.txt").write_bytes(b"1\t0.5\tedited\r\n2\t-4.0\tawful day\r\n")
    vader.install_vader(dest, sdist=tmp_path / "does-not-exist.tar.gz")  # present: no-op
    assert b"edited" in (dest / "tweets_GroundTruth.txt").read_bytes()
    ds = vader.load_vader("tweets", folder=dest)
    one, two = sorted(by_id(ds).values(), key=lambda e: e.id)
    assert one.human.probs == (0.0, 0.5, 0.5) and one.gold is None  # tie
    assert two.human.probs == (1.0, 0.0, 0.0) and two.text == "awful day"
    assert vader.main(["--install", str(dest)]) == 0


def test_bad_sdist_and_missing_data(tmp_path, monkeypatch):
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as t:
        _add(t, "x.txt", b"x")
    with pytest.raises(LabeldistError, match="is not the vaderSentiment 3.3.2 sdist"):
        vader.install_vader(tmp_path / "dest", sdist=bad)
    assert not (tmp_path / "dest").exists()
    monkeypatch.setenv("LABELDIST_DATA", str(tmp_path / "data"))
    assert vader.vader_data_dir() == tmp_path / "data" / "vader"
    with pytest.raises(LabeldistError, match=r"vader data not installed \(looked in .*\); run `python -m labeldist"):
        load_dataset("vader-tweets", root=tmp_path)
