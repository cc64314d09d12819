"""The ``labeldist`` command: parse arguments and dispatch to one thin module per verb.

Each verb lives in ``labeldist/cli/cmd_<verb>.py`` and exposes ``add_parser(subparsers)``
and ``run(args) -> int``. No logic lives here: verbs call the same functions the Python
API exposes. Every :class:`~labeldist.errors.LabeldistError` becomes one line on stderr
and exit code 2. Verbs that set ``DATA_ON_STDOUT = True`` and are asked for machine-readable
output (``--json``, ``--format json``) get stdout to themselves (:mod:`labeldist.cli.output`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from labeldist.cli.output import wants_machine_output
from labeldist.errors import LabeldistError

VERBS = ("classify", "run", "sweep", "demo", "datasets", "evaluate", "calibrate", "analyze", "report")

EXIT_CODES = """exit codes:
  0    success
  2    bad input: one line on stderr names the problem and the fix (a bad option prints the usage)
  130  interrupted (Ctrl-C); rerun the same command to resume a run

machine-readable output: `classify --format json|jsonl|csv`, `run --json` and `evaluate --json`
write only the data to stdout; progress and notes go to stderr."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labeldist",
        description="Calibrated per-label probabilities from language models, scored against human annotators.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        p.set_defaults(_run=module.run, _data_on_stdout=getattr(module, "DATA_ON_STDOUT", False))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    machine = args._data_on_stdout and wants_machine_output(args)
    args.stdout = sys.stdout  # the verb's data goes here; in machine formats nothing else does
    try:
        with contextlib.redirect_stdout(sys.stderr) if machine else contextlib.nullcontext():
            return int(args._run(args) or 0)
    except LabeldistError as e:
        print(f"labeldist: error: {e}", file=sys.stderr)
        return LabeldistError.exit_code
    except KeyboardInterrupt:
        print("labeldist: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
