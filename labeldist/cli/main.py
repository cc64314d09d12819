"""The ``labeldist`` command: parse arguments and dispatch to one thin module per verb.

Each verb lives in ``labeldist/cli/cmd_<verb>.py`` and exposes ``add_parser(subparsers)``
and ``run(args) -> int``. No logic lives here: verbs call the same functions the Python
API exposes. Every :class:`~labeldist.errors.LabeldistError` becomes one line on stderr
and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from labeldist.errors import LabeldistError

VERBS = ("classify", "run", "demo", "datasets", "evaluate", "calibrate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labeldist",
        description="Calibrated per-label probabilities from language models, scored against human annotators.",
    )
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb in VERBS:
        try:
            module = importlib.import_module(f"labeldist.cli.cmd_{verb}")
        except ModuleNotFoundError as e:
            if e.name == f"labeldist.cli.cmd_{verb}":
                continue  # verb not built yet
            raise
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except LabeldistError as e:
        print(f"labeldist: error: {e}", file=sys.stderr)
        return LabeldistError.exit_code
    except KeyboardInterrupt:
        print("labeldist: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
