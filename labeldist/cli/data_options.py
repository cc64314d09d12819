"""CLI options saying how an annotated file is laid out (``--id-column`` ... ``--empty-labels``) -> FileLayout.

The flags default to None so that :func:`layout_from_args` can tell a flag that was given
from one that was not; the FileLayout defaults fill in the rest. Values are checked by
:class:`~labeldist.data.layout.FileLayout` itself, so a bad value is one
``labeldist: error: ...`` line (exit code 2), not an argparse usage dump.
"""

from __future__ import annotations

import argparse

from labeldist.data.layout import EMPTY_LABELS, FLAGS, FileLayout


def add_layout_options(parser: argparse.ArgumentParser) -> None:
    """Add the six file-layout flags to ``parser`` (one argument group)."""
    d = FileLayout()
    g = parser.add_argument_group(
        "annotated file layout", "how --data / --demos files are laid out; examples: labeldist datasets --help-layouts")
    g.add_argument("--id-column", default=None, metavar="NAME", help=f"column holding the item id (default: {d.id_column})")
    g.add_argument("--text-column", default=None, metavar="NAME", help=f"column holding the text (default: {d.text_column})")
    g.add_argument("--labels-column", default=None, metavar="NAME",
                   help=f"column holding the labels (default: {d.labels_column})")
    g.add_argument("--annotator-column", default=None, metavar="NAME",
                   help=f"column holding the annotator id, one row per (item, annotator) (default: {d.annotator_column})")
    g.add_argument("--label-sep", default=None, metavar="SEP",
                   help=f"string joining several labels in one cell, any string, e.g. ';' or '|' (default: "
                        f"'{d.label_sep}'); cells starting with [ are read as JSON lists")
    g.add_argument("--empty-labels", default=None, metavar="{" + ",".join(EMPTY_LABELS) + "}",
                   help="what an empty label cell means: none = the annotator chose no label, missing = no answer "
                        f"(left out of the distribution and counted), error = stop and say where (default: {d.empty_labels})")


def layout_flags_given(args: argparse.Namespace) -> list[str]:
    """The layout flags set on the command line, e.g. ``["--id-column", "--label-sep"]``."""
    return [flag for name, flag in FLAGS.items() if getattr(args, name, None) is not None]


def layout_from_args(args: argparse.Namespace) -> FileLayout:
    """The FileLayout named by the flags; defaults for flags not given.

    Raises LabeldistError for a bad value (empty separator, unknown ``--empty-labels``, one
    column named twice), and when layout flags come with ``--dataset``, which ignores them.
    """
    from labeldist.errors import LabeldistError

    given = layout_flags_given(args)
    if given and getattr(args, "dataset", None) and not getattr(args, "demos", None):
        raise LabeldistError(f"{', '.join(given)} describe(s) an annotated file, but --dataset {args.dataset} is a "
                             "registered dataset with a known layout", f"drop {', '.join(given)} or use --data FILE")
    return FileLayout(**{name: getattr(args, name) for name in FLAGS if getattr(args, name, None) is not None})
