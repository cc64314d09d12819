"""`labeldist calibrate` + `labeldist evaluate` on synthetic run directories, and calibration applied to records."""

import json

import numpy as np
import pytest

from labeldist.calibration import (
    CALIBRATORS,
    MIN_ITEMS,
    StepRecompute,
    ThresholdSet,
    expected_calibration_error,
    load_calibration,
    select_thresholds,
)
from labeldist.calibration.apply import method_input, resolve_calibration
from labeldist.cli.main import main
from labeldist.errors import LabeldistError
from labeldist.metrics import l1_error, nll_loss
from labeldist.records import ExampleRecord, LabelSet
from labeldist.report import evaluate_runs
from labeldist.report.calibrate_run import calibrate_run
from labeldist.report.calibrated import pooled_ece_scorer
from labeldist.runs.store import iter_records
from tests.calibration.runs import HARD, LABELS, make_cal_run, step_methods

LS = LabelSet(LABELS)
CTN = "compare_to_none"


def split_records(run_dir, split):
    return [r for r in iter_records(run_dir) if r.split == split]


def human(recs):
    return np.array([r.human.probs for r in recs])


@pytest.fixture(scope="module")
def calibrated_run(tmp_path_factory):
    """One miscalibrated run (60 dev + 60 test), calibrated by the CLI with the dev rule."""
    run = make_cal_run(tmp_path_factory.mktemp("cal") / "run", hard=True)
    assert main(["calibrate", str(run), "--dev-split", "dev"]) == 0
    return run


@pytest.fixture(scope="module")
def evaluation(calibrated_run):
    return evaluate_runs([calibrated_run], n_boot=50)


def test_calibrate_writes_the_calibration_directory(calibrated_run):
    d = calibrated_run / "calibration"
    assert {p.name for p in d.iterdir()} >= {"calibration.json", "thresholds.json", "fit.json",
                                            f"reliability_{CTN}.png", f"reliability_{HARD}.png"}
    assert (d / f"reliability_{CTN}.png").read_bytes()[:4] == b"\x89PNG"
    cal = load_calibration(d, label_set=LS)
    assert set(cal.methods) == set(step_methods(LS)) | {HARD}
    for m in cal.methods:
        sel = cal.selection(m)
        best = min(sel.cv_nll.values())  # the dev rule: lowest CV NLL, ties within 1e-9 to the simpler
        assert sel.name == next(n for n, v in sel.cv_nll.items() if v <= best + 1e-9)
        assert cal.fitted_on[m].to_dict() == {"split": "dev", "n_items": 60, "target": "human"}
    # temperature is a candidate only for the step-based methods
    assert "temperature" in cal.selection(CTN).cv_nll and "temperature" not in cal.selection(HARD).cv_nll
    fit = json.loads((d / "fit.json").read_text())
    assert fit["dev"]["source"] == "split" and fit["dev"]["split"] == "dev"
    assert fit["dev"]["ids"] == [f"ex{i}" for i in range(60)] and fit["target"] == "human"
    assert fit["methods"][CTN]["dev_nll_after"] < fit["methods"][CTN]["dev_nll_before"]


def test_thresholds_are_chosen_on_the_calibrated_dev_probabilities(calibrated_run):
    d = calibrated_run / "calibration"
    cal = load_calibration(d, label_set=LS)
    tset = ThresholdSet.from_json(d / "thresholds.json", labels=LABELS)
    dev = split_records(calibrated_run, "dev")
    for m in cal.methods:
        inp = method_input(dev, m, LS)
        gold = np.array([LS.multi_hot(r.gold) for r in dev], dtype=float)  # the records' aggregate labels
        expected = select_thresholds(cal.calibrator(m).transform(inp), gold=gold, labels=LABELS,
                                     method=m, objective="f1", calibrator=cal.selection(m).name)
        assert tset.by_method[m].thresholds == expected.thresholds
        assert tset.by_method[m].calibrator == cal.selection(m).name


