"""Example-F1, Jaccard, micro and macro F1 against hand-computed values and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from labeldist.metrics import example_f1_score, example_jaccard_score, macro_f1_score, micro_f1_score

GOLD = np.array([[1, 1, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0]])
PRED = np.array([[0.9, 0.1, 0.2], [0.1, 0.2, 0.3], [0.6, 0.4, 0.5], [0.2, 0.3, 0.4]])
# predicted sets (p >= 0.5): {0}, {}, {0, 2}, {}


def test_example_f1_hand_computed():
    # ex 0: S={0}, G={0,1}: 2*1/(1+2) = 2/3
    # ex 1: S={}, G={}: both empty -> 1
    # ex 2: S={0,2}, G={2}: 2*1/(2+1) = 2/3
    # ex 3: S={}, G={0}: 0
    np.testing.assert_allclose(example_f1_score(GOLD, PRED, reduce="none"), [2 / 3, 1.0, 2 / 3, 0.0])
    assert example_f1_score(GOLD, PRED) == pytest.approx((2 / 3 + 1 + 2 / 3 + 0) / 4)


def test_example_jaccard_hand_computed_and_matches_sklearn():
    # ex 0: 1/2; ex 1: 1 (both empty); ex 2: 1/2; ex 3: 0
    np.testing.assert_allclose(example_jaccard_score(GOLD, PRED, reduce="none"), [0.5, 1.0, 0.5, 0.0])
    expected = jaccard_score(GOLD, (PRED >= 0.5).astype(int), average="samples", zero_division=1)
    assert example_jaccard_score(GOLD, PRED) == pytest.approx(expected) == pytest.approx(0.5)


def test_micro_and_macro_f1_hand_computed_and_match_sklearn():
    # label 0: TP=1 (ex 0), FP=1 (ex 2), FN=1 (ex 3) -> 2/(2+1+1) = 0.5
    # label 1: TP=0, FN=1 (ex 0) -> 0
    # label 2: TP=1 (ex 2) -> 2/2 = 1
    # micro: TP=2, FP=1, FN=2 -> 4/(4+1+2) = 4/7
    assert micro_f1_score(GOLD, PRED) == pytest.approx(4 / 7)
    np.testing.assert_allclose(macro_f1_score(GOLD, PRED, reduce="none"), [0.5, 0.0, 1.0])
    assert macro_f1_score(GOLD, PRED) == pytest.approx(0.5)
    hard = (PRED >= 0.5).astype(int)
    assert micro_f1_score(GOLD, PRED) == pytest.approx(f1_score(GOLD, hard, average="micro", zero_division=0))
    assert macro_f1_score(GOLD, PRED) == pytest.approx(f1_score(GOLD, hard, average="macro", zero_division=0))


def test_empty_gold_sets():
    gold = np.zeros((2, 2))
    # ex 0 predicts nothing -> 1 (both empty); ex 1 predicts label 0 -> 0
    pred = [[0.1, 0.2], [0.7, 0.2]]
    np.testing.assert_allclose(example_f1_score(gold, pred, reduce="none"), [1.0, 0.0])
    np.testing.assert_allclose(example_jaccard_score(gold, pred, reduce="none"), [1.0, 0.0])
    # micro: TP=0, FP=1, FN=0 -> 0; nothing anywhere -> 0 (zero_division=0, as scikit-learn)
    assert micro_f1_score(gold, pred) == 0.0
    assert micro_f1_score(gold, np.zeros((2, 2))) == 0.0


def test_all_zero_predictions():
    # predicted sets all empty: F1 is 1 only where gold is empty too (ex 1)
    zeros = np.zeros_like(PRED)
    np.testing.assert_allclose(example_f1_score(GOLD, zeros, reduce="none"), [0.0, 1.0, 0.0, 0.0])
    assert micro_f1_score(GOLD, zeros) == 0.0
    assert macro_f1_score(GOLD, zeros) == 0.0


def test_threshold_is_inclusive_and_configurable():
    # p = 0.5 is predicted (p >= 0.5)
    assert example_f1_score([[1]], [[0.5]]) == 1.0
    assert example_f1_score([[1]], [[0.5]], threshold=0.6) == 0.0


def test_single_label_uses_argmax():
    gold = [[0, 1, 0], [1, 0, 0]]
    pred = [[0.2, 0.45, 0.35], [0.3, 0.4, 0.3]]
    # argmax: label 1 (right), label 1 (wrong; no probability reaches 0.5, which does not matter)
    np.testing.assert_allclose(example_f1_score(gold, pred, multilabel=False, reduce="none"), [1.0, 0.0])
    # micro F1 = accuracy for one gold label per example: 1/2
    assert micro_f1_score(gold, pred, multilabel=False) == pytest.approx(0.5)


def test_single_label_ties_are_no_prediction():
    from labeldist.metrics.classification import predicted_sets

    gold = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    uniform = np.full((3, 3), 1 / 3)
    # a tie used to go to column 0, so the uniform row "predicted" label 0 and scored 1/3
    assert not predicted_sets(uniform, multilabel=False).any()
    assert example_f1_score(gold, uniform, multilabel=False) == 0.0
    half = np.array([[0.5, 0.5, 0.0], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]])
    np.testing.assert_array_equal(predicted_sets(half, multilabel=False),
                                  [[False, False, False], [False, True, False], [False, False, True]])
    assert example_f1_score(gold, half, multilabel=False) == pytest.approx(2 / 3)
