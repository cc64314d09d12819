"""What a run records about itself: config, seeds, model identity, package versions, machine."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from datetime import datetime, timezone

PACKAGES = ("labeldist", "torch", "transformers", "tokenizers", "gguf", "accelerate", "numpy", "scikit-learn", "pandas")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def environment() -> dict:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "versions": package_versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
