"""The ``labeldist`` command: parse arguments and dispatch to one thin module per verb.

Each verb lives in ``labeldist/cli/cmd_<verb>.py`` and exposes ``add_parser(subparsers)``
and ``run(args) -> int``. No logic lives here: verbs call the same functions the Python
API exposes. Every :class:`~labeldist.errors.LabeldistError` becomes one line on stderr
and exit code 2, and so does a bad option (argparse's message plus where to look, on one line);
warnings print as ``labeldist: warning: ...`` lines. SIGINT and SIGTERM end a verb cleanly
(exit 130 / 143: a run finishes its current write first, see :mod:`labeldist.runs.interrupt`).
Verbs that set ``DATA_ON_STDOUT = True`` and are asked for machine-readable
output (``--json``, ``--format json``) get stdout to themselves (:mod:`labeldist.cli.output`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import warnings

from labeldist.cli.checks import check_args
from labeldist.cli.output import wants_machine_output
from labeldist.errors import LabeldistError
from labeldist.runs.interrupt import signals_raise

VERBS = ("classify", "run", "sweep", "demo", "datasets", "evaluate", "calibrate", "analyze", "report")

EXIT_CODES = """exit codes:
  0    success
  2    bad input: one line on stderr names the problem and the fix (also for a bad option)
  130  interrupted (Ctrl-C / SIGINT); rerun the same command to resume a run
  143  terminated (SIGTERM); rerun the same command to resume a run

machine-readable output: `classify --format json|jsonl|csv`, `run --json` and `evaluate --json`
write only the data to stdout; progress and notes go to stderr."""


class _Parser(argparse.ArgumentParser):
    """argparse with its error on one line (the subcommands' parsers are of this class too)."""

    def error(self, message: str):
        message = " ".join(str(message).split())
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"labeldist: warning: {' '.join(str(message).split())}", file=sys.stderr if file is None else file)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        with contextlib.redirect_stdout(sys.stderr) if machine else contextlib.nullcontext(), \
                signals_raise(), warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            check_args(args)
            return int(args._run(args) or 0)
    except LabeldistError as e:
        print(f"labeldist: error: {e}", file=sys.stderr)
        return LabeldistError.exit_code
    except OSError as e:  # a file-system failure no module turned into a LabeldistError: still one line
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"labeldist: error: {e.strerror or e}{where}; check the path, its permissions and the free disk space",
              file=sys.stderr)
        return LabeldistError.exit_code
    except KeyboardInterrupt as e:  # SIGINT, or SIGTERM (labeldist.runs.interrupt.Interrupted)
        print("labeldist: interrupted; rerun the same command to resume", file=sys.stderr)
        return getattr(e, "exit_code", 130)


if __name__ == "__main__":
    sys.exit(main())
