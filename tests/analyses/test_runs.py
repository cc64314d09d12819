"""Reading run directories into traces, what each run varied, and how runs are grouped."""

from pathlib import Path

import numpy as np
import pytest

from labeldist.analyses.runs import (
    base_run,
    by_context,
    common_ids,
    label_order_groups,
    load_analysis_run,
    load_analysis_runs,
    probe_inputs,
    record_trace,
    sweeps,
)
from labeldist.errors import LabeldistError
from labeldist.records import HumanDistribution, LabelSet
from tests.analyses.run_helpers import LABELS, example, write_run

LS = LabelSet(LABELS)
V1 = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v1"


def test_record_trace_is_the_softmax_of_each_stored_step():
    rec = example("e1", [([0.7, 0.2, 0.05, 0.05], "a"), ([0.1, 0.8, 0.05, 0.05], "b")], ["a", "b", "a"],
                  gold=["a"], human=[0.75, 0.5, 0.0])
    t, dropped = record_trace(rec, LS)
    np.testing.assert_allclose(t.step_probs, [[0.7, 0.2, 0.05, 0.05], [0.1, 0.8, 0.05, 0.05]], atol=1e-12)
    assert t.step_labels == ("a", "b") and t.predicted == ("a", "b")  # a repeated parsed label kept once
    assert t.gold == ("a",) and t.candidates == ("a", "b", "c", "none") and dropped == 0
    np.testing.assert_allclose(t.human, [0.75, 0.5, 0.0])


def test_a_step_without_finite_scores_is_dropped_and_counted_and_non_distributions_are_not_human():
    rec = example("e1", [([0.7, 0.2, 0.05, 0.05], "a"), ([0.1, 0.8, 0.05, 0.05], "b")], ["a", "b"])
    rec.steps[1].scores = np.array([np.nan] * 4)
    rec.human = HumanDistribution((1.0, 0.0, 0.0), 1, "single_annotator")
    t, dropped = record_trace(rec, LS)
    assert t.n_steps == 1 and t.step_labels == ("a",) and dropped == 1 and t.human is None
    assert t.gold is None


def test_first_occurrence_keeps_each_labels_first_step():
    rec = example("e1", [([0.7, 0.2, 0.05, 0.05], "a"), ([0.6, 0.3, 0.05, 0.05], "a"),
                         ([0.1, 0.8, 0.05, 0.05], "b")], ["a", "b"])
    assert record_trace(rec, LS)[0].step_labels == ("a", "a", "b")
    t, _ = record_trace(rec, LS, first_occurrence=True)
    assert t.step_labels == ("a", "b")
    np.testing.assert_allclose(t.step_probs[1], [0.1, 0.8, 0.05, 0.05], atol=1e-12)


def test_single_label_records_have_no_none_candidate():
    ls = LabelSet(("pos", "neg"), multilabel=False)
    rec = example("e1", [([0.9, 0.1], "pos")], ["pos"], gold=["pos"], labels=ls.labels, multilabel=False)
    t, _ = record_trace(rec, ls)
    assert t.candidates == ("pos", "neg") and not t.multilabel


def _recs(n=3, prefix="e"):
    return [example(f"{prefix}{i}", [([0.7, 0.2, 0.05, 0.05], "a")], ["a"], gold=["a"]) for i in range(n)]


def test_manifest_gives_label_order_decoding_shots_and_demo_share(tmp_path):
    d = write_run(tmp_path / "r", _recs(), order_kind="reverse", ratio=0.2, decoding="free", shots=4,
                  model="qwen", n_parameters=5_000_000, dataset="/data/emo.jsonl")
    run = load_analysis_run(d)
    assert run.label_order == ("c", "b", "a") and run.label_order_kind == "reverse"
    assert run.decoding == "free" and run.shots == 4 and run.demo_ratio == 0.2 and run.demo_sampling == "multilabel"
    assert run.dataset == "emo" and run.model == "qwen" and run.n_parameters == 5_000_000
    assert len(run.traces) == 3 and run.name == "r" and run.describe()["multi-label demo share"] == "0.2"
    # only multilabel sampling with demos has a demo share
    assert load_analysis_run(write_run(tmp_path / "u", _recs(), sampling="uniform")).demo_ratio is None
    assert load_analysis_run(write_run(tmp_path / "z", _recs(), shots=0)).demo_ratio is None


