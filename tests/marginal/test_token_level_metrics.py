"""The token-level marginalization paper's metrics against scikit-learn, and their use in ``evaluate``."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, hamming_loss as sk_hamming, roc_auc_score

from labeldist.metrics import METRICS, TOKEN_LEVEL_METRICS, hamming_loss, metric_values, micro_f1_at_threshold_score, \
    micro_roc_auc_score

RNG = np.random.default_rng(3)
GOLD = (RNG.random((40, 5)) < 0.3).astype(float)
PRED = np.round(RNG.random((40, 5)), 2)  # ties on purpose


@pytest.mark.parametrize("t", [0.2, 0.5])
def test_against_sklearn(t):
    y, s = GOLD.astype(int), (PRED >= t).astype(int)
    assert micro_f1_at_threshold_score(GOLD, PRED, threshold=t) == pytest.approx(f1_score(y, s, average="micro"))
    assert hamming_loss(GOLD, PRED, threshold=t) == pytest.approx(sk_hamming(y, s))
    assert micro_roc_auc_score(GOLD, PRED) == pytest.approx(roc_auc_score(y, PRED, average="micro"))


def test_by_hand_and_the_default_threshold_is_the_papers():
    gold, pred = [[1, 0, 1], [0, 1, 0]], [[0.25, 0.1, 0.15], [0.3, 0.9, 0.0]]
    # t = 0.2: predicted {0} and {0, 1}; TP = 2, FP = 1, FN = 1 -> F1 = 4/6; wrong cells 1 + 1 of 6
    assert micro_f1_at_threshold_score(gold, pred) == pytest.approx(4 / 6)
    assert hamming_loss(gold, pred) == pytest.approx(2 / 6)
    # positives .25 .15 .9, negatives .1 .0 .3: ordered pairs 2 + 2 + 3 = 7 of 9
    assert micro_roc_auc_score(gold, pred) == pytest.approx(7 / 9)
    assert METRICS["micro_f1@t"].threshold == METRICS["hamming_loss"].threshold == 0.2
    assert set(TOKEN_LEVEL_METRICS) <= set(METRICS)


def test_threshold_reaches_the_weighted_form():
    w = np.ones((1, len(GOLD)))
    at5 = metric_values("micro_f1@t", GOLD, PRED, w, threshold=0.5)[0]
    assert at5 == pytest.approx(micro_f1_at_threshold_score(GOLD, PRED, threshold=0.5))
    assert at5 != pytest.approx(metric_values("micro_f1@t", GOLD, PRED, w)[0])
    assert metric_values("hamming_loss", GOLD, PRED, w, threshold=0.5)[0] == pytest.approx(
        hamming_loss(GOLD, PRED, threshold=0.5))
