"""Dataset registry, root resolution, open_dataset, and the `labeldist datasets` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeldist.cli.main import main
from labeldist.data import REGISTRY, describe, eval_splits, load_dataset, open_dataset, resolve_root
from labeldist.data.registry import default_root
from labeldist.errors import LabeldistError

from .conftest import FIXTURES


def test_root_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("LABELDIST_SHARED_DATASETS", raising=False)
    assert default_root() == Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
    assert resolve_root() == default_root()
    monkeypatch.setenv("LABELDIST_SHARED_DATASETS", str(tmp_path))
    assert resolve_root() == tmp_path
    assert resolve_root(FIXTURES) == FIXTURES  # the argument wins
    with pytest.raises(LabeldistError, match=rf"no folder {tmp_path}/goemotions"):
        load_dataset("goemotions")


def test_unknown_name_and_eval_splits():
    with pytest.raises(LabeldistError, match=r"unknown dataset 'nope'; use one of: goemotions, goemotions-27"):
        load_dataset("nope")
    assert eval_splits("goemotions") == ("dev",) and eval_splits("mfrc") == ("dev", "test")
    assert eval_splits("vader-tweets") == ("test",) and eval_splits("my-file") == ("test",)
    assert all(spec.demo_split == "train" for spec in REGISTRY.values())


def test_describe_available_and_missing(tmp_path):
    info = describe("mfrc", root=FIXTURES)
    assert info.available and info.n_items == {"train": 2, "dev": 1, "test": 2} and info.multilabel
    assert info.has_annotators and info.annotators_per_item == (1, 2.4, 3) and info.load_seconds >= 0
    missing = describe("hatexplain", root=tmp_path)
    assert not missing.available and "no folder" in missing.reason and "\n" not in missing.reason


def test_open_dataset_by_name_or_path(tmp_path):
    assert open_dataset("hatexplain", root=FIXTURES).name == "hatexplain"
    path = tmp_path / "mine.csv"
    path.write_text("id,text,labels\n1,hello,joy\n", encoding="utf-8")
    assert open_dataset(str(path)).name == "mine"
    with pytest.raises(LabeldistError, match="neither a registered dataset nor an existing file"):
        open_dataset("not-a-dataset")


@pytest.fixture
def no_vader(monkeypatch, tmp_path):
    """Point LABELDIST_DATA at an empty folder so the CLI tests do not load the (slow) VADER sets."""
    monkeypatch.setenv("LABELDIST_DATA", str(tmp_path / "no-data"))


def test_cli_table(capsys, no_vader):
    assert main(["datasets", "--root", str(FIXTURES)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "train 2 / dev 1 / test 2" in lines["mfrc"] and "yes 1-3 (mean 2.4)" in lines["mfrc"]
    assert "3: hate,normal,offensive" in lines["hatexplain"]
    assert "chaosnli-snli" not in lines and "vader-tweets" not in lines and "not available here" in out


def test_cli_all_and_json(capsys, tmp_path, no_vader):
    assert main(["datasets", "--root", str(tmp_path), "--all", "semeval2018-ec"]) == 0
    assert "no folder" in capsys.readouterr().out
    assert main(["datasets", "--root", str(FIXTURES), "--json", "goemotions"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "goemotions" and info["n_items"] == {"train": 1, "dev": 2, "test": 2}
    assert info["labels"][0] == "joy" and info["annotators_per_item"] == [2, 3.0, 4]


def test_cli_help_layouts(capsys):
    assert main(["datasets", "--help-layouts"]) == 0
    out = capsys.readouterr().out
    assert "annotator_rows" in out and "fractions" in out and "skip_invalid" in out
