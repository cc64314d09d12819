"""`classify` and `run` with --calibration / --thresholds, on the tiny random Llama (real SmolLM2 tokenizer)."""

import json

import numpy as np
import pytest

from labeldist import api
from labeldist.calibration import ThresholdSet, load_calibration, method_input
from labeldist.errors import LabeldistError
from labeldist.records import Example, LabelSet
from labeldist.report.calibrate_run import calibrate_run
from labeldist.runs.runner import RunConfig
from labeldist.runs.store import iter_records
from tests.calibration.runs import LABELS, make_cal_run, step_methods

LS = LabelSet(LABELS)
TEXTS = ["I am so happy today", "This makes me furious", "I am scared of the dark", "What a calm afternoon"]


@pytest.fixture(scope="module")
def cal_dir(tmp_path_factory):
    run = make_cal_run(tmp_path_factory.mktemp("cal") / "run")
    calibrate_run(run, dev_split="dev", calibrator="platt", plots=False)
    return run / "calibration"


def test_classify_prints_and_returns_calibrated_probabilities_and_label_sets(tiny_backend, cal_dir):
    res = api.classify(TEXTS, LS, backend=tiny_backend, calibration=cal_dir)
    cal = load_calibration(cal_dir)
    tset = ThresholdSet.from_json(cal_dir / "thresholds.json")
    for m in step_methods(LS):
        expected = cal.calibrator(m).transform(method_input(res.records, m, LS))
        np.testing.assert_allclose(res.calibrated_probs(m), expected)
        on = tset.by_method[m].apply(expected)
        assert res.predicted(m) == [[l for l, v in zip(LABELS, row) if v] for row in on]
    table = res.table()
    m = step_methods(LS)[0]
    assert f"{m} + platt" in table and f"predicted ({m} + platt, f1 thresholds):" in table
    with pytest.raises(LabeldistError, match="has no calibrated probabilities"):
        api.classify(TEXTS[:1], LS, backend=tiny_backend).calibrated_probs(m)


def test_classify_refuses_a_calibration_of_other_methods_before_running(tiny_backend, cal_dir):
    with pytest.raises(LabeldistError, match="none of which this run computes"):
        api.classify(TEXTS, LS, backend=tiny_backend, methods=("unary",), calibration=cal_dir)


def test_run_records_calibrated_and_predicted_and_resumes_only_with_the_same_calibration(tiny_backend, cal_dir,
                                                                                          tmp_path):
    exs = [Example(f"e{i}", t, gold=(), split="test") for i, t in enumerate(TEXTS)]
    out = tmp_path / "run"
    config = RunConfig(model="tiny", prompt=api.PromptConfig(shots=0))
    res = api.run(exs[:2], LS, out, config=config, backend=tiny_backend, progress=False, calibration=cal_dir)
    stored = list(iter_records(out))
    m = step_methods(LS)[0]
    assert all(m in r.calibrated and m in r.predicted for r in stored)
    assert [r.calibrated[m] for r in stored] == [r.calibrated[m] for r in res.records]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["calibration"]["calibrators"][m] == "platt"
    again = api.run(exs, LS, out, config=config, backend=tiny_backend, progress=False, calibration=cal_dir)
    assert again.summary.n_resumed == 2 and all(m in r.calibrated for r in iter_records(out))
    with pytest.raises(LabeldistError, match=r"different config \(differs in: calibration\)"):
        api.run(exs, LS, out, config=config, backend=tiny_backend, progress=False)
