"""Supervised baselines for paper Table 2: linear probes on fixed features, a fine-tuned encoder, LoRA SFT.

Public API (imported lazily, so ``import labeldist.supervised`` loads neither sklearn nor torch)::

    ProbeClassifier(*, multilabel=True, targets="soft", pca=None, Cs=(0.01, 0.1, 1, 10), ...)
    EncoderClassifier(encoder=None, *, multilabel=True, targets="soft", label_names_first=False, ...)
    FrozenEncoderProbe(encoder=None, *, multilabel=True, targets="soft", pca=None, ...)
    target_matrix(examples, label_set, targets) -> (Y, keep)
    SFTConfig(...), SFTExample(prompt_ids, answer_ids), train_lora(model, examples, out_dir, config, ...)
    load_adapter(model, adapter_dir, *, merge=True)
    default_encoder_dir() -> Path
    MIN_PER_CLASS

All take targets Y of shape (n_items, n_labels): annotator fractions q (``targets="soft"``)
or 0/1 aggregate gold (``targets="hard"``), and return float64 probabilities of the same shape.
"""

from __future__ import annotations

_LAZY = {
    "ProbeClassifier": "labeldist.supervised.probe",
    "EncoderClassifier": "labeldist.supervised.encoder",
    "FrozenEncoderProbe": "labeldist.supervised.frozen",
    "default_encoder_dir": "labeldist.supervised.encoding",
    "target_matrix": "labeldist.supervised.targets",
    "MIN_PER_CLASS": "labeldist.supervised._validation",
    "SFTConfig": "labeldist.supervised.sft",
    "SFTExample": "labeldist.supervised.sft",
    "train_lora": "labeldist.supervised.sft",
    "load_adapter": "labeldist.supervised.sft",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'labeldist.supervised' has no attribute {name!r}")