def test_evaluate_adds_calibrated_rows_beside_raw_ones_and_never_scores_dev(calibrated_run, evaluation):
    res = evaluation
    cal = load_calibration(calibrated_run / "calibration", label_set=LS)
    assert res.datasets[0].n_examples == 60  # the 60 dev records are left out
    assert any("60 dev records" in n and "not evaluated" in n for n in res.notes)
    test = split_records(calibrated_run, "test")
    q = human(test)
    for m in cal.methods:
        name = f"{m} + {cal.selection(m).name}"
        if cal.selection(m).name == "none":
            assert name not in res.methods
            continue
        assert res.methods.index(name) == res.methods.index(m) + 1  # right after its raw row
        p = cal.calibrator(m).transform(method_input(test, m, LS))
        s = res.score("toy", name, "nll")
        assert s.value == pytest.approx(nll_loss(q, p)) and s.low <= s.value <= s.high
        assert res.score("toy", name, "l1").value == pytest.approx(l1_error(q, p))
        assert res.score("toy", name, "example_f1") is not None  # every metric, with intervals


def test_nll_and_ece_improve_on_the_miscalibrated_run(calibrated_run, evaluation):
    effects = {e["method"]: e for e in evaluation.calibration_effects}
    assert set(effects) == set(load_calibration(calibrated_run / "calibration").methods)
    test = split_records(calibrated_run, "test")
    for m in step_methods(LS):
        e = effects[m]
        assert e["calibrator"] != "none"
        assert e["nll_after"][0] < e["nll_before"][0] and e["ece_after"][0] < e["ece_before"][0]
        raw = np.array([r.methods[m] for r in test])
        assert e["ece_before"][0] == pytest.approx(expected_calibration_error(raw, human(test)))
        assert e["ece_before"][1] <= e["ece_before"][0] <= e["ece_before"][2] or np.isclose(e["ece_before"][0],
                                                                                          e["ece_before"][1])
    c = evaluation.comparison("toy", "nll", effects[CTN]["calibrated_row"], CTN)
    assert c.high < 0  # the paired interval of calibrated − raw NLL lies below 0
    md = evaluation.to_dict()
    assert md["calibration_effects"][0]["fitted_on"]["split"] == "dev"


def test_markdown_and_plots_show_before_and_after(calibrated_run, evaluation, tmp_path):
    paths = evaluation.write(tmp_path / "out")
    md = paths["markdown"].read_text()
    assert "## Calibration: NLL and ECE before → after" in md and f"| toy | {CTN} |" in md
    plots = [k for k in paths if k.startswith("calibration:")]
    assert f"calibration:toy:{CTN}" in plots
    assert paths[f"calibration:toy:{CTN}"].read_bytes()[:4] == b"\x89PNG"


def test_pooled_ece_scorer_matches_the_library_and_takes_weights():
    rng = np.random.default_rng(3)
    p, t = rng.uniform(size=(30, 3)), rng.uniform(size=(30, 3))
    score = pooled_ece_scorer(t, p)
    assert score(np.ones((1, 30)))[0] == pytest.approx(expected_calibration_error(p, t))
    w = rng.integers(0, 3, size=(1, 30)).astype(float)
    rows = np.repeat(np.arange(30), w[0].astype(int))
    assert score(w)[0] == pytest.approx(expected_calibration_error(p[rows], t[rows]))


