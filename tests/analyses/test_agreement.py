"""Krippendorff's alpha against Krippendorff's (2011) worked examples, Cohen's kappa against scikit-learn,
and the Table-1 annotation statistics."""

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from labeldist.analyses import annotation_agreement, cohen_kappa, krippendorff_alpha_nominal
from labeldist.errors import LabeldistError
from labeldist.records import LabelSet

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example A: two coders, binary data.
A_CODER1 = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
A_CODER2 = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
# Example C: four coders, nominal values 1..5, missing values (None); unit 12 has one value.
N = None
C_UNITS = list(zip(
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
))


def test_alpha_binary_two_coders():
    # o_00 = 10, o_11 = 2, o_01 = o_10 = 4; n_0 = 14, n_1 = 6, n = 20:
    # alpha = 1 - (n - 1) (o_01 + o_10) / (2 n_0 n_1) = 1 - 19 * 8 / 168 = 2/21
    assert krippendorff_alpha_nominal(list(zip(A_CODER1, A_CODER2))) == pytest.approx(2 / 21)
    assert round(2 / 21, 3) == 0.095  # the published value


def test_alpha_nominal_four_coders_with_missing_values():
    # Disagreement per unit (m_u^2 - sum_c n_uc^2) / (m_u - 1): units 2, 6, 8 give 6/3, 12/3, 6/3, so
    # sum_{c != k} o_ck = 8; n_c = (9, 13, 10, 5, 3) over 40 pairable values (unit 12 is unpairable);
    # alpha = 1 - 39 * 8 / (40^2 - 384) = 1 - 312/1216 = 113/152 = 0.743 (the published value).
    assert krippendorff_alpha_nominal(C_UNITS) == pytest.approx(113 / 152)


def test_alpha_edge_cases():
    assert math.isnan(krippendorff_alpha_nominal([(1,), (2, None)]))  # nothing pairable
    assert math.isnan(krippendorff_alpha_nominal([(1, 1), (1, 1)]))  # one value only: D_e = 0
    assert krippendorff_alpha_nominal([(1, 1), (2, 2)]) == 1.0


def test_kappa_matches_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
        b[:20] = a[:20]
        assert cohen_kappa(list(a), list(b)) == pytest.approx(cohen_kappa_score(a, b))
    s1, s2 = ["joy", "none", "joy", "anger"], ["joy", "joy", "joy", "anger"]
    assert cohen_kappa(s1, s2) == pytest.approx(cohen_kappa_score(s1, s2))
    with pytest.raises(LabeldistError):
        cohen_kappa([1], [1, 2])


def _item(*sets):
    return tuple(tuple(s) for s in sets)


def test_per_label_alpha_and_kappa_on_binary_presence():
    ls = LabelSet(("x", "y"))
    # label x follows Krippendorff's example A; y is the complement of x for coder 1 and always y for coder 2
    items = [_item(["x"] * a + ["y"] * (1 - a), ["x"] * b + ["y"]) for a, b in zip(A_CODER1, A_CODER2)]
    s = annotation_agreement(items, ls)
    assert s.alpha_per_label["x"] == pytest.approx(2 / 21)
    y1, y2 = [1 - a for a in A_CODER1], [1] * 10
    assert s.alpha_per_label["y"] == pytest.approx(krippendorff_alpha_nominal(list(zip(y1, y2))))
    assert s.alpha_mean == pytest.approx(np.mean(list(s.alpha_per_label.values())))
    assert s.kappa_per_label["x"] == pytest.approx(cohen_kappa_score(A_CODER1, A_CODER2))
    assert s.kappa_per_label["y"] == pytest.approx(cohen_kappa_score(y1, y2))  # 0: coder 2 never varies
    assert s.n_items_pairable == 10 and s.annotators_mean == 2.0


def test_table1_statistics_with_missing_annotators():
    ls = LabelSet(("joy", "anger", "fear"))
    items = [
        _item(["joy"], ["joy", "anger"], []),          # 3 annotators; aggregate (>= 1/2): joy
        _item(["anger"], ["none"]),                    # 2 annotators; anger at 1/2 counts: anger
        _item(["fear"]),                               # 1 annotator: not pairable
        _item(["joy", "anger", "fear"], ["joy", "anger", "fear"]),  # aggregate: 3 labels
        (),                                            # no annotators: skipped
    ]
    s = annotation_agreement(items, ls)
    assert s.n_items == 4 and (s.annotators_min, s.annotators_max) == (1, 3)
    assert s.annotators_mean == pytest.approx(8 / 4)
    # label counts over the 8 annotator label sets: 1 + 2 + 0 + 1 + 0 + 1 + 3 + 3 = 11
    assert s.labels_per_annotation_mean == pytest.approx(11 / 8)
    assert s.aggregate_label_counts == {"0": 0.0, "1": 0.75, "2": 0.0, "3+": 0.25}
    assert s.labels_per_aggregate_mean == pytest.approx((1 + 1 + 1 + 3) / 4)
    assert s.n_items_pairable == 3 and s.kappa_per_label is None  # item 1 has three annotators
    # per-label alpha on presence data of the pairable items
    joy = [(1, 1, 0), (0, 0), (1, 1)]
    assert s.alpha_per_label["joy"] == pytest.approx(krippendorff_alpha_nominal(joy))
    sets = [("joy", "joy+anger", "none"), ("anger", "none"), ("fear",), ("joy+anger+fear",) * 2]
    assert s.alpha_label_sets == pytest.approx(krippendorff_alpha_nominal(sets))
    g = annotation_agreement(items[:4], ls, gold=[("joy",), (), ("fear",), ("joy",)])
    assert g.aggregate_source == "gold" and g.aggregate_label_counts["0"] == 0.25


def test_single_label_dataset_gets_nominal_alpha_and_kappa():
    ls = LabelSet(("hate", "normal", "offensive"), multilabel=False)
    r1 = ["hate", "normal", "normal", "offensive", "hate", "normal"]
    r2 = ["hate", "normal", "offensive", "offensive", "normal", "normal"]
    s = annotation_agreement([_item([a], [b]) for a, b in zip(r1, r2)], ls)
    assert s.alpha_label_sets == pytest.approx(krippendorff_alpha_nominal(list(zip(r1, r2))))
    assert s.kappa_label_sets == pytest.approx(cohen_kappa_score(r1, r2))
    assert s.aggregate_source == "plurality" and s.aggregate_label_counts["1"] == 1.0


def test_agreement_errors():
    ls = LabelSet(("a", "b"))
    with pytest.raises(LabeldistError, match="no item"):
        annotation_agreement([(), ()], ls)
    with pytest.raises(LabeldistError, match="unknown label"):
        annotation_agreement([_item(["z"], ["a"])], ls)
