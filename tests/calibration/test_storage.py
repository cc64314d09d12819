"""calibration.json: round trips give identical transforms; label-set and method checks."""

import json

import numpy as np
import pytest

from labeldist.calibration import CALIBRATION_FILE, FitInfo, load_calibration, save_calibration, select_calibrator
from labeldist.errors import LabeldistError
from labeldist.records import LabelSet
from tests.calibration.synthetic import make_split

LABELS = LabelSet(("anger", "joy", "fear"))


@pytest.fixture(scope="module")
def fitted():
    dev = make_split(200, 0, n_annotators=5)
    return dev, {
        "compare_to_none": select_calibrator(dev.inputs(), dev.q),
        "hard": select_calibrator(dev.reported, dev.q, calibrator="isotonic"),
        "first_step": select_calibrator(dev.inputs(), dev.q, calibrator="temperature"),
    }


def test_round_trip_gives_identical_transforms(tmp_path, fitted):
    dev, sels = fitted
    info = {"compare_to_none": FitInfo("dev", 200), "hard": FitInfo("dev", 200),
            "first_step": FitInfo("dev", 180, "gold")}
    path = save_calibration(tmp_path / "cal", LABELS, sels, info)
    assert path == tmp_path / "cal" / CALIBRATION_FILE
    doc = json.loads(path.read_text())
    assert doc["labels"] == ["anger", "joy", "fear"] and doc["multilabel"] is True
    assert doc["methods"]["hard"]["fitted_on"] == {"split": "dev", "n_items": 200, "target": "human"}
    loaded = load_calibration(tmp_path / "cal", label_set=LABELS, method="first_step")
    assert loaded.methods == ("compare_to_none", "hard", "first_step")
    assert loaded.fitted_on["first_step"] == FitInfo("dev", 180, "gold")
    test = make_split(80, 1, n_annotators=5)
    for method, sel in sels.items():
        back = loaded.selection(method)
        assert back.name == sel.name and back.cv_nll == sel.cv_nll and back.rule == sel.rule
        np.testing.assert_array_equal(back.calibrator.transform(test.inputs()), sel.calibrator.transform(test.inputs()))
    # the file path itself also loads
    assert load_calibration(path).methods == loaded.methods


def test_one_fitted_on_record_for_all_methods(tmp_path, fitted):
    _, sels = fitted
    save_calibration(tmp_path, LABELS, sels, FitInfo("validation", 200))
    assert set(f.split for f in load_calibration(tmp_path).fitted_on.values()) == {"validation"}


@pytest.mark.parametrize("other", [
    LabelSet(("anger", "fear", "joy")),  # same names, another order
    LabelSet(("anger", "joy", "sadness")),
    LabelSet(("anger", "joy", "fear"), multilabel=False),
])
def test_another_label_set_is_refused(tmp_path, fitted, other):
    _, sels = fitted
    save_calibration(tmp_path, LABELS, sels, FitInfo("dev", 200))
    with pytest.raises(LabeldistError, match="was fitted on labels") as e:
        load_calibration(tmp_path, label_set=other)
    assert "\n" not in str(e.value)


def test_another_method_is_refused(tmp_path, fitted):
    _, sels = fitted
    save_calibration(tmp_path, LABELS, {"hard": sels["hard"]}, FitInfo("dev", 200))
    with pytest.raises(LabeldistError, match="no calibration for method 'max_over_generations'"):
        load_calibration(tmp_path, method="max_over_generations")
    with pytest.raises(LabeldistError, match="no calibration for method 'first_step'"):
        load_calibration(tmp_path).calibrator("first_step")


def test_saving_on_the_wrong_label_set_is_refused(tmp_path, fitted):
    _, sels = fitted
    with pytest.raises(LabeldistError, match="fitted on 3 labels"):
        save_calibration(tmp_path, LabelSet(("a", "b")), sels, FitInfo("dev", 200))
    with pytest.raises(LabeldistError, match="no fitted-on record for method 'hard'"):
        save_calibration(tmp_path, LABELS, sels, {"compare_to_none": FitInfo("dev", 1)})


@pytest.mark.parametrize("content, match", [
    (None, "no calibration file"),
    ("{not json", "cannot read"),
    (json.dumps({"format": "something-else", "version": 1}), "not a labeldist calibration file"),
    (json.dumps({"format": "labeldist-calibration", "version": 1, "labels": ["a"], "multilabel": True,
                 "methods": {"m": {"name": "platt", "calibrator": {"name": "spline"}}}}), "unknown calibrator"),
    (json.dumps({"format": "labeldist-calibration", "version": 1, "labels": ["a"], "multilabel": True,
                 "methods": {"m": {"name": "platt", "calibrator": {"name": "platt", "params": {},
                  "multilabel": True, "n_labels": 1, "state": {"coef": [1.0, 2.0], "intercept": [0.0]}}}}}),
     "malformed"),
])
def test_bad_files_raise_one_line_errors(tmp_path, content, match):
    if content is not None:
        (tmp_path / CALIBRATION_FILE).write_text(content)
    with pytest.raises(LabeldistError, match=match) as e:
        load_calibration(tmp_path)
    assert "\n" not in str(e.value)
