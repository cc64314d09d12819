"""Cheap encoder baseline: frozen mean-pooled embeddings + :class:`ProbeClassifier`.

::

    e_i = mean_pool(encoder(x_i).last_hidden_state)      # (hidden,), encoder weights fixed
    p_i = ProbeClassifier(e_i)                           # scaling, optional PCA, dev-chosen L2 LR

Only the probe is trained, so the saved artefact holds the probe arrays and a reference
to the encoder directory plus a SHA-256 of its weight files; loading refuses an encoder
whose weights changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from labeldist.errors import LabeldistError
from labeldist.supervised._artifacts import atomic_dir, check_labels, read_manifest, write_manifest
from labeldist.supervised._validation import check_texts
from labeldist.supervised.encoding import (
    collate, length_batches, load_encoder, mean_pool, pick_device, resolve_encoder_dir, tokenize, torch_session,
    weights_fingerprint,
)
from labeldist.supervised.probe import ProbeClassifier

FORMAT = "labeldist-frozen-encoder-probe"
PROBE_SUBDIR = "probe"


class FrozenEncoderProbe(BaseEstimator):
    """Mean-pooled embeddings from a frozen local encoder, classified by a linear probe.

    Parameters
    ----------
    encoder : path or None, default=None
        Local encoder directory; None uses the installed MiniLM.
    multilabel, targets, pca, Cs, max_iter, seed :
        Passed to :class:`ProbeClassifier`.
    max_length : int, default=128
        Tokens per text (longer texts are truncated).
    batch_size : int, default=64
        Embedding batch size.
    num_threads : int or None, default=None
        torch CPU threads while embedding; None leaves torch's setting.
    device : str or None, default=None
        None picks CUDA when available.

    Attributes
    ----------
    probe_ : ProbeClassifier
    encoder_dir_ : Path
    encoder_fingerprint_ : str
        SHA-256 of the encoder's weight files.
    """

    def __init__(self, encoder: str | Path | None = None, *, multilabel: bool = True, targets: str = "soft",
                 pca: int | None = None, Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0), max_iter: int = 1000,
                 max_length: int = 128, batch_size: int = 64, seed: int = 0, num_threads: int | None = None,
                 device: str | None = None):
        self.encoder = encoder
        self.multilabel = multilabel
        self.targets = targets
        self.pca = pca
        self.Cs = Cs
        self.max_iter = max_iter
        self.max_length = max_length
        self.batch_size = batch_size
        self.seed = seed
        self.num_threads = num_threads
        self.device = device

    def _load(self, path: Path) -> None:
        model, self.tokenizer_ = load_encoder(path)
        self.model_ = model.to(pick_device(self.device)).eval()
        self.encoder_dir_ = path

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-pooled last hidden states, float64 of shape (n_items, hidden)."""
        import torch

        texts = check_texts(texts, "texts")
        if not hasattr(self, "model_"):
            self._load(resolve_encoder_dir(self.encoder))
        device = next(self.model_.parameters()).device
        with torch_session(None, self.num_threads), torch.inference_mode():
            encoded = tokenize(self.tokenizer_, texts, max_length=self.max_length)
            out = np.empty((len(texts), self.model_.config.hidden_size), dtype=np.float64)
            for idx in length_batches(encoded, self.batch_size):
                batch = collate(self.tokenizer_, encoded, idx, device)
                hidden = self.model_(**batch).last_hidden_state  # (B, T, hidden)
                out[idx] = mean_pool(hidden.float(), batch["attention_mask"]).double().cpu().numpy()
        return out

    def fit(self, train_texts: Sequence[str], Y_train, dev_texts: Sequence[str] | None = None, Y_dev=None, *,
            labels: Sequence[str] | None = None) -> "FrozenEncoderProbe":
        """Embed train (and dev) texts, then fit the probe (C chosen on dev; see :class:`ProbeClassifier`)."""
        probe = ProbeClassifier(multilabel=self.multilabel, targets=self.targets, pca=self.pca, Cs=self.Cs,
                                max_iter=self.max_iter, seed=self.seed)
        self._load(resolve_encoder_dir(self.encoder))
        X = self.embed(train_texts)
        Xd = None if dev_texts is None else self.embed(dev_texts)
        self.probe_ = probe.fit(X, Y_train, Xd, Y_dev, labels=labels)
        self.labels_ = self.probe_.labels_
        self.encoder_fingerprint_ = weights_fingerprint(self.encoder_dir_)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float64 of shape (n_items, n_labels) in ``labels_`` order."""
        check_is_fitted(self, "probe_")
        return self.probe_.predict_proba(self.embed(texts))

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``probe/`` (the probe's arrays) and ``classifier.json`` (encoder path + fingerprint), atomically."""
        check_is_fitted(self, "probe_")
        with atomic_dir(folder, overwrite=overwrite) as tmp:
            (tmp / PROBE_SUBDIR).mkdir()
            self.probe_.save_into(tmp / PROBE_SUBDIR)
            write_manifest(tmp, {"format": FORMAT, "version": 1, "labels": list(self.labels_),
                                 "encoder": str(self.encoder_dir_), "encoder_sha256": self.encoder_fingerprint_,
                                 "max_length": int(self.max_length), "batch_size": int(self.batch_size),
                                 "hidden_size": int(self.probe_.n_features_in_)})
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, *, labels: Sequence[str] | None = None, encoder: str | Path | None = None,
             num_threads: int | None = None, device: str | None = None) -> "FrozenEncoderProbe":
        """Load a saved probe and its encoder (``encoder`` overrides the saved path, e.g. on another machine)."""
        folder = Path(folder)
        m = read_manifest(folder, FORMAT, what="FrozenEncoderProbe")
        check_labels(m["labels"], labels, folder)
        probe = ProbeClassifier.load(folder / PROBE_SUBDIR, labels=m["labels"])
        path = resolve_encoder_dir(encoder if encoder is not None else m["encoder"])
        fp = weights_fingerprint(path)
        if fp != m["encoder_sha256"]:
            raise LabeldistError(f"the encoder at {path} is not the one this probe was trained on (weights differ)",
                                 "pass encoder= the original encoder directory, or retrain the probe")
        obj = cls(encoder=str(path), multilabel=probe.multilabel, targets=probe.targets, pca=probe.pca,
                  Cs=probe.Cs, max_iter=probe.max_iter, max_length=m["max_length"], batch_size=m["batch_size"],
                  seed=probe.seed, num_threads=num_threads, device=device)
        obj._load(path)
        if obj.model_.config.hidden_size != probe.n_features_in_:
            raise LabeldistError(f"encoder hidden size {obj.model_.config.hidden_size} != probe input "
                                 f"{probe.n_features_in_}", "pass the encoder the probe was trained on")
        obj.probe_, obj.labels_, obj.encoder_fingerprint_ = probe, probe.labels_, fp
        return obj
