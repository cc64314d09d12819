"""What a run records about the software and machine it ran on."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from datetime import datetime, timezone

PACKAGES = ("labeldist", "torch", "transformers", "tokenizers", "gguf", "accelerate", "numpy", "scipy",
            "scikit-learn", "peft")


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
