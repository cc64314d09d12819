"""LabelDistClassifier: the scikit-learn estimator contract on the tiny random Llama, cleanlab's pred_probs
contract, and one cross_val_predict call on the real SmolLM2 (slow)."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_predict

from labeldist import LabelDistClassifier
from labeldist.calibration import CALIBRATORS
from labeldist.errors import LabeldistError
from labeldist.estimator import cleanlab_labels
from labeldist.metrics import nll_loss

LABELS = ["joy", "anger", "fear"]
WORDS = ["happy", "glad", "angry", "furious", "scared", "afraid", "calm", "tired"]


def texts_and_targets(n, seed=0):
    """Texts with fractional targets (8 annotators) and their 0/1 majority, every label on both sides."""
    rng = np.random.default_rng(seed)
    texts = [f"I feel {WORDS[i % len(WORDS)]} about day {i}" for i in range(n)]
    q = rng.integers(0, 9, size=(n, len(LABELS))) / 8
    q[0], q[1] = 1.0, 0.0  # each column holds both classes after rounding
    return texts, q, (q >= 0.5).astype(float)


@pytest.fixture()
def make(tiny_backend):
    def build(**kw):
        kw.setdefault("labels", LABELS)
        kw.setdefault("max_new_tokens", 4)  # the random model's answers are noise: keep them short
        return LabelDistClassifier(backend=lambda: tiny_backend, batch_size=20, **kw)

    return build


def test_params_clone_and_set_params(make):
    est = make(shots=2, calibrator="platt")
    params = est.get_params()
    assert params["shots"] == 2 and params["calibrator"] == "platt" and params["labels"] == LABELS
    import inspect

    assert set(params) == set(inspect.signature(LabelDistClassifier.__init__).parameters) - {"self"}
    c = clone(est)
    assert c is not est and c.get_params() == {**params, "backend": params["backend"]}
    assert c.get_params()["backend"] is params["backend"]  # a backend factory is shared, not copied
    assert est.set_params(shots=0, thresholds="f1") is est and est.shots == 0 and est.thresholds == "f1"


def test_fit_returns_self_and_outputs_have_the_stated_shapes(make):
    texts, q, _ = texts_and_targets(24)
    est = make(calibrator="platt", thresholds="f1")
    assert est.fit(texts, q) is est
    assert list(est.classes_) == LABELS and est.n_calibration_items_ == 24 and est.demo_ids_ == []
    p = est.predict_proba(texts[:5])
    assert p.shape == (5, 3) and p.dtype == np.float64 and np.all((p >= 0) & (p <= 1))
    y = est.predict(np.array(texts[:5]))
    assert y.shape == (5, 3) and set(np.unique(y)) <= {0, 1}
    np.testing.assert_array_equal(y, est.thresholds_.apply(p))
    assert est.calibration_.name == "platt" and "24 training texts not shown as demos" in est.fit_info_
    assert est.score(texts[:5], q[:5]) == pytest.approx(-nll_loss(q[:5], p))
    # clone drops everything fitted, including the model handle
    c = clone(est)
    assert not hasattr(c, "calibration_") and not hasattr(c, "_backend")


def test_demos_come_from_the_training_texts_and_are_left_out_of_the_calibration_fit(make):
    texts, q, _ = texts_and_targets(8)
    est = make(shots=2, calibrator="none").fit(texts, q)
    assert len(est.demo_ids_) == 2 and est.n_calibration_items_ == 6
    assert all(d.startswith("fit-") for d in est.demo_ids_)
    assert make(shots=2, calibrator="none").fit(texts, q).demo_ids_ == est.demo_ids_  # seeded draw
    assert make(shots=2, calibrator="none", seed=1).fit(texts, q).demo_ids_ != est.demo_ids_


def test_auto_picks_by_the_dev_rule_and_names_are_validated(make):
    texts, q, _ = texts_and_targets(24)
    est = make().fit(texts, q)
    assert est.calibration_.name in CALIBRATORS and est.calibration_.cv_nll
    cv = est.calibration_.cv_nll  # the rule: lowest CV NLL, ties within 1e-9 to the simpler (dict order)
    assert est.calibration_.name == next(n for n, v in cv.items() if v <= min(cv.values()) + 1e-9)
    with pytest.raises(LabeldistError, match="unknown calibrator 'sigmoid'"):
        make(calibrator="sigmoid").fit(texts, q)
    with pytest.raises(LabeldistError, match="fewer than the minimum 20"):
        make(calibrator="platt").fit(texts[:10], q[:10])
    with pytest.raises(LabeldistError, match=r"y has shape \(24, 2\), expected \(24, 3\)"):
        make(calibrator="none").fit(texts, q[:, :2])
    with pytest.raises(LabeldistError, match="needs labels"):
        LabelDistClassifier().fit(texts, q)


def test_label_encoded_y_gets_a_hint_about_cross_val_predict(make):
    texts, q, _ = texts_and_targets(24)
    with pytest.raises(LabeldistError, match=r"label-encodes y: pass 0/1 y there and the fractions as "
                                             r"params=\{'human': Q\}"):
        make(calibrator="none").fit(texts, (q * 8).astype(int))


def test_cross_val_predict_with_fractions_routed_as_a_fit_param(make):
    texts, q, y01 = texts_and_targets(40)
    est = make(calibrator="platt")
    pred = cross_val_predict(est, np.array(texts), y01, cv=2, method="predict_proba", params={"human": q})
    assert pred.shape == (40, 3) and np.all((pred >= 0) & (pred <= 1))
    # fold 2 (the last 20 texts) was predicted by the estimator fitted on fold 1 against its fractions
    direct = make(calibrator="platt").fit(texts[:20], y01[:20], human=q[:20]).predict_proba(texts[20:])
    np.testing.assert_allclose(pred[20:], direct)


def test_predict_proba_meets_cleanlabs_multilabel_pred_probs_contract(make):
    # cleanlab.multilabel_classification.filter.find_label_issues(labels, pred_probs): pred_probs an
    # np.ndarray of shape (N, K), each entry the probability the example belongs to class k (columns in
    # class order 0..K-1, rows need not sum to 1); labels a list of lists of class indices.
    texts, q, _ = texts_and_targets(8)
    pred_probs = make(calibrator="none").fit(texts, q).predict_proba(texts)
    assert isinstance(pred_probs, np.ndarray) and pred_probs.shape == (8, len(LABELS))
    assert np.all(np.isfinite(pred_probs)) and pred_probs.min() >= 0 and pred_probs.max() <= 1
    labels = cleanlab_labels(q)
    assert len(labels) == 8 and all(isinstance(k, int) and 0 <= k < len(LABELS) for row in labels for k in row)
    assert labels[0] == [0, 1, 2] and labels[1] == []


_SHARED = {}


def shared_backend():
    """A module-level factory: picklable by reference, unlike a lambda."""
    return _SHARED["backend"]


def test_a_pickled_fitted_estimator_drops_the_model_and_predicts_the_same(tiny_backend):
    _SHARED["backend"] = tiny_backend
    texts, q, _ = texts_and_targets(6)
    est = LabelDistClassifier(labels=LABELS, backend=shared_backend, calibrator="none", shots=2,
                              max_new_tokens=4).fit(texts, q)
    before = est.predict_proba(texts[:4])
    blob = pickle.dumps(est)
    again = pickle.loads(blob)
    assert not hasattr(again, "_backend") and not hasattr(again, "_classifier")
    np.testing.assert_allclose(again.predict_proba(texts[:4]), before)


def test_import_labeldist_stays_light():
    import subprocess
    import sys

    code = "import sys, labeldist; labeldist.LabelDistClassifier; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_cross_val_predict_on_a_small_real_smollm2_run():
    texts = ["I finally passed my exam, what a joy!", "They lost my luggage again, I am furious.",
             "There is a strange noise downstairs and I am scared.", "Best birthday ever, so happy!",
             "Stop lying to me, this makes me so angry.", "I am terrified of the storm tonight."]
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    est = LabelDistClassifier(labels=LABELS, model="smollm2-135m", dtype="fp32", shots=2, calibrator="none",
                              max_new_tokens=12, batch_size=8)
    pred = cross_val_predict(est, texts, y, cv=2, method="predict_proba")
    assert pred.shape == (6, 3) and pred.dtype == np.float64
    assert np.all((pred >= 0) & (pred <= 1)) and np.all(np.isfinite(pred))
    # fold 1 (the first 3 texts) is predicted by the estimator fitted on the other 3, demos drawn from them
    direct = clone(est).fit(texts[3:], y[3:]).predict_proba(texts[:3])
    np.testing.assert_allclose(pred[:3], direct, atol=1e-6)


def test_a_supervised_method_is_trained_in_fit_and_calibrated_on_held_out_texts(make, tmp_path):
    rng = np.random.default_rng(0)
    words = {0: ["happy", "glad", "lovely"], 1: ["furious", "mad", "awful"]}
    texts = [f"so {words[i % 2][i % 3]} about item {i}" for i in range(40)]
    q = np.array([[0.8, 0.1] if i % 2 == 0 else [0.1, 0.9] for i in range(40)]) + rng.uniform(0, 0.05, (40, 2))
    est = make(labels=["joy", "anger"], method="encoder_frozen", calibrator="none", workdir=str(tmp_path / "w"))
    assert est.fit(texts, q) is est
    assert (tmp_path / "w" / "encoder_frozen" / "classifier.json").is_file()
    assert est.n_calibration_items_ == 8 and "held-out dev share" in est.fit_info_  # 20% of 40, not the training texts
    p = est.predict_proba(["so happy today", "so furious today"])
    assert p.shape == (2, 2) and np.all((p > 0) & (p < 1))
    with pytest.raises(LabeldistError, match="trains a LoRA adapter on the model itself"):
        make(labels=["joy", "anger"], method="sft_hard").fit(texts, q)
