"""evaluate_runs and `labeldist evaluate` on small run directories built in tmp_path."""

import csv
import json

import numpy as np
import pytest

from labeldist.cli.main import main
from labeldist.errors import LabeldistError
from labeldist.metrics import METRICS, example_f1_score, l1_error, nll_loss
from labeldist.records import HumanDistribution, LabelSet
from labeldist.report import BASE_RATE, UNIFORM, evaluate_runs
from labeldist.records import ExampleRecord, StepScores
from labeldist.runs.store import RunStore
from tests.helpers import make_manifest

LABELS = ("joy", "anger", "fear")


def make_run(path, *, labels=LABELS, multilabel=True, dataset="toy", model="fake", n_test=16, n_dev=0, seed=0,
             base_rates=True, kind="annotators", edit=None):
    """A run with methods first_step and compare_to_none (consistent with its stored first-step scores)."""
    rng = np.random.default_rng(seed)
    ls = LabelSet(labels, multilabel=multilabel)
    n_labels = len(labels)
    manifest = make_manifest({"seed": seed}, labels=labels, multilabel=multilabel, dataset=dataset, model=model,
                             train_base_rates=[0.2] * n_labels if base_rates else None)
    store = RunStore.open(path, manifest)
    data_rng = np.random.default_rng(1234)  # the dataset (ids, human, gold) is the same in every run
    for i in range(n_dev + n_test):
        if multilabel:
            q = data_rng.integers(0, 5, size=n_labels) / 4
            gold = [l for l, v in zip(labels, q) if v >= 0.5]
        else:
            votes = data_rng.integers(0, n_labels, size=4)
            q = np.bincount(votes, minlength=n_labels) / 4
            gold = [labels[int(np.argmax(q))]]
        human = HumanDistribution(tuple(float(v) for v in q), 4, "annotators") if kind == "annotators" else \
            HumanDistribution(tuple(float(l in gold) for l in labels), None, kind)
        z = rng.normal(size=len(ls.candidates))
        rec = ExampleRecord(id=f"ex{i}", text=f"text {i}", gold=gold, human=human,
                            split="dev" if i < n_dev else "test", steps=[StepScores(0, 1, labels[0], z)])
        rec.methods["first_step"] = list(np.exp(z[:n_labels]) / np.exp(z).sum())
        if multilabel:
            rec.methods["compare_to_none"] = list(1 / (1 + np.exp(-(z[:n_labels] - z[n_labels]))))
        if edit is not None:
            edit(i, rec)
        store.append(rec)
    return path


def arrays(run_dir, method):
    from labeldist.runs.store import iter_records

    recs = [r for r in iter_records(run_dir) if r.split == "test"]
    ls = LabelSet(LABELS)
    human = np.array([r.human.probs for r in recs])
    gold = np.array([ls.multi_hot(r.gold) for r in recs], dtype=float)
    return human, gold, np.array([r.methods[method] for r in recs])


def test_table2_cells_equal_the_metric_functions(tmp_path):
    run = make_run(tmp_path / "a")
    res = evaluate_runs([run], n_boot=100)
    human, gold, pred = arrays(run, "compare_to_none")
    s = res.score("toy", "compare_to_none", "nll")
    assert s.value == pytest.approx(nll_loss(human, pred)) and s.low <= s.value <= s.high and s.n_examples == 16
    assert res.score("toy", "compare_to_none", "l1").value == pytest.approx(l1_error(human, pred))
    assert res.score("toy", "first_step", "example_f1").value == pytest.approx(
        example_f1_score(gold, arrays(run, "first_step")[2]))
    # baselines in every table: base rate 0.2 and uniform 0.5 for every label
    assert res.methods[:2] == [BASE_RATE, UNIFORM]
    assert set(res.methods[2:]) == {"first_step", "compare_to_none"}
    assert res.score("toy", UNIFORM, "l1").value == pytest.approx(l1_error(human, np.full_like(human, 0.5)))
    assert res.score("toy", BASE_RATE, "nll").value == pytest.approx(nll_loss(human, np.full_like(human, 0.2)))
    table = res.table()
    assert "| Method | toy NLL ↓ | toy L1 ↓ | toy F1 ↑ |" in table and "baseline: uniform" in table
    assert f"{s.value:.3f} [{s.low:.3f}, {s.high:.3f}]" in table
    # every pair is tested once per metric; either orientation can be asked for
    c = res.comparison("toy", "nll", "compare_to_none", "first_step")
    d = res.comparison("toy", "nll", "first_step", "compare_to_none")
    assert c.mean_diff == pytest.approx(-d.mean_diff) and c.p_value == d.p_value
    assert len(res.comparisons) == len(METRICS) * 6  # every metric x C(4, 2) pairs