def test_a_label_order_that_is_not_a_permutation_is_an_error(tmp_path):
    d = write_run(tmp_path / "r", _recs(), label_order=("a", "b"))
    with pytest.raises(LabeldistError, match=r"label order \['a', 'b'\] is not a permutation of its labels"):
        load_analysis_run(d)


def test_layout_1_runs_read_as_free_decoding_in_canonical_order():
    run = load_analysis_run(V1 / "multi-test")
    assert run.decoding == "free" and run.label_order_kind == "canonical" and run.label_order == run.label_set.labels
    assert len(run.traces) == 4 and all(t.candidates[-1] == "none" for t in run.traces)


def test_names_are_the_shortest_distinguishing_tails_and_a_repeat_is_refused(tmp_path):
    a = write_run(tmp_path / "a" / "x", _recs())
    b = write_run(tmp_path / "b" / "x", _recs())
    c = write_run(tmp_path / "b" / "y", _recs())
    assert [r.name for r in load_analysis_runs([a, b, c])] == ["a/x", "b/x", "y"]
    with pytest.raises(LabeldistError, match="a run directory is given twice"):
        load_analysis_runs([a, a])
    with pytest.raises(LabeldistError, match="no run directories given"):
        load_analysis_runs([])


def test_grouping_by_context_base_run_sweeps_and_label_orders(tmp_path):
    w = lambda name, recs, **k: write_run(tmp_path / name, recs, **k)  # noqa: E731
    dirs = [w("big", _recs(4)), w("small", _recs(2, "s")), w("rev", _recs(4), order_kind="reverse"),
            w("r0", _recs(3, "w"), ratio=0.0), w("r1", _recs(3, "w"), ratio=1.0), w("other", _recs(2), model="m2")]
    runs = {r.name: r for r in load_analysis_runs(dirs)}
    groups = by_context(runs.values())
    assert [[r.name for r in g] for g in groups.values()] == [["big", "small", "rev", "r0", "r1"], ["other"]]
    m1 = list(groups.values())[0]
    assert base_run(m1).name == "big"  # canonical, default demo share, most examples
    assert [{k: r.name for k, r in s.items()} for s in sweeps(m1)] == [{0.0: "r0", 1.0: "r1"}]
    assert [[r.name for r in g] for g in label_order_groups(m1)] == [["big", "rev"]]  # same items, canonical first
    assert common_ids(runs["big"], runs["small"]) == []
    assert common_ids(runs["big"], runs["rev"]) == ["e0", "e1", "e2", "e3"]


def test_probe_inputs_read_the_runs_stored_probe_features(tmp_path):
    recs = [example("e0", [([0.7, 0.2, 0.05, 0.05], "a"), ([0.1, 0.8, 0.05, 0.05], "b")], ["a", "b"], gold=["b"]),
            example("e1", [([0.1, 0.7, 0.1, 0.1], "b")], ["b"], gold=["a", "c"]),
            example("e2", [([0.1, 0.1, 0.1, 0.7], "none")], [], gold=[])]
    from labeldist.runs.features import FeatureStore

    run = load_analysis_run(write_run(tmp_path / "r", recs))
    assert probe_inputs(run) is None  # nothing to read: the analysis is skipped
    store = FeatureStore(tmp_path / "r" / "features")  # what a run with the probe method writes
    for i, rec in enumerate(run.records):
        store.append("test", rec.id, [float(i), 1.0])
    store.append("fit-train", "x9", [9.0, 9.0])  # fit items are not analysed
    p = probe_inputs(run)
    assert p.ids == ("e0", "e1", "e2") and p.X.tolist() == [[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]]
    assert p.gold.tolist() == [[0, 1, 0], [1, 0, 1], [0, 0, 0]] and p.predicted.tolist() == [[1, 1, 0], [0, 1, 0],
                                                                                              [0, 0, 0]]
    assert p.first.tolist() == [0, 1, -1]
