"""ProbeClassifier: planted signal, soft vs hard targets, dev-chosen C, single-label, persistence, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from labeldist.errors import LabeldistError
from labeldist.metrics import nll_loss
from labeldist.supervised.probe import ProbeClassifier


def planted(n: int, rng: np.random.Generator, d: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Label 0 = 1[x_0 > 0] (linearly separable); labels 1 and 2 are coin flips independent of X."""
    X = rng.normal(size=(n, d))
    Y = np.column_stack([X[:, 0] > 0, rng.random(n) < 0.5, rng.random(n) < 0.5]).astype(float)
    return X, Y


@pytest.fixture(scope="module")
def planted_fit():
    rng = np.random.default_rng(0)
    (X, Y), (Xd, Yd), (Xt, Yt) = planted(200, rng), planted(100, rng), planted(400, rng)
    probe = ProbeClassifier(targets="hard").fit(X, Y, Xd, Yd, labels=["signal", "noise a", "noise b"])
    return probe, (Xd, Yd), (Xt, Yt)


def test_planted_signal_is_recovered_and_noise_is_not(planted_fit):
    probe, _, (Xt, Yt) = planted_fit
    P = probe.predict_proba(Xt)
    assert P.shape == (400, 3) and P.dtype == np.float64
    assert roc_auc_score(Yt[:, 0], P[:, 0]) > 0.98
    assert np.mean((P[:, 0] >= 0.5) == Yt[:, 0]) > 0.93
    for j in (1, 2):  # AUC of a useless score: 0.5 ± ~0.03 at n = 400
        assert abs(roc_auc_score(Yt[:, j], P[:, j]) - 0.5) < 0.1


def test_C_is_chosen_per_label_on_dev(planted_fit):
    probe, (Xd, Yd), _ = planted_fit
    Cs = probe.cv_results_["C"]
    assert Cs.tolist() == [0.01, 0.1, 1.0, 10.0]
    dev_nll = probe.cv_results_["dev_nll"]
    assert dev_nll.shape == (4, 3)
    np.testing.assert_array_equal(probe.C_, Cs[np.argmin(dev_nll, axis=0)])
    # The separable label wants a weak penalty, the pure-noise labels the strongest one on offer.
    assert probe.C_[0] >= 1.0
    assert probe.C_[1] == probe.C_[2] == 0.01
    # dev_nll_ is the kept model's dev NLL in labeldist.metrics form (sum over labels, mean over items).
    assert probe.dev_nll_ == pytest.approx(nll_loss(Yd, probe.predict_proba(Xd)), rel=1e-12)
    assert probe.dev_nll_ == pytest.approx(dev_nll.min(axis=0).sum(), rel=1e-12)
    assert probe.cv_results_["converged"].all()


def test_dev_prefers_strong_penalty_when_train_overfits():
    # 30 noise features, 40 train items, labels independent of X: every C > min overfits.
    rng = np.random.default_rng(1)
    X, Xd = rng.normal(size=(40, 30)), rng.normal(size=(200, 30))
    Y, Yd = (rng.random((40, 1)) < 0.5).astype(float), (rng.random((200, 1)) < 0.5).astype(float)
    probe = ProbeClassifier(targets="hard", Cs=(0.001, 1.0, 100.0)).fit(X, Y, Xd, Yd)
    nll = probe.cv_results_["dev_nll"][:, 0]
    assert probe.C_[0] == 0.001
    assert nll[0] < nll[1] < nll[2]
    assert nll[0] == pytest.approx(np.log(2), abs=0.02)  # ≈ a constant 0.5 prediction


def block_data():
    """Two feature blocks; targets per item of label 0 (see the test for the expected fits).

    Block A (x = [1, 0]): 20 items with q = 0.6, 80 with q = 0.225 → mean q 0.30, fraction q ≥ 0.5 = 0.20.
    Block B (x = [0, 1]): 30 items with q = 0.55, 20 with q = 0.95 → mean q 0.71, fraction q ≥ 0.5 = 1.0.
    """
    X = np.array([[1.0, 0.0]] * 100 + [[0.0, 1.0]] * 50)
    q = np.array([0.6] * 20 + [0.225] * 80 + [0.55] * 30 + [0.95] * 20)
    return X, q[:, None]


