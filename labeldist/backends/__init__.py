"""Model backends behind one narrow interface (:class:`labeldist.backends.base.Backend`).

:data:`BACKENDS` names every backend; :func:`load_backend` imports one lazily, so heavy
libraries (torch) load only when a model is used.
"""

from __future__ import annotations

from labeldist.errors import LabeldistError

#: Backend name -> ``"module:Class"``.
BACKENDS = {"hf": "labeldist.backends.hf:HFBackend", "http": "labeldist.backends.http:HTTPBackend"}
#: Weight dtypes of the transformers backend (``auto`` = bf16 on CPUs with native bf16, else fp32).
DTYPES = ("auto", "bf16", "fp32")


def load_backend(model: str, *, backend: str = "hf", **options):
    """Instantiate a backend by name."""
    if backend not in BACKENDS:
        raise LabeldistError(f"unknown backend {backend!r}", f"use one of {', '.join(BACKENDS)}")
    module, cls = BACKENDS[backend].split(":")
    try:
        mod = __import__(module, fromlist=[cls])
    except ModuleNotFoundError as e:
        raise LabeldistError(f"backend {backend!r} is not available ({e})", "run `bash install.sh` to install it") from None
    return getattr(mod, cls)(model, **options)
