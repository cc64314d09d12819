"""EncoderClassifier and FrozenEncoderProbe on a few dozen real items with the installed MiniLM (CPU, 1 thread)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from labeldist.errors import LabeldistError
from labeldist.metrics import nll_loss
from labeldist.supervised.encoder import EncoderClassifier
from labeldist.supervised.encoding import default_encoder_dir
from labeldist.supervised.frozen import FrozenEncoderProbe

# Small and fast: 32 train items at batch 8 = 4 steps per epoch, 2 epochs, one thread.
FAST = dict(max_length=64, epochs=2, batch_size=8, lr=1e-4, num_threads=1, seed=0)


@pytest.fixture(scope="session")
def minilm_dir():
    try:
        return default_encoder_dir()
    except LabeldistError as exc:
        pytest.skip(str(exc))


def fit_brexit(data, **kw):
    params = dict(FAST, label_names_first=True)
    params.update(kw)
    clf = EncoderClassifier(**params)
    return clf.fit(data.train.texts, data.train.Y, data.dev.texts, data.dev.Y, labels=data.labels)


@pytest.fixture(scope="module")
def fitted(brexit, minilm_dir):
    return fit_brexit(brexit)


def test_training_lowers_train_loss_and_records_dev_nll(fitted, brexit):
    h = fitted.history_
    assert [r["epoch"] for r in h] == [1, 2]
    assert h[1]["train_loss"] < h[0]["train_loss"]
    assert all(np.isfinite(r["dev_nll"]) and r["dev_nll"] > 0 for r in h)
    assert fitted.dev_nll_ == min(r["dev_nll"] for r in h)
    assert h[fitted.best_epoch_ - 1]["dev_nll"] == fitted.dev_nll_
    P = fitted.predict_proba(brexit.dev.texts)
    assert P.shape == (16, 3) and P.dtype == np.float64 and np.all((P > 0) & (P < 1))
    # The recorded dev NLL is the kept model's NLL against q (labeldist.metrics form).
    assert nll_loss(brexit.dev.Y, P) == pytest.approx(fitted.dev_nll_, rel=1e-5)


def _numbers(clf):
    return [(r["train_loss"], r["dev_nll"]) for r in clf.history_]  # not the timings


def test_same_seed_gives_the_same_numbers_and_another_seed_does_not(fitted, brexit):
    again = fit_brexit(brexit)
    assert _numbers(again) == _numbers(fitted)
    np.testing.assert_array_equal(again.predict_proba(brexit.dev.texts), fitted.predict_proba(brexit.dev.texts))
    other = fit_brexit(brexit, seed=1, epochs=1)  # other head init, dropout masks and batch order
    assert _numbers(other)[0] != _numbers(fitted)[0]


def test_save_load_gives_identical_probabilities(fitted, brexit, tmp_path):
    folder = fitted.save(tmp_path / "enc")
    assert {p.name for p in folder.iterdir()} == {"classifier.json", "head.safetensors", "encoder"}
    assert (folder / "encoder" / "model.safetensors").is_file() and (folder / "encoder" / "tokenizer.json").is_file()
    manifest = json.loads((folder / "classifier.json").read_text())
    assert manifest["labels"] == list(brexit.labels) and manifest["history"] == fitted.history_
    assert manifest["params"]["label_names_first"] is True and manifest["hidden_size"] == 384
    loaded = EncoderClassifier.load(folder, labels=brexit.labels, num_threads=1)
    np.testing.assert_array_equal(loaded.predict_proba(brexit.dev.texts), fitted.predict_proba(brexit.dev.texts))
    assert loaded.label_names_first and loaded.max_length == 64 and loaded.best_epoch_ == fitted.best_epoch_
    with pytest.raises(LabeldistError, match="trained on labels"):
        EncoderClassifier.load(folder, labels=("hate", "offensive", "aggressive"))


def test_a_crash_mid_save_leaves_no_artefact(fitted, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", boom)  # the head file fails mid-save
    with pytest.raises(OSError, match="disk full"):
        fitted.save(tmp_path / "enc")
    assert list(tmp_path.iterdir()) == []


def test_single_label_probabilities_sum_to_one(vader, minilm_dir):
    clf = EncoderClassifier(multilabel=False, **dict(FAST, epochs=1))
    clf.fit(vader.train.texts, vader.train.Y, vader.dev.texts, vader.dev.Y, labels=vader.labels)
    P = clf.predict_proba(vader.dev.texts)
    assert P.shape == (12, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-6)
    assert clf.dev_nll_ == pytest.approx(nll_loss(vader.dev.Y, P, multilabel=False), rel=1e-5)


def test_label_names_first_encodes_a_pair_and_truncates_only_the_text(minilm_dir):
    from transformers import AutoTokenizer

    from labeldist.supervised.encoding import tokenize

    tok = AutoTokenizer.from_pretrained(minilm_dir)
    text = "word " * 200
    enc = tokenize(tok, [text, "short"], max_length=32, prefix="hate, aggressive, offensive")
    ids = enc.rows[0]["input_ids"]
    assert len(ids) == 32
    assert tok.decode(ids).startswith("[CLS] hate, aggressive, offensive [SEP] word word")
    assert enc.rows[1]["token_type_ids"].count(1) == 2  # "short" + [SEP] form the second segment
    with pytest.raises(LabeldistError, match="label-name prefix takes"):
        tokenize(tok, ["x"], max_length=4, prefix="hate, aggressive, offensive")


def test_frozen_probe_on_real_items(brexit, minilm_dir, tmp_path):
    fz = FrozenEncoderProbe(max_length=64, num_threads=1, Cs=(0.01, 0.1, 1.0))
    fz.fit(brexit.train.texts, brexit.train.Y, brexit.dev.texts, brexit.dev.Y, labels=brexit.labels)
    E = fz.embed(brexit.dev.texts[:4])
    assert E.shape == (4, 384) and E.dtype == np.float64
    # The embedding does not depend on which other texts share its batch (padding is masked out).
    np.testing.assert_allclose(fz.embed(brexit.dev.texts[:1])[0], E[0], atol=1e-5)
    P = fz.predict_proba(brexit.dev.texts)
    assert P.shape == (16, 3) and np.all((P > 0) & (P < 1))
    assert fz.probe_.cv_results_["dev_nll"].shape == (3, 3)
    folder = fz.save(tmp_path / "frozen")
    loaded = FrozenEncoderProbe.load(folder, labels=brexit.labels, num_threads=1)
    np.testing.assert_array_equal(loaded.predict_proba(brexit.dev.texts), P)
    # A different encoder at the recorded path is refused.
    manifest = json.loads((folder / "classifier.json").read_text())
    manifest["encoder_sha256"] = "0" * 64
    (folder / "classifier.json").write_text(json.dumps(manifest))
    with pytest.raises(LabeldistError, match="not the one this probe was trained on"):
        FrozenEncoderProbe.load(folder)


# ---------------------------------------------------------------- bad input (no training needed)

def test_hard_targets_with_too_few_positives_fail_before_loading_the_encoder(brexit, tmp_path):
    # In these 32 items only one has a majority of annotators saying "aggressive".
    hard = (brexit.train.Y >= 0.5).astype(float)
    clf = EncoderClassifier(encoder=tmp_path / "never-read", targets="hard", **FAST)
    with pytest.raises(LabeldistError, match="label 'aggressive' has 1 positive train item"):
        clf.fit(brexit.train.texts, hard, brexit.dev.texts, (brexit.dev.Y >= 0.5).astype(float), labels=brexit.labels)


def _fit_tiny(encoder):
    texts = ["good", "bad", "fine", "awful", "great", "poor"]
    Y = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]], dtype=float)
    EncoderClassifier(encoder=encoder, **FAST).fit(texts, Y, texts, Y, labels=["pos", "neg"])


def test_missing_encoder_directory(tmp_path):
    with pytest.raises(LabeldistError, match="does not exist; pass --encoder PATH"):
        _fit_tiny(tmp_path / "nope")


def test_directory_without_config(tmp_path):
    with pytest.raises(LabeldistError, match="no config.json"):
        _fit_tiny(tmp_path)


def test_a_causal_lm_is_not_an_encoder(tmp_path):
    from transformers import LlamaConfig

    LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                architectures=["LlamaForCausalLM"]).save_pretrained(tmp_path)
    with pytest.raises(LabeldistError, match="not a bidirectional encoder"):
        _fit_tiny(tmp_path)


def test_encoder_directory_without_weights(tmp_path, minilm_dir):
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(minilm_dir / name, tmp_path / name)
    with pytest.raises(LabeldistError, match="cannot load encoder weights"):
        _fit_tiny(tmp_path)


def test_load_of_a_non_artefact(tmp_path):
    with pytest.raises(LabeldistError, match="no classifier.json"):
        EncoderClassifier.load(tmp_path)


@pytest.mark.parametrize("case, match", [
    ("empty", "train_texts is empty"),
    ("string", "one string, not a list"),
    ("blank", r"train_texts\[1\] is not a non-empty string"),
    ("rows", "Y_train has 5 rows for 6 items"),
    ("dev_labels", "Y_dev has 1 label columns but the model has 2"),
    ("epochs", "epochs=0 must be a positive integer"),
])
def test_bad_fit_arguments(case, match, tmp_path):
    texts = ["good", "bad", "fine", "awful", "great", "poor"]
    Y = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]], dtype=float)
    args, kw = [texts, Y, texts, Y], dict(FAST, encoder=tmp_path / "never-read")
    if case == "empty":
        args[0] = []
    elif case == "string":
        args[0] = "good"
    elif case == "blank":
        args[0] = ["good", "  ", "fine", "awful", "great", "poor"]
    elif case == "rows":
        args[1] = Y[:5]
    elif case == "dev_labels":
        args[3] = Y[:, :1]
    elif case == "epochs":
        kw["epochs"] = 0
    with pytest.raises(LabeldistError, match=match) as err:
        EncoderClassifier(**kw).fit(*args)
    assert "\n" not in str(err.value) and "; " in str(err.value)
