"""Machine-readable output: when a verb is asked for JSON/CSV, stdout carries the data and nothing else.

A verb opts in with a module constant ``DATA_ON_STDOUT = True``. When such a verb is asked
for machine output, :func:`labeldist.cli.main.main` points ``sys.stdout`` at stderr while
it runs (so a progress line or a library's print cannot end up in the data) and hands the
verb the real stdout as ``args.stdout``; the verb writes its data there with
:func:`write_data` / :func:`print_json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO


def wants_machine_output(args: argparse.Namespace) -> bool:
    """True for ``--json`` and for ``--format`` other than ``table``."""
    return bool(getattr(args, "json", False)) or getattr(args, "format", "table") not in (None, "table")


def data_stream(args: argparse.Namespace) -> TextIO:
    """Where the verb's data goes: the stdout ``main`` set aside, else the current stdout."""
    return getattr(args, "stdout", None) or sys.stdout


def write_data(args: argparse.Namespace, text: str) -> None:
    stream = data_stream(args)
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()


def print_json(args: argparse.Namespace, obj) -> None:
    """One JSON document on the data stream (non-finite floats become null)."""
    from labeldist.api import json_ready

    write_data(args, json.dumps(json_ready(obj), indent=2, ensure_ascii=False, allow_nan=False))
