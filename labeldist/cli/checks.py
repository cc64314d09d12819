"""Flag values argparse accepts but no command can use (a negative --n, --batch-size 0), refused at once.

Checked right after parsing, before any data is read or a model loaded; the checks key on
argument names, so a verb without the flag is not affected.
"""

from __future__ import annotations

import argparse
import math

from labeldist.errors import LabeldistError

__all__ = ["check_args"]

# dest -> (flag, lowest allowed value, example value)
INT_FLAGS = {
    "batch_size": ("--batch-size", 1, 20),
    "n": ("--n", 1, 200),
    "seed": ("--seed", 0, 0),
    "max_binary_pairs": ("--max-binary-pairs", 1, 820),
    "concurrency": ("--concurrency", 1, 4),
    "top_logprobs": ("--top-logprobs", 1, 20),
}
POSITIVE_FLOAT_FLAGS = {"timeout": ("--timeout", 60)}


def check_args(args: argparse.Namespace) -> None:
    """Raise a one-line :class:`LabeldistError` for the first unusable flag value."""
    for dest, (flag, low, example) in INT_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None and value < low:
            raise LabeldistError(f"{flag} must be at least {low}, got {value}", f"use e.g. {flag} {example}")
    for dest, (flag, example) in POSITIVE_FLOAT_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise LabeldistError(f"{flag} must be a positive number of seconds, got {value}",
                                 f"use e.g. {flag} {example}")