def test_soft_targets_fit_mean_q_and_hard_targets_fit_the_majority_rate():
    X, Q = block_data()
    common = dict(Cs=(1e4,), tol=1e-10)  # almost no penalty: each block's fit is its own MLE
    soft = ProbeClassifier(targets="soft", **common).fit(X, Q)
    hard = ProbeClassifier(targets="hard", **common).fit(X, (Q >= 0.5).astype(float))
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    # MLE of a Bernoulli fitted to fractions: the block's mean q.
    assert soft.predict_proba(a)[0, 0] == pytest.approx(0.30, abs=1e-3)
    assert soft.predict_proba(b)[0, 0] == pytest.approx(0.71, abs=1e-3)
    # MLE fitted to the majority labels: the block's fraction of items with q >= 0.5.
    assert hard.predict_proba(a)[0, 0] == pytest.approx(0.20, abs=1e-3)
    assert hard.predict_proba(b)[0, 0] > 0.99


def test_single_label_rows_sum_to_one_and_constant_features_give_mean_q():
    rng = np.random.default_rng(2)
    Q = rng.dirichlet([1.0, 2.0, 3.0], size=60)  # soft vote shares over 3 classes
    X = np.ones((60, 4))  # constant features: scaled to zero, only the intercepts can fit
    probe = ProbeClassifier(multilabel=False, targets="soft", Cs=(1.0,), tol=1e-10).fit(X, Q)
    P = probe.predict_proba(np.ones((5, 4)))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(P[0], Q.mean(axis=0), atol=1e-4)  # multinomial MLE = mean vote share
    assert probe.C_.tolist() == [1.0, 1.0, 1.0]

    X2 = rng.normal(size=(60, 4))
    P2 = ProbeClassifier(multilabel=False, targets="soft", Cs=(1.0,)).fit(X2, Q).predict_proba(X2)
    np.testing.assert_allclose(P2.sum(axis=1), 1.0, atol=1e-12)


