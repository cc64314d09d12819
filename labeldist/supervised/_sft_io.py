"""Files of an SFT run: atomic writes, per-epoch checkpoints, base-model fingerprints and
adapter-directory checks. Helpers for :mod:`labeldist.supervised.sft`; they trust their inputs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import torch

from labeldist.errors import LabeldistError

CHECKPOINTS = "checkpoints"
ADAPTER = "adapter"
ADAPTER_META = "labeldist_adapter.json"  # written next to peft's files: which base the adapter fits
_EPOCH_DIR = re.compile(r"^epoch-(\d+)$")


# -- atomic writes ---------------------------------------------------------------------
def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def replace_dir(tmp: Path, final: Path) -> None:
    """Move the finished directory ``tmp`` to ``final``; a reader sees the old or the new one, whole.

    ``os.replace`` cannot overwrite a non-empty directory, so an existing ``final`` is first
    renamed aside (one rename) and deleted after the new one is in place.
    """
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old)


def fresh_tmp_dir(final: Path) -> Path:
    """An empty ``.<name>.tmp-<pid>`` next to ``final``; leftovers of killed writes are removed first."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.*"):
        if ".tmp-" in stale.name or ".old-" in stale.name:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    tmp.mkdir()
    return tmp


# -- base-model fingerprint ------------------------------------------------------------
def base_fingerprint(model) -> dict:
    """What an adapter or a checkpoint must agree with: architecture, shapes and a weight digest.

    The digest hashes every parameter's name and its first 256 values rounded to bf16, so
    the same base loaded in fp32 or bf16 gives the same digest, while a different
    checkpoint of the same architecture does not. Computed before LoRA is injected.
    """
    cfg = model.config
    h = hashlib.sha256()
    for name, p in model.named_parameters():
        h.update(name.encode())
        h.update(p.detach().reshape(-1)[:256].to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    return {
        "architecture": type(model).__name__,
        "model_type": getattr(cfg, "model_type", None),
        "hidden_size": getattr(cfg, "hidden_size", None),
        "num_hidden_layers": getattr(cfg, "num_hidden_layers", None),
        "vocab_size": int(model.get_input_embeddings().num_embeddings),
        "name_or_path": getattr(cfg, "_name_or_path", "") or "",
        "weights_digest": h.hexdigest()[:32],
    }


def describe(fp: dict) -> str:
    return (f"{fp['architecture']} (hidden {fp['hidden_size']}, {fp['num_hidden_layers']} layers, "
            f"vocab {fp['vocab_size']})")


# -- checkpoints -----------------------------------------------------------------------
def last_checkpoint(out_dir: Path) -> tuple[int, Path] | None:
    """The highest complete ``checkpoints/epoch-<k>``; temp directories of a killed write are ignored."""
    root = out_dir / CHECKPOINTS
    if not root.is_dir():
        return None
    found = [(int(m.group(1)), d) for d in root.iterdir() if d.is_dir() and (m := _EPOCH_DIR.match(d.name))]
    return max(found) if found else None


def save_checkpoint(out_dir: Path, epoch: int, *, adapter_state: dict, optimizer, scheduler, state: dict) -> Path:
    """Write ``checkpoints/epoch-<epoch>`` atomically, then delete older epochs and stale temp dirs.

    Files: ``adapter.safetensors`` (trainable LoRA tensors by parameter name),
    ``trainer.pt`` (optimizer, scheduler and torch RNG state) and ``state.json`` (epoch,
    resume key, step and epoch logs).
    """
    from safetensors.torch import save_file

    final = out_dir / CHECKPOINTS / f"epoch-{epoch}"
    tmp = fresh_tmp_dir(final)
    save_file({k: v.detach().contiguous().clone() for k, v in adapter_state.items()}, str(tmp / "adapter.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state()}, tmp / "trainer.pt")
    (tmp / "state.json").write_text(json.dumps(state, indent=1) + "\n")
    replace_dir(tmp, final)
    for d in (out_dir / CHECKPOINTS).iterdir():
        m = _EPOCH_DIR.match(d.name)
        stale_tmp = d.name.startswith(".") and ".tmp-" in d.name
        if (m and int(m.group(1)) < epoch) or stale_tmp:
            shutil.rmtree(d)
    return final


def load_checkpoint(path: Path) -> tuple[dict, dict, dict]:
    """(adapter tensors, trainer state, state.json) of one checkpoint directory."""
    from safetensors.torch import load_file

    try:
        state = json.loads((path / "state.json").read_text())
        adapter = load_file(str(path / "adapter.safetensors"))
        trainer = torch.load(path / "trainer.pt", weights_only=True)
    except (OSError, ValueError, RuntimeError) as e:
        raise LabeldistError(f"checkpoint {path} is unreadable ({type(e).__name__})",
                             f"delete {path.parent} to train from scratch") from None
    return adapter, trainer, state


# -- adapter directories ---------------------------------------------------------------
def check_adapter_dir(model, adapter_dir: Path) -> dict:
    """Raise a one-line :class:`LabeldistError` unless ``adapter_dir`` is a LoRA adapter that fits ``model``.

    Checks, in order: the directory exists; it holds peft's ``adapter_config.json`` (a LoRA
    config) and ``adapter_model.safetensors``; the recorded base (``labeldist_adapter.json``,
    when present) has ``model``'s architecture, shapes and weights; and every LoRA tensor
    names a linear module of ``model`` with matching in/out features. The last check
    matters because peft itself only warns about adapter keys that match no module.
    Returns the parsed ``adapter_config.json``.
    """
    from safetensors import safe_open

    fix_path = "pass the adapter directory written by SFT training (<out_dir>/adapter)"
    if not adapter_dir.exists():
        raise LabeldistError(f"adapter directory {adapter_dir} does not exist", fix_path)
    cfg_file, weights = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    if not adapter_dir.is_dir() or not cfg_file.is_file() or not weights.is_file():
        raise LabeldistError(f"{adapter_dir} is not a PEFT adapter (needs adapter_config.json and "
                             "adapter_model.safetensors)", fix_path)
    try:
        cfg = json.loads(cfg_file.read_text())
    except ValueError:
        raise LabeldistError(f"{cfg_file} is not valid JSON", fix_path) from None
    if not isinstance(cfg, dict) or cfg.get("peft_type") != "LORA":
        got = cfg.get("peft_type") if isinstance(cfg, dict) else type(cfg).__name__
        raise LabeldistError(f"{adapter_dir} holds a {got!r} adapter, not LoRA", fix_path)
    mismatch_fix = "pass the --model the adapter was trained on, or train a new adapter for this model"
    meta_file = adapter_dir / ADAPTER_META
    if meta_file.is_file():
        meta = json.loads(meta_file.read_text())["base"]
        here = base_fingerprint(model)
        keys = ("architecture", "hidden_size", "num_hidden_layers", "vocab_size")
        if any(meta.get(k) != here[k] for k in keys):
            raise LabeldistError(f"adapter {adapter_dir} was trained on {describe(meta)} but the model is "
                                 f"{describe(here)}", mismatch_fix)
        if meta.get("weights_digest") != here["weights_digest"]:
            raise LabeldistError(f"adapter {adapter_dir} was trained on other weights of the same architecture "
                                 f"({meta.get('name_or_path') or 'unnamed base'})", mismatch_fix)
    modules = dict(model.named_modules())
    try:
        with safe_open(str(weights), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (OSError, ValueError, RuntimeError) as e:
        raise LabeldistError(f"{weights} is unreadable ({type(e).__name__})", fix_path) from None
    for key, shape in shapes.items():
        m = re.match(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])\.weight$", key)
        if m is None:
            continue  # bias or modules_to_save tensors: peft checks those itself
        mod = modules.get(m.group(1))
        if not isinstance(mod, torch.nn.Linear):
            raise LabeldistError(f"adapter {adapter_dir} targets module {m.group(1)!r}, which this "
                                 f"{type(model).__name__} does not have", mismatch_fix)
        want_dim = mod.in_features if m.group(2) == "A" else mod.out_features
        got_dim = shape[1] if m.group(2) == "A" else shape[0]
        if got_dim != want_dim:
            raise LabeldistError(f"adapter {adapter_dir} has {got_dim} features for {m.group(1)} but the model "
                                 f"has {want_dim}", mismatch_fix)
    return cfg
