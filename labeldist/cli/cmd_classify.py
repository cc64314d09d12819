"""``labeldist classify TEXT... --labels a,b,c``: print per-label probabilities by method."""

from __future__ import annotations

import argparse

from labeldist.cli.calibration_options import add_calibration_options
from labeldist.cli.options import add_model_options, add_prompt_options, backend_options, run_config


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("classify", help="per-label probabilities for a few texts, printed as a table")
    p.add_argument("texts", nargs="+", help="texts to classify")
    p.add_argument("--labels", required=True, help="comma-separated label set, e.g. joy,anger,fear")
    p.add_argument("--single-label", action="store_true", help="exactly one label per text (no 'none' candidate)")
    p.add_argument("--demos", default=None, help="annotated file to draw demonstrations from (default: zero-shot)")
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
                                                     multilabel=label_set.multilabel).splits.values() for e in split]
    config = run_config(args)
    if args.shots and not demos:
        raise LabeldistError(f"--shots {args.shots} needs demonstrations", "pass --demos FILE or --shots 0")
    from labeldist.methods import selected_methods

    # checked before the model loads: a calibration for another label set or method fails in a second
    api.resolve_calibration(label_set, [s.name for s in selected_methods(config.methods, label_set)],
                            calibration=args.calibration, thresholds=args.thresholds)
    res = api.classify(args.texts, label_set, model=config.model, methods=config.methods, demos=demos,
                       prompt=config.prompt, progress=False, calibration=args.calibration, thresholds=args.thresholds,
                       backend=api.load_backend(config.model, backend=config.backend, **backend_options(args)))
    for note in (res.calibration.notes if res.calibration is not None else []):
        print(f"note: {note}")
    print(res.table())
    return 0