def test_seeded_and_reproducible(tmp_path):
    run = make_run(tmp_path / "a")
    a, b = evaluate_runs([run], n_boot=60, seed=3), evaluate_runs([run], n_boot=60, seed=3)
    assert a.scores == b.scores and a.comparisons == b.comparisons
    c = evaluate_runs([run], n_boot=60, seed=4)
    assert [s.value for s in a.scores] == [s.value for s in c.scores]
    assert [s.low for s in a.scores] != [s.low for s in c.scores]


def test_writes_markdown_csv_json_and_plots(tmp_path):
    run = make_run(tmp_path / "a")
    res = evaluate_runs([run], n_boot=30)
    paths = res.write(tmp_path / "out")
    md = paths["markdown"].read_text()
    assert "## Table 2" in md and "## toy: all metrics" in md and "ROC-AUC ↑" in md and "paired bootstrap" in md
    data = json.loads(paths["json"].read_text())
    assert data["metrics"]["nll"] == {"direction": "lower", "target": "human", "level": "example", "header": "NLL"}
    assert {s["metric"] for s in data["scores"]} >= {"nll", "l1", "example_f1", "roc_auc"}
    with open(paths["table_csv"]) as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == res.methods and "toy:nll:low" in rows[0]
    for key in ("scores_csv", "comparisons_csv", "per_label_csv"):
        assert paths[key].stat().st_size > 0
    for key in ("reliability:toy", "per_label:toy"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_datasets_become_column_groups_and_two_models_label_rows(tmp_path):
    a = make_run(tmp_path / "a", model="m1")
    b = make_run(tmp_path / "b", model="m2", seed=1)
    c = make_run(tmp_path / "c", dataset="other", labels=("x", "y"), model="m1")
    res = evaluate_runs([a, b, c], n_boot=20)
    assert [d.name for d in res.datasets] == ["toy", "other"]
    assert "compare_to_none (m1)" in res.methods and "compare_to_none (m2)" in res.methods
    assert res.score("other", "compare_to_none (m2)", "nll") is None
    header = res.table().splitlines()[0]
    assert "toy NLL ↓" in header and "other F1 ↑" in header


def test_missing_base_rates_omit_that_baseline_with_a_note(tmp_path):
    res = evaluate_runs([make_run(tmp_path / "a", base_rates=False)], n_boot=20)
    assert BASE_RATE not in res.methods and UNIFORM in res.methods
    assert any("train_base_rates" in n for n in res.notes)


def test_aggregate_only_dataset_reports_gold_metrics_only(tmp_path):
    res = evaluate_runs([make_run(tmp_path / "a", kind="aggregate_only")], n_boot=20)
    assert res.score("toy", "first_step", "nll") is None
    assert res.score("toy", "first_step", "example_f1") is not None
    assert any("NLL, L1 and Brier are not reported" in n for n in res.notes)
    assert "| first_step | — | — |" in res.table()


def test_single_label_run(tmp_path):
    res = evaluate_runs([make_run(tmp_path / "a", multilabel=False)], n_boot=20)
    assert res.datasets[0].multilabel is False
    assert res.score("toy", UNIFORM, "l1") is not None
    human, _, _ = arrays(tmp_path / "a", "first_step")
    assert res.score("toy", UNIFORM, "nll").value == pytest.approx(nll_loss(human, np.full_like(human, 1 / 3),
                                                                          multilabel=False))


def test_calibrate_dev_adds_platt_rows_and_evaluates_other_splits(tmp_path):
    run = make_run(tmp_path / "a", n_dev=12)
    res = evaluate_runs([run], n_boot=20, calibrate="dev")
    name = "compare_to_none + Platt (dev)"
    assert name in res.methods and "compare_to_none" in res.methods
    assert res.datasets[0].n_examples == 16  # the 12 dev records are not evaluated
    (cal,) = res.calibration
    assert cal["n_fit_examples"] == 12 and cal["n_fit_pairs"] == 36 and np.isfinite(cal["coef"])
    # the calibrated row is sigma(w x + b) of the first-step score differences
    from labeldist.runs.store import iter_records

    recs = [r for r in iter_records(run) if r.split == "test"]
    x = np.array([r.steps[0].scores[:3] - r.steps[0].scores[3] for r in recs])
    human = np.array([r.human.probs for r in recs])
    p = 1 / (1 + np.exp(-(cal["coef"] * x + cal["intercept"])))
    assert res.score("toy", name, "nll").value == pytest.approx(nll_loss(human, p))


def test_calibrate_without_dev_records_is_an_error(tmp_path):
    run = make_run(tmp_path / "a")
    with pytest.raises(LabeldistError, match=r"run .*a has no records of split 'dev'"):
        evaluate_runs([run], n_boot=20, calibrate="dev")


def test_different_label_sets_are_an_error_naming_the_run(tmp_path):
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b", labels=("joy", "anger", "sadness"))
    with pytest.raises(LabeldistError, match=r"run .*b has labels \['joy', 'anger', 'sadness'\].*run .*a on the same"):
        evaluate_runs([a, b], n_boot=20)


def test_different_items_are_an_error_naming_the_runs(tmp_path):
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b", n_test=15)
    with pytest.raises(LabeldistError, match=r"run .*b and run .*a \(dataset 'toy'\) cover different examples: "
                                             r"0 only in .*b, 1 only in .*a, e.g. id 'ex15'"):
        evaluate_runs([a, b], n_boot=20)


def _set(method, index, value):
    def edit(i, rec):
        if i == 5:
            rec.methods[method][index] = value

    return edit


@pytest.mark.parametrize("value, shown", [(float("nan"), "nan"), (1.25, "1.25"), (-0.5, "-0.5")])
def test_bad_probabilities_name_run_method_and_example(tmp_path, value, shown):
    run = make_run(tmp_path / "a", edit=_set("first_step", 1, value))
    with pytest.raises(LabeldistError, match=rf"run .*a, method 'first_step': probabilities at example id 'ex5' "
                                             rf"\(index 5\), label 'anger' is {shown}"):
        evaluate_runs([run], n_boot=20)


def test_missing_human_distribution_names_run_and_example(tmp_path):
    def edit(i, rec):
        if i == 3:
            rec.human = None

    run = make_run(tmp_path / "a", edit=edit)
    with pytest.raises(LabeldistError, match=r"run .*a: example id 'ex3' has no annotator distribution \(kind: none\)"):
        evaluate_runs([run], n_boot=20)


def test_missing_method_for_one_example_is_an_error(tmp_path):
    def edit(i, rec):
        if i == 2:
            del rec.methods["first_step"]

    run = make_run(tmp_path / "a", edit=edit)
    with pytest.raises(LabeldistError, match=r"method 'first_step' is missing for example id 'ex2' \(15 of 16"):
        evaluate_runs([run], n_boot=20)


def test_cli_prints_table_and_writes_files(tmp_path, capsys):
    run = make_run(tmp_path / "a")
    out = tmp_path / "eval"
    assert main(["evaluate", str(run), "--out", str(out), "--n-boot", "20", "--seed", "1", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "| Method | toy NLL ↓ | toy L1 ↓ | toy F1 ↑ |" in printed and "compare_to_none" in printed
    assert "toy: 16 examples" in printed
    assert (out / "table.md").exists() and (out / "results.json").exists() and not (out / "plots").exists()


def test_cli_error_is_one_line_exit_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing"), "--n-boot", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labeldist: error:") and "\n" not in err


def test_calibration_skips_examples_without_a_label_step_and_counts_them(tmp_path):
    def edit(i, rec):
        if i in (0, 20):  # one dev example, one test example
            rec.steps = []
            rec.methods["compare_to_none"] = [0.25, 0.25, 0.25]  # the runner's uniform fallback

    run = make_run(tmp_path / "a", n_dev=12, edit=edit)
    res = evaluate_runs([run], n_boot=20, calibrate="dev")
    (cal,) = res.calibration
    assert cal["n_fit_examples"] == 11 and cal["n_skipped_no_steps"] == 1 and cal["n_eval_no_steps"] == 1
    assert any("1 of 16 examples" in n and "no label step" in n for n in res.notes)


def test_single_label_calibration_is_skipped_with_a_note(tmp_path):
    res = evaluate_runs([make_run(tmp_path / "a", multilabel=False, n_dev=4)], n_boot=20, calibrate="dev")
    assert not res.calibration and any("single-label" in n for n in res.notes)


def test_labels_with_a_single_gold_class_are_left_out_of_auc_and_counted(tmp_path):
    def edit(i, rec):
        rec.gold = [g for g in rec.gold if g != "fear"]

    res = evaluate_runs([make_run(tmp_path / "a", edit=edit)], n_boot=20)
    assert res.score("toy", "first_step", "roc_auc").n_labels_excluded == 1
    assert res.score("toy", "first_step", "nll").n_labels_excluded is None
    assert any("ROC-AUC and AP leave out 1 of 3 labels" in n and "(fear)" in n for n in res.notes)


def test_same_run_twice_is_an_error(tmp_path):
    run = make_run(tmp_path / "a")
    with pytest.raises(LabeldistError, match="the same run directory was given twice"):
        evaluate_runs([run, tmp_path / "a" / "."], n_boot=20)


def test_examples_without_aggregate_label_count_only_for_distribution_metrics(tmp_path):
    # ex0 and ex3 have no aggregate label (a plurality tie): NLL/L1 use all 16, F1 the other 14.
    def tie(i, rec):
        if i in (0, 3):
            rec.gold = None

    run = make_run(tmp_path / "r", edit=tie)
    res = evaluate_runs([run], n_boot=50)
    human, _, p = arrays(make_run(tmp_path / "full"), "first_step")
    from labeldist.runs.store import iter_records

    recs = list(iter_records(run))
    keep = np.array([r.gold is not None for r in recs])
    gold = np.array([LabelSet(LABELS).multi_hot(r.gold) for r in recs if r.gold is not None], dtype=float)
    assert res.score("toy", "first_step", "nll").value == pytest.approx(nll_loss(human, p))
    assert res.score("toy", "first_step", "example_f1").value == pytest.approx(example_f1_score(gold, p[keep]))
    assert any("2 of 16 examples have no aggregate label" in n for n in res.notes)


def test_a_run_calibration_directory_is_used_by_default_beside_the_platt_reference_variant(tmp_path, capsys):
    from labeldist.report.calibrate_run import calibrate_run

    run = make_run(tmp_path / "a", n_dev=24)
    calibrate_run(run, dev_split="dev", calibrator="platt", threshold_objective=None, plots=False)
    res = evaluate_runs([run], n_boot=20, calibrate="dev")
    assert res.methods[2:] == ["first_step", "first_step + platt", "compare_to_none", "compare_to_none + platt",
                               "compare_to_none + Platt (dev)"]
    assert res.datasets[0].n_examples == 16  # the 24 dev records fitted both calibrations; neither is scored
    (cal,) = res.calibration
    assert cal["n_fit_examples"] == 24
    assert [e["row"] for e in res.calibration_effects] == ["first_step", "compare_to_none"]
    plain = evaluate_runs([run], n_boot=20, calibration=None)
    assert plain.methods[2:] == ["first_step", "compare_to_none"] and plain.datasets[0].n_examples == 40
    assert main(["evaluate", str(run), "--n-boot", "20", "--no-plots", "--out", str(tmp_path / "ev")]) == 0
    assert "| compare_to_none + platt |" in capsys.readouterr().out
