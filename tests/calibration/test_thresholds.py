"""Per-label thresholds: equal to a brute-force search over every cut point; JSON round trips; validation."""

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labeldist.calibration import FitInfo, Thresholds, select_thresholds
from labeldist.metrics import EPS


def _brute_force(p, y, objective, target):
    """Try every cut point t (each distinct value, as p >= t), highest first; keep strict improvements only."""
    p = np.clip(p, EPS, 1 - EPS)
    best_t, best_key = None, None
    n_pos = y.sum()
    for t in sorted(set(p.tolist()), reverse=True):
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        pp = float(pred.sum())
        precision, recall, f1 = tp / pp, tp / n_pos, 2 * tp / (pp + n_pos)
        if objective == "f1":
            key = f1
        elif objective == "precision":
            key = recall if precision >= target else None
        else:
            if recall >= target:
                return t
            continue
        if key is not None and (best_key is None or key > best_key):
            best_t, best_key = t, key
    return 1.0 if best_t is None else best_t


def _random_problem(seed, n, n_labels=3):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random((n, n_labels)), int(rng.integers(1, 3)))  # few decimals: many ties
    y = (rng.random((n, n_labels)) < np.clip(p + rng.normal(0, 0.3, p.shape), 0, 1)).astype(float)
    y[0] = 1.0  # every label has a positive
    return p, y


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 80),
       objective=st.sampled_from(["f1", "precision", "recall"]), target=st.sampled_from([0.3, 0.6, 0.8, 0.95, 1.0]))
def test_equals_brute_force_search(seed, n, objective, target):
    p, y = _random_problem(seed, n)
    tgt = None if objective == "f1" else target
    thr = select_thresholds(p, y, labels=["a", "b", "c"], method="m", objective=objective, target=tgt)
    expected = [_brute_force(p[:, j], y[:, j], objective, tgt) for j in range(3)]
    assert thr.thresholds == tuple(expected)
    # clipped p never reaches 1.0, so a threshold of 1.0 can only be the unmet-target fallback
    unmet = [name for name, t in zip("abc", expected) if objective == "precision" and t == 1.0]
    assert sorted(thr.notes) == sorted(unmet)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_no_cut_point_between_values_beats_the_f1_choice(seed):
    p, y = _random_problem(seed, 40, n_labels=1)
    thr = select_thresholds(p, y, labels=["a"], method="m")
    chosen = thr.apply(p)[:, 0]
    best = 2 * (chosen * y[:, 0]).sum() / (chosen.sum() + y.sum())
    for t in np.linspace(0, 1, 1001):
        pred = (np.clip(p[:, 0], EPS, 1 - EPS) >= t).astype(float)
        if pred.sum():
            assert 2 * (pred * y[:, 0]).sum() / (pred.sum() + y.sum()) <= best + 1e-12


def test_hand_computed_f1_and_tie_rule():
    # p: .9 .8 .7 .6 repeated 5x; gold 1 1 0 1 -> cuts .9: F1 2*5/(5+15)=.5; .8: 2*10/(10+15)=.8;
    # .7: 2*10/(15+15)=.667; .6: 2*15/(20+15)=.857 -> t = .6
    p = np.tile([[0.9], [0.8], [0.7], [0.6]], (5, 1))
    y = np.tile([[1.0], [1.0], [0.0], [1.0]], (5, 1))
    assert select_thresholds(p, y, labels=["a"], method="m").thresholds == (0.6,)
    # gold 1 0 1 0: F1 at .9 = 2*5/(5+10) = .667, at .7 = 2*10/(15+10) = .8, at .6 = 2*10/(20+10) = .667;
    # at .8: 2*5/(10+10) = .5 -> t = .7
    y2 = np.tile([[1.0], [0.0], [1.0], [0.0]], (5, 1))
    assert select_thresholds(p, y2, labels=["a"], method="m").thresholds == (0.7,)
    # a tie: gold 1 0 0 1 -> F1 .9: 10/15=.667, .8: 10/20=.5, .7: 10/25=.4, .6: 20/30=.667 -> highest, .9
    y3 = np.tile([[1.0], [0.0], [0.0], [1.0]], (5, 1))
    assert select_thresholds(p, y3, labels=["a"], method="m").thresholds == (0.9,)
    # recall >= 0.6 first reached at .8 (10/15); precision >= 0.7 with most recall: .8 (1.0, 2/3) vs .6 (.75, 1) -> .6
    assert select_thresholds(p, y, labels=["a"], method="m", objective="recall", target=0.6).thresholds == (0.8,)
    assert select_thresholds(p, y, labels=["a"], method="m", objective="precision", target=0.7).thresholds == (0.6,)


def test_unmet_precision_target_predicts_nothing_with_a_note():
    rng = np.random.default_rng(0)
    p = rng.random((30, 2))
    y = np.zeros((30, 2))
    y[:, 0] = p[:, 0] > 0.5
    y[np.argmin(p[:, 1]), 1] = 1.0  # label b: its only positive has the lowest score
    thr = select_thresholds(p, y, labels=["a", "b"], method="m", objective="precision", target=0.9)
    assert thr.thresholds[1] == 1.0 and list(thr.notes) == ["b"] and "precision 0.9" in thr.notes["b"]
    assert thr.apply(np.array([[0.99, 1.0]])).tolist() == [[1.0, 0.0]]  # p clipped below 1: never predicted


def test_gold_derived_from_human_fractions():
    rng = np.random.default_rng(1)
    p, q = rng.random((40, 2)), rng.integers(0, 5, (40, 2)) / 4
    q[0] = 1.0
    a = select_thresholds(p, human_probs=q, labels=["a", "b"], method="m", objective="recall", target=0.7)
    b = select_thresholds(p, (q >= 0.5).astype(float), labels=["a", "b"], method="m", objective="recall", target=0.7)
    assert a.thresholds == b.thresholds
    assert a.fitted_on == FitInfo("dev", 40, "human") and b.fitted_on.target == "gold"


def test_json_round_trip_and_apply(tmp_path):
    p, y = _random_problem(3, 50)
    thr = select_thresholds(p, y, labels=["a", "b", "c"], method="max_over_generations", objective="precision",
                            target=0.8, split="validation", calibrator="isotonic")
    path = thr.to_json(tmp_path / "sub" / "thresholds.json")
    back = Thresholds.from_json(path, labels=["a", "b", "c"], method="max_over_generations")
    assert back == thr
    np.testing.assert_array_equal(back.apply(p), thr.apply(p))
    np.testing.assert_array_equal(thr.apply(p), (np.clip(p, EPS, 1 - EPS) >= thr.values).astype(float))
    doc = json.loads(path.read_text())
    assert doc["objective"] == "precision" and doc["target"] == 0.8 and doc["calibrator"] == "isotonic"
    assert doc["fitted_on"] == {"split": "validation", "n_items": 50, "target": "gold"}