def test_forced_temperature_calibrates_step_methods_only_and_equals_recompute(tmp_path, capsys):
    run = make_cal_run(tmp_path / "run", hard=True)
    assert main(["calibrate", str(run), "--dev-split", "dev", "--calibrator", "temperature", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "rule: forced: temperature" in out and f"left out: {HARD}" in out
    cal = load_calibration(run / "calibration", label_set=LS)
    assert set(cal.methods) == set(step_methods(LS))
    T = cal.calibrator(CTN).temperature_
    assert 0.3 < T < 0.8  # the logits are half as sharp as they should be: T near 0.5
    res = evaluate_runs([run], n_boot=20)
    test = split_records(run, "test")
    expected = StepRecompute(CTN, [r.steps for r in test], LS)(T)
    assert res.score("toy", f"{CTN} + temperature", "nll").value == pytest.approx(nll_loss(human(test), expected))


def test_a_separate_dev_run_of_the_same_config(tmp_path):
    dev = make_cal_run(tmp_path / "dev", n_dev=40, n_test=0, id_prefix="d")
    test = make_cal_run(tmp_path / "test", n_dev=0, n_test=50, seed=1, id_prefix="t")
    rep = calibrate_run(test, dev_run=dev, plots=False)
    assert rep.n_dev == 40 and rep.split == "dev" and rep.dev_source.startswith("dev run")
    res = evaluate_runs([test], n_boot=20)
    assert res.datasets[0].n_examples == 50  # nothing of the test run is a dev item
    assert any(f"+ {rep.methods[0].selection.name}" in m for m in res.methods)


def test_dev_items_are_excluded_by_id_from_any_run(tmp_path):
    dev = make_cal_run(tmp_path / "dev", n_dev=40, n_test=0)  # ids ex0..ex39, split dev
    test = make_cal_run(tmp_path / "test", n_dev=0, n_test=50, seed=1)  # ids ex0..ex49, split test
    calibrate_run(test, dev_run=dev, plots=False)
    res = evaluate_runs([test], n_boot=20)
    assert res.datasets[0].n_examples == 10  # ex40..ex49: the ids shared with the dev run are never scored


@pytest.mark.parametrize("kwargs, match", [
    ({"labels": ("joy", "anger", "sadness")}, r"dev run .* has labels \[joy, anger, sadness\]"),
    ({"config": {"seed": 1}}, r"another config .*differs in: seed"),
    ({"model": "other"}, r"used model 'other'"),
])
def test_a_mismatched_dev_run_is_refused(tmp_path, kwargs, match):
    dev = make_cal_run(tmp_path / "dev", n_dev=30, n_test=0, id_prefix="d", **kwargs)
    test = make_cal_run(tmp_path / "test", n_dev=0, n_test=30, id_prefix="t")
    with pytest.raises(LabeldistError, match=match):
        calibrate_run(test, dev_run=dev)


def test_targets_are_gold_when_the_data_has_no_annotators(tmp_path, capsys):
    run = make_cal_run(tmp_path / "run", kind="aggregate_only")
    assert main(["calibrate", str(run), "--dev-split", "dev", "--no-plots", "--calibrator", "platt"]) == 0
    assert "targets: 0/1 aggregate gold (no annotator distributions)" in capsys.readouterr().out
    assert json.loads((run / "calibration" / "fit.json").read_text())["target"] == "gold"
    res = evaluate_runs([run], n_boot=20)
    e = res.calibration_effects[0]
    assert e["ece_target"] == "gold" and e["nll_before"] is None  # no q: NLL is not reported
    assert e["ece_after"][0] < e["ece_before"][0]


def test_single_label_runs_calibrate_to_categorical_rows(tmp_path):
    ls = LabelSet(("pos", "neg", "neu"), multilabel=False)
    run = make_cal_run(tmp_path / "run", labels=ls.labels, multilabel=False)
    rep = calibrate_run(run, dev_split="dev", plots=False)
    assert {mc.method for mc in rep.methods} == set(step_methods(ls))
    res = evaluate_runs([run], n_boot=20)
    (_, _, rows), = res.blocks
    improved = [e for e in res.calibration_effects if e["calibrator"] != "none"]
    assert improved
    for e in improved:
        np.testing.assert_allclose(rows[e["calibrated_row"]].sum(axis=1), 1.0)  # still one distribution per item
        assert e["nll_after"][0] < e["nll_before"][0]


def test_no_calibration_and_auto(calibrated_run, capsys):
    res = evaluate_runs([calibrated_run], n_boot=20, calibration=None)
    assert not any(" + " in m for m in res.methods) and res.datasets[0].n_examples == 120
    assert main(["evaluate", str(calibrated_run), "--n-boot", "20", "--no-plots", "--no-calibration",
                 "--out", str(calibrated_run.parent / "ev0")]) == 0
    assert " + " not in capsys.readouterr().out.split("note:")[0]
    assert main(["evaluate", str(calibrated_run), "--n-boot", "20", "--no-plots",
                 "--out", str(calibrated_run.parent / "ev1")]) == 0
    out = capsys.readouterr().out
    assert f"| {CTN} + " in out and "calibration: NLL and ECE before → after" in out


def test_explicit_calibration_dir_applies_to_another_run_of_the_same_label_set(calibrated_run, tmp_path):
    other = make_cal_run(tmp_path / "other", n_dev=0, n_test=30, seed=5, id_prefix="o")
    res = evaluate_runs([other], n_boot=20, calibration=calibrated_run / "calibration")
    assert any(m.startswith(f"{CTN} + ") for m in res.methods) and res.datasets[0].n_examples == 30


# -- bad input: one line, exit 2 ---------------------------------------------------------------

def _one_line_exit_2(argv, capsys, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labeldist: error:") and "\n" not in err
    for f in fragments:
        assert f in err, err
    return err


def test_too_few_dev_items(tmp_path, capsys):
    run = make_cal_run(tmp_path / "run", n_dev=MIN_ITEMS - 8)
    _one_line_exit_2(["calibrate", str(run), "--dev-split", "dev"], capsys, "12 usable items",
                     f"fewer than the minimum {MIN_ITEMS}")


def test_a_label_without_a_positive_dev_item(tmp_path, capsys):
    def no_fear_on_dev(i, rec):
        if rec.split == "dev":
            rec.human = type(rec.human)((rec.human.probs[0], rec.human.probs[1], 0.0), 8, "annotators")
            rec.gold = [g for g in rec.gold if g != "fear"]

    run = make_cal_run(tmp_path / "run", edit=no_fear_on_dev)
    _one_line_exit_2(["calibrate", str(run), "--dev-split", "dev", "--calibrator", "platt"], capsys,
                     "label 'fear' has no dev item with a positive target")
    # thresholds need a dev positive per label even when the calibrator does not
    _one_line_exit_2(["calibrate", str(run), "--dev-split", "dev", "--calibrator", "temperature"], capsys,
                     "label 'fear' has no positive dev item")
    assert main(["calibrate", str(run), "--dev-split", "dev", "--calibrator", "temperature", "--no-thresholds",
                 "--no-plots"]) == 0


@pytest.mark.parametrize("extra, fragment", [
    (["--dev-split", "validation"], "has no records of split 'validation' (its splits: dev, test)"),
    (["--dev-split", "dev", "--threshold-objective", "precision"], "the precision objective needs a target"),
    (["--dev-split", "dev", "--threshold-objective", "recall", "--threshold-target", "1.5"], "outside (0, 1]"),
    (["--dev-split", "dev", "--threshold-target", "0.8"], "applies to the precision and recall objectives"),
    (["--dev-split", "dev", "--methods", "nonsense"], "unknown method 'nonsense'"),
])
def test_bad_calibrate_options(tmp_path, capsys, extra, fragment):
    run = make_cal_run(tmp_path / "run", n_dev=25, n_test=5)
    _one_line_exit_2(["calibrate", str(run), *extra], capsys, fragment)
    assert not (run / "calibration").exists()


def test_evaluate_refuses_another_label_set_or_method_and_the_dev_split(calibrated_run, tmp_path, capsys):
    other = make_cal_run(tmp_path / "other", labels=("joy", "anger"), n_dev=0, n_test=20)
    _one_line_exit_2(["evaluate", str(other), "--calibration", str(calibrated_run / "calibration"), "--n-boot", "10"],
                     capsys, "was fitted on labels [joy, anger, fear]")

    def only_hard(i, rec):
        rec.methods = {HARD: rec.methods[HARD]}

    hard_only = make_cal_run(tmp_path / "hard", n_dev=0, n_test=20, hard=True, edit=only_hard)
    calibrate_dir = tmp_path / "ctn-only"
    calibrate_run(calibrated_run, dev_split="dev", methods=[CTN], out=calibrate_dir, plots=False)
    _one_line_exit_2(["evaluate", str(hard_only), "--calibration", str(calibrate_dir), "--n-boot", "10"], capsys,
                     f"calibrates {CTN}, none of which the run has")
    _one_line_exit_2(["evaluate", str(calibrated_run), "--split", "dev", "--n-boot", "10"], capsys,
                     "cannot evaluate on split 'dev': a calibration was fitted on it")


def test_thresholds_outside_unit_interval_are_refused_before_the_model_loads(calibrated_run, tmp_path, capsys):
    d = json.loads((calibrated_run / "calibration" / "thresholds.json").read_text())
    d["methods"][CTN]["thresholds"][1] = 1.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    # --model names nothing loadable: the error must come before any model load
    _one_line_exit_2(["classify", "hello", "--labels", ",".join(LABELS), "--model", "no-such-model",
                      "--thresholds", str(bad)], capsys, "threshold for label 'anger' is 1.5, outside [0, 1]")
    _one_line_exit_2(["classify", "hello", "--labels", "joy,anger", "--model", "no-such-model",
                      "--calibration", str(calibrated_run)], capsys, "was fitted on labels [joy, anger, fear]")


# -- applied to records (classify / run) -------------------------------------------------------

def test_resolved_calibration_fills_typed_record_fields_that_round_trip(calibrated_run):
    applied = resolve_calibration(LS, step_methods(LS), calibration=calibrated_run)
    cal = load_calibration(calibrated_run / "calibration")
    tset = ThresholdSet.from_json(calibrated_run / "calibration" / "thresholds.json")
    test = split_records(calibrated_run, "test")[:10]
    for r in test:
        r.calibrated, r.predicted = {}, {}
    applied.apply(test)
    for m in step_methods(LS):
        expected = cal.calibrator(m).transform(method_input(test, m, LS))
        np.testing.assert_allclose([r.calibrated[m] for r in test], expected)
        on = tset.by_method[m].apply(expected)
        assert [r.predicted[m] for r in test] == [[l for l, v in zip(LABELS, row) if v] for row in on]
    again = [ExampleRecord.from_dict(json.loads(json.dumps(r.to_dict()))) for r in test]
    assert [a.calibrated for a in again] == [r.calibrated for r in test]
    assert [a.predicted for a in again] == [r.predicted for r in test]
    plain = ExampleRecord("x", "t")
    assert "calibrated" not in plain.to_dict() and "predicted" not in plain.to_dict()
    assert ExampleRecord.from_dict(plain.to_dict()).calibrated == {}
    assert ExampleRecord.from_dict({"id": "x", "text": "t", "methods": {}}, version=1).predicted == {}


def test_thresholds_chosen_after_a_calibrator_need_that_calibration(calibrated_run):
    cal = load_calibration(calibrated_run / "calibration")
    m = next(m for m in cal.methods if cal.selection(m).name != "none")
    with pytest.raises(LabeldistError, match=rf"thresholds of method '{m}' were chosen on "
                                             rf"{cal.selection(m).name}-calibrated probabilities"):
        resolve_calibration(LS, [m], thresholds=calibrated_run / "calibration" / "thresholds.json")


def test_every_calibrator_name_is_a_cli_choice():
    from labeldist.cli.main import build_parser

    for name in CALIBRATORS:
        args = build_parser().parse_args(["calibrate", "r", "--dev-split", "dev", "--calibrator", name])
        assert args.calibrator == name


def test_a_temperature_at_its_bound_and_fallback_rows_are_noted(tmp_path):
    from labeldist.methods import METHODS, EstimateOptions

    def shift(i, rec):  # every label 10 logits above none: one T cannot undo the shift
        if i % 10 == 0:
            rec.steps = []  # no label step: a fallback row
        else:
            rec.steps[0].scores[-1] -= 10.0
        for m in step_methods(LS):
            p = METHODS[m].estimate(rec, LS, EstimateOptions())
            rec.methods[m] = [1 / 4] * 3 if p is None else [float(x) for x in p]

    run = make_cal_run(tmp_path / "run", edit=shift)
    rep = calibrate_run(run, dev_split="dev", calibrator="temperature", methods=[CTN], threshold_objective=None,
                        plots=False)
    assert rep.methods[0].selection.calibrator.temperature_ == pytest.approx(20.0, rel=1e-3)
    assert any("at its search bound [0.05, 20]" in n for n in rep.notes)
    assert any("6 of 60 dev items have no label step" in n for n in rep.notes)
