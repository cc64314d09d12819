"""The generic annotated-file reader: four layouts × four formats, hand-computed distributions, properties."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeldist.data import read_annotated_file
from labeldist.errors import LabeldistError

FORMATS = ("csv", "tsv", "jsonl", "parquet")

# Three items, annotator-level labels (multi-label over anger, joy, sadness).
VOTES = {
    "1": ("I love it", {"a": ["joy"], "b": ["joy", "anger"], "c": []}),
    "2": ("So sad, and angry", {"a": ["sadness", "anger"], "b": ["anger"]}),
    "3": ("Fine.", {"b": ["joy"]}),
}
# Hand-computed q (eq. 1) in label order anger, joy, sadness.
EXPECTED = {"1": (1 / 3, 2 / 3, 0.0), "2": (1.0, 0.0, 0.5), "3": (0.0, 1.0, 0.0)}
GOLD = {"1": ("joy",), "2": ("anger", "sadness"), "3": ("joy",)}


def write(path: Path, rows: list[dict], fmt: str) -> Path:
    """Write ``rows`` in ``fmt``; list cells become JSON strings in CSV/TSV."""
    path = path.with_suffix("." + fmt)
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t" if fmt == "tsv" else ",")
            w.writeheader()
            for r in rows:
                w.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in r.items()})
    return path


def annotator_rows(votes=VOTES, none_as="list"):
    return [{"id": i, "text": t, "annotator": a, "labels": labs if labs or none_as == "list" else "none"}
            for i, (t, anns) in votes.items() for a, labs in anns.items()]


def check_expected(ds, kinds=None):
    assert ds.label_set.labels == ("anger", "joy", "sadness")
    got = {ex.id: ex for ex in ds.split("test")}
    assert set(got) == set(EXPECTED)
    for key, probs in EXPECTED.items():
        assert got[key].human.probs == pytest.approx(probs)
        assert got[key].gold == GOLD[key]
    if kinds:
        assert {k: got[k].human.kind for k in got} == kinds


@pytest.mark.parametrize("fmt", FORMATS)
def test_annotator_rows_layout(tmp_path, fmt):
    ds = read_annotated_file(write(tmp_path / "f", annotator_rows(), fmt))
    check_expected(ds, {"1": "annotators", "2": "annotators", "3": "single_annotator"})
    one = {ex.id: ex for ex in ds.split("test")}["1"]
    assert one.annotations == (("joy",), ("joy", "anger"), ())
    assert one.meta["annotators"] == ["a", "b", "c"]


def test_comma_separated_labels_and_none(tmp_path):
    rows = [{**r, "labels": ",".join(r["labels"]) if r["labels"] else "none"} for r in annotator_rows()]
    check_expected(read_annotated_file(write(tmp_path / "f", rows, "csv")))


@pytest.mark.parametrize("fmt", FORMATS)
def test_annotation_lists_layout(tmp_path, fmt):
    rows = [{"id": i, "text": t, "annotations": list(anns.values())} for i, (t, anns) in VOTES.items()]
    ds = read_annotated_file(write(tmp_path / "f", rows, fmt))
    check_expected(ds, {"1": "annotators", "2": "annotators", "3": "single_annotator"})


def test_annotation_lists_as_object(tmp_path):
    rows = [{"id": i, "text": t, "annotations": anns} for i, (t, anns) in VOTES.items()]
    check_expected(read_annotated_file(write(tmp_path / "f", rows, "jsonl"), layout="annotation_lists"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_fractions_layout(tmp_path, fmt):
    rows = [{"id": i, "text": VOTES[i][0], "anger": p[0], "joy": p[1], "sadness": p[2], "n_annotators": len(VOTES[i][1])}
            for i, p in EXPECTED.items()]
    ds = read_annotated_file(write(tmp_path / "f", rows, fmt))
    check_expected(ds, {k: "fractions" for k in EXPECTED})
    assert [ex.human.n_annotators for ex in ds.split("test")] == [3, 2, 1]


def test_fractions_single_label_renormalised(tmp_path):
    rows = [{"id": "x", "text": "t", "neg": "0.33", "neu": "0.33", "pos": "0.33"},
            {"id": "y", "text": "u", "neg": 0.2, "neu": 0.2, "pos": 0.6}]
    ds = read_annotated_file(write(tmp_path / "f", rows, "csv"), multilabel=False, labels=["pos", "neu", "neg"])
    x, y = ds.split("test")
    assert x.human.probs == pytest.approx((1 / 3, 1 / 3, 1 / 3)) and x.gold is None  # tie: no gold
    assert y.human.probs == pytest.approx((0.6, 0.2, 0.2)) and y.gold == ("pos",)


@pytest.mark.parametrize("fmt", FORMATS)
def test_hard_layout_is_aggregate_only(tmp_path, fmt):
    rows = [{"id": i, "text": VOTES[i][0], "labels": list(GOLD[i])} for i in GOLD] + [
        {"id": "4", "text": "nothing", "labels": []}]
    ds = read_annotated_file(write(tmp_path / "f", rows, fmt))
    got = {ex.id: ex for ex in ds.split("test")}
    assert got["2"].human.probs == (1.0, 0.0, 1.0) and got["2"].human.kind == "aggregate_only"
    assert not got["2"].human.is_distribution and got["2"].annotations is None
    assert got["4"].gold == () and got["4"].human.probs == (0.0, 0.0, 0.0)


def test_given_label_set_fixes_order_and_split_column(tmp_path):
    rows = [{**r, "split": "train" if r["id"] == "3" else "test"} for r in annotator_rows()]
    ds = read_annotated_file(write(tmp_path / "f", rows, "jsonl"), labels="sadness,joy,anger,fear")
    assert ds.label_set.labels == ("sadness", "joy", "anger", "fear")
    assert list(ds.splits) == ["train", "test"]
    two = {ex.id: ex for ex in ds.split("test")}["2"]
    assert two.human.probs == pytest.approx((0.5, 0.0, 1.0, 0.0))


def test_single_label_annotator_rows(tmp_path):
    rows = [{"id": "1", "text": "t", "annotator": a, "labels": l} for a, l in zip("abcd", ["pos", "pos", "neg", "neu"])]
    (ex,) = read_annotated_file(write(tmp_path / "f", rows, "csv"), multilabel=False).split("test")
    assert ex.human.probs == pytest.approx((0.25, 0.25, 0.5))  # neg, neu, pos
    assert ex.gold == ("pos",) and sum(ex.human.probs) == pytest.approx(1.0)


def test_custom_column_names(tmp_path):
    rows = [{"doc": r["id"], "body": r["text"], "rater": r["annotator"], "tags": r["labels"]} for r in annotator_rows()]
    ds = read_annotated_file(write(tmp_path / "f", rows, "tsv"), id_column="doc", text_column="body",
                             annotator_column="rater", labels_column="tags")
    check_expected(ds)


# ---- bad input: one line naming file, line and fix; skip_invalid counts ----

def one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_missing_column(tmp_path):
    path = write(tmp_path / "f", [{"id": 1, "text": "t", "annotator": "a"}], "csv")
    with pytest.raises(LabeldistError, match=r"missing column\(s\) 'labels'") as err:
        read_annotated_file(path)
    assert str(path) in one_line(err) and "labels_column" in str(err.value)


@pytest.mark.parametrize(
    "bad_row, pattern",
    [
        ({"id": "9", "text": "t", "annotator": "a", "labels": ["joyy"]}, r"line 8: .*'joyy' not in the label set"),
        ({"id": "9", "text": "  ", "annotator": "a", "labels": ["joy"]}, r"line 8: empty text"),
        ({"id": "1", "text": "other", "annotator": "z", "labels": ["joy"]}, r"line 8: id '1' has a different text than at line 2"),
        ({"id": "9", "text": "t", "annotator": "a", "labels": ""}, r"line 8: no labels for annotator 'a' for item '9'"),
        ({"id": "1", "text": "I love it", "annotator": "a", "labels": ["joy"]}, r"line 8: annotator 'a' labelled item '1' twice"),
        ({"id": "9", "text": "t", "annotator": "a", "labels": "[joy"}, r"line 8: .*malformed JSON label list"),
    ],
)
def test_bad_rows_raise_then_skip(tmp_path, bad_row, pattern):
    path = write(tmp_path / "f", annotator_rows() + [bad_row], "csv")
    with pytest.raises(LabeldistError, match=pattern) as err:
        read_annotated_file(path, labels="anger,joy,sadness")
    msg = one_line(err)
    assert str(path) in msg and "skip_invalid=True" in msg
    ds = read_annotated_file(path, labels="anger,joy,sadness", skip_invalid=True)
    assert len(ds.skipped) == 1 and "line 8" in ds.skipped[0]
    assert "Skipped 1 invalid row" in ds.description
    check_expected(ds)


def test_malformed_json_line(tmp_path):
    path = write(tmp_path / "f", annotator_rows(), "jsonl")
    lines = path.read_text().splitlines()
    lines[1] = lines[1][:-1]  # drop the closing brace of line 2
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LabeldistError, match=r"f\.jsonl line 2: malformed JSON"):
        read_annotated_file(path)
    ds = read_annotated_file(path, skip_invalid=True)
    assert len(ds.skipped) == 1


def test_wrong_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,text,labels\n1,ok,joy\n2,caf\xe9 au lait,joy\n".encode("latin-1"))
    with pytest.raises(LabeldistError, match=r"latin\.csv line 3: byte 0xe9 is not valid utf-8.*iconv") as err:
        read_annotated_file(path)
    one_line(err)
    assert read_annotated_file(path, encoding="latin-1").split("test")[1].text == "café au lait"
    skipped = read_annotated_file(path, skip_invalid=True)
    assert len(skipped.split("test")) == 1 and len(skipped.skipped) == 1


def test_duplicate_id_in_item_layout(tmp_path):
    rows = [{"id": "1", "text": "a", "labels": "joy"}, {"id": "1", "text": "b", "labels": "joy"}]
    with pytest.raises(LabeldistError, match=r"line 3: duplicate id '1' with a different text \(first at line 2\)"):
        read_annotated_file(write(tmp_path / "f", rows, "csv"))


def test_annotation_list_without_annotators(tmp_path):
    rows = [{"id": "1", "text": "a", "annotations": []}, {"id": "2", "text": "b", "annotations": [["joy"]]}]
    with pytest.raises(LabeldistError, match=r"line 1: item '1' has no annotators"):
        read_annotated_file(write(tmp_path / "f", rows, "jsonl"))


def test_single_label_needs_exactly_one_label(tmp_path):
    rows = [{"id": "1", "text": "a", "annotator": "x", "labels": "pos,neg"}]
    with pytest.raises(LabeldistError, match="exactly one label"):
        read_annotated_file(write(tmp_path / "f", rows, "csv"), multilabel=False, labels="pos,neg")


def test_fraction_out_of_range(tmp_path):
    rows = [{"id": "1", "text": "a", "joy": 1.5}]
    with pytest.raises(LabeldistError, match=r"line 2: fraction for label 'joy'.*not a number in \[0, 1\]"):
        read_annotated_file(write(tmp_path / "f", rows, "csv"))


def test_unknown_extension(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(LabeldistError, match="cannot tell the format"):
        read_annotated_file(path)


# ---- properties ----

LABELS = ("a", "b", "c", "d")
label_sets = st.lists(st.sampled_from(LABELS), unique=True, max_size=4)
items = st.dictionaries(
    st.text("0123456789", min_size=1, max_size=4),
    st.lists(label_sets, min_size=1, max_size=6),
    min_size=1, max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=items, fmt=st.sampled_from(("csv", "jsonl")))
def test_property_eq1_and_layout_equivalence(tmp_path, data, fmt):
    """q_l = votes for l / n, identical whether written per annotator, as lists, or as fractions."""
    rows_a = [{"id": f"i{k}", "text": f"text {k}", "annotator": f"r{j}", "labels": labs}
              for k, anns in data.items() for j, labs in enumerate(anns)]
    rows_b = [{"id": f"i{k}", "text": f"text {k}", "annotations": anns} for k, anns in data.items()]
    ds_a = read_annotated_file(write(tmp_path / "a", rows_a, fmt), labels=LABELS)
    ds_b = read_annotated_file(write(tmp_path / "b", rows_b, fmt), labels=LABELS)
    rows_c = [{"id": ex.id, "text": ex.text, **dict(zip(LABELS, ex.human.probs))} for ex in ds_a.split("test")]
    ds_c = read_annotated_file(write(tmp_path / "c", rows_c, fmt))
    for ex_a, ex_b, ex_c in zip(ds_a.split("test"), ds_b.split("test"), ds_c.split("test")):
        anns = data[ex_a.id[1:]]
        expected = [sum(l in a for a in anns) / len(anns) for l in LABELS]
        assert ex_a.human.probs == pytest.approx(expected)
        assert ex_b.human.probs == ex_a.human.probs and ex_c.human.probs == pytest.approx(ex_a.human.probs)
        assert ex_a.gold == ex_c.gold == tuple(l for l, p in zip(LABELS, expected) if p >= 0.5)
        assert ex_a.human.n_annotators == len(anns)
        assert ex_a.human.kind == ("annotators" if len(anns) >= 2 else "single_annotator")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=items, seed=st.integers(0, 2**16))
def test_property_row_order_does_not_matter(tmp_path, data, seed):
    import random

    rows = [{"id": f"i{k}", "text": f"text {k}", "annotator": f"r{j}", "labels": labs}
            for k, anns in data.items() for j, labs in enumerate(anns)]
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    a = read_annotated_file(write(tmp_path / "a", rows, "csv"), labels=LABELS)
    b = read_annotated_file(write(tmp_path / "b", shuffled, "csv"), labels=LABELS)
    probs_a = {ex.id: ex.human.probs for ex in a.split("test")}
    probs_b = {ex.id: ex.human.probs for ex in b.split("test")}
    assert probs_a.keys() == probs_b.keys()
    for k in probs_a:
        assert probs_a[k] == pytest.approx(probs_b[k])