def test_two_class_single_label_equals_the_binary_probe_of_the_second_class():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 5))
    q1 = 1 / (1 + np.exp(-(X[:, 0] - 0.5 * X[:, 1])))  # soft targets of class 1
    single = ProbeClassifier(multilabel=False, Cs=(0.5,), tol=1e-10).fit(X, np.column_stack([1 - q1, q1]))
    binary = ProbeClassifier(multilabel=True, Cs=(0.5,), tol=1e-10).fit(X, q1[:, None])
    Ps, Pb = single.predict_proba(X), binary.predict_proba(X)
    np.testing.assert_allclose(Ps.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(Ps[:, 1], Pb[:, 0], atol=1e-6)


def test_pca_reduces_dimension():
    rng = np.random.default_rng(4)
    X, Y = planted(120, rng)
    probe = ProbeClassifier(targets="hard", pca=5, Cs=(1.0,)).fit(X, Y)
    assert probe.n_components_ == 5 and probe.coef_.shape == (3, 5) and probe.n_features_in_ == 20
    assert probe.predict_proba(X).shape == (120, 3)


@pytest.mark.parametrize("multilabel", [True, False])
def test_save_load_gives_identical_predictions(tmp_path, multilabel):
    rng = np.random.default_rng(5)
    X, Y = planted(100, rng)
    Xd, Yd = planted(50, rng)
    if not multilabel:
        Y, Yd = np.eye(3)[Y[:, :2].astype(int) @ [1, 1]], np.eye(3)[Yd[:, :2].astype(int) @ [1, 1]]
    probe = ProbeClassifier(multilabel=multilabel, targets="hard", pca=6).fit(X, Y, Xd, Yd, labels=["a", "b", "c"])
    folder = probe.save(tmp_path / "probe")
    loaded = ProbeClassifier.load(folder, labels=["a", "b", "c"], n_features=20)
    np.testing.assert_array_equal(loaded.predict_proba(Xd), probe.predict_proba(Xd))
    np.testing.assert_array_equal(loaded.C_, probe.C_)
    np.testing.assert_array_equal(loaded.cv_results_["dev_nll"], probe.cv_results_["dev_nll"])
    assert loaded.dev_nll_ == probe.dev_nll_ and loaded.labels_ == ("a", "b", "c")
    manifest = json.loads((folder / "classifier.json").read_text())
    assert manifest["format"] == "labeldist-probe" and manifest["n_features_in"] == 20 and manifest["pca"] == 6
    assert sorted(p.name for p in folder.iterdir()) == ["classifier.json", "probe.npz"]
    with np.load(folder / "probe.npz", allow_pickle=False) as z:  # plain arrays, no pickled objects
        assert set(z.files) >= {"coef", "intercept", "scale_mean", "scale", "pca_components"}

    with pytest.raises(LabeldistError, match="trained on labels"):
        ProbeClassifier.load(folder, labels=["a", "c", "b"])
    with pytest.raises(LabeldistError, match="trained on 20 features, not 21"):
        ProbeClassifier.load(folder, n_features=21)
    with pytest.raises(LabeldistError, match="has 19 features but the model was fitted on 20"):
        loaded.predict_proba(Xd[:, :19])
    with pytest.raises(LabeldistError, match="already exists"):
        probe.save(folder)
    probe.save(folder, overwrite=True)  # replacing works
    assert ProbeClassifier.load(folder).labels_ == ("a", "b", "c")


def test_a_crash_mid_save_leaves_no_artefact(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    X, Y = planted(60, rng)
    probe = ProbeClassifier(targets="hard", Cs=(1.0,)).fit(X, Y)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("labeldist.supervised.probe.write_manifest", boom)  # after the arrays are written
    with pytest.raises(OSError, match="disk full"):
        probe.save(tmp_path / "probe")
    assert list(tmp_path.iterdir()) == []  # neither the final dir nor a temp dir
    with pytest.raises(LabeldistError, match="not a directory"):
        ProbeClassifier.load(tmp_path / "probe")


def test_load_rejects_a_folder_that_is_not_a_probe(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(LabeldistError, match="has no classifier.json"):
        ProbeClassifier.load(tmp_path / "x")
    (tmp_path / "x" / "classifier.json").write_text('{"format": "labeldist-encoder-classifier"}')
    with pytest.raises(LabeldistError, match="not a 'labeldist-probe'"):
        ProbeClassifier.load(tmp_path / "x")


def _xy(n=40, L=2, seed=7):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), (rng.random((n, L)) < 0.5).astype(float)


@pytest.mark.parametrize("case, match", [
    ("nan", "NaN or infinite feature"),
    ("rows", "Y_train has 39 rows for 40 items"),
    ("no_positive", "label 'b' has no positive train item"),
    ("one_positive", r"label 'b' has 1 positive train item\(s\), fewer than the minimum 2"),
    ("one_negative", r"label 'a' has 1 negative train item\(s\), fewer than the minimum 2"),
    ("hard_fraction", "targets='hard' needs 0/1 gold"),
    ("out_of_range", "not in \\[0, 1\\]"),
    ("single_sum", "single-label targets sum to 1"),
    ("no_dev", "needs a dev split"),
    ("dev_width", "X_dev has 2 features but the model was fitted on 3"),
    ("pca", "pca=50 components"),
    ("Cs", "finite positive numbers"),
    ("targets", "unknown targets"),
    ("names", "2 label names for 3 target columns"),
    ("1d", "must have shape \\(n_items, n_features\\)"),
])
def test_bad_input_raises_one_line_error(case, match):
    X, Y = _xy()
    kw: dict = dict(targets="hard", Cs=(1.0,))
    args = [X, Y]
    fit_kw: dict = {"labels": ["a", "b"]}
    if case == "nan":
        X[3, 1] = np.nan
    elif case == "rows":
        args = [X, Y[:-1]]
    elif case == "no_positive":
        Y[:, 1] = 0.0
    elif case == "one_positive":
        Y[:, 1] = 0.0
        Y[5, 1] = 1.0
    elif case == "one_negative":
        Y[:, 0] = 1.0
        Y[5, 0] = 0.0
    elif case == "hard_fraction":
        Y[0, 0] = 0.5
    elif case == "out_of_range":
        kw["targets"] = "soft"
        Y[0, 0] = 1.5
    elif case == "single_sum":
        kw["multilabel"] = False
    elif case == "no_dev":
        kw["Cs"] = (0.1, 1.0)
    elif case == "dev_width":
        args = [X, Y, X[:, :2], Y]
    elif case == "pca":
        kw["pca"] = 50
    elif case == "Cs":
        kw["Cs"] = (0.0, 1.0)
    elif case == "targets":
        kw["targets"] = "fuzzy"
    elif case == "names":
        Y = np.column_stack([Y, Y[:, 0]])
        args = [X, Y]
    elif case == "1d":
        args = [X[:, 0], Y]
    with pytest.raises(LabeldistError, match=match) as err:
        ProbeClassifier(**kw).fit(*args, **fit_kw)
    msg = str(err.value)
    assert "\n" not in msg and "; " in msg  # problem; fix


def test_predict_before_fit_is_an_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ProbeClassifier().predict_proba(np.zeros((1, 3)))
