"""``labeldist classify TEXT... --labels a,b,c``: per-label probabilities by method, as a table or machine-readable.

``--format json|jsonl|csv`` writes only the data to stdout (anything else the pipeline
prints goes to stderr; see :mod:`labeldist.cli.output`), so the output can be piped into
another program.
"""

from __future__ import annotations

import argparse

from labeldist.api import OUTPUT_FORMATS
from labeldist.cli.calibration_options import add_calibration_options
from labeldist.cli.data_options import add_layout_options, layout_from_args
from labeldist.cli.options import add_model_options, add_prompt_options, backend_options, run_config
from labeldist.cli.output import write_data

DATA_ON_STDOUT = True  # --json / --format: data via labeldist.cli.output, all else to stderr


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("classify", help="per-label probabilities for a few texts, as a table, JSON, JSON Lines or CSV")
    p.add_argument("texts", nargs="+", help="texts to classify")
    p.add_argument("--labels", required=True, help="comma-separated label set, e.g. joy,anger,fear")
    p.add_argument("--single-label", action="store_true", help="exactly one label per text (no 'none' candidate)")
    p.add_argument("--demos", default=None, help="annotated file to draw demonstrations from (default: zero-shot)")
    add_layout_options(p)
    p.add_argument("--format", choices=list(OUTPUT_FORMATS), default=OUTPUT_FORMATS[0],
                   help="table (default, for people); json (one document: labels, methods, per text the answer, "
                        "diagnostics and {method: {label: p}}, model, config); jsonl (one object per text); "
                        "csv (one row per text x method, a column per label)")
    add_model_options(p)
    add_prompt_options(p, shots=0)
    add_calibration_options(p)
    return p


def run(args) -> int:
    from labeldist import api
    from labeldist.errors import LabeldistError
    from labeldist.records import Example, LabelSet

    label_set = LabelSet.parse(args.labels, multilabel=not args.single_label)
    for t in args.texts:
        Example("cli", t)  # empty texts fail here, before the model loads
    demos = []
    if args.demos:
        from labeldist.data import read_annotated_file

        demos = [e for split in read_annotated_file(args.demos, labels=list(label_set.labels),
                                                     multilabel=label_set.multilabel,
                                                     layout=layout_from_args(args)).splits.values() for e in split]
    config = run_config(args)
    if args.shots and not demos:
        raise LabeldistError(f"--shots {args.shots} needs demonstrations", "pass --demos FILE or --shots 0")
    from labeldist.methods import selected_methods

    # checked before the model loads: a calibration for another label set or method fails in a second
    api.resolve_calibration(label_set, [s.name for s in selected_methods(config.methods, label_set)],
                            calibration=args.calibration, thresholds=args.thresholds)
    res = api.classify(args.texts, label_set, config=config, demos=demos, progress=False,
                       calibration=args.calibration, thresholds=args.thresholds,
                       backend=api.load_backend(config.model, backend=config.backend, **backend_options(args)))
    for note in (res.calibration.notes if res.calibration is not None else []):
        print(f"note: {note}")  # stderr: stdout holds only the data
    write_data(args, res.format(args.format))
    return 0
