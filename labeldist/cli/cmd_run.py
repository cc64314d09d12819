"""``labeldist run``: classify a dataset or annotated file into a resumable run directory."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from labeldist.cli.calibration_options import add_calibration_options
from labeldist.cli.data_options import add_layout_options, layout_from_args
from labeldist.cli.options import (
    add_model_options,
    add_prompt_options,
    add_supervised_options,
    backend_options,
    run_config,
)
from labeldist.data.testsets import TEST_SET_KINDS

DATA_ON_STDOUT = True  # --json / --format: data via labeldist.cli.output, all else to stderr


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="classify a dataset or file into a run directory (resumable)")
    add_run_arguments(p)
    return p


def add_run_arguments(p: argparse.ArgumentParser, *,
                      out_help: str = "run directory (default: runs/<data>-<model>-<config hash>; rerun to resume)") -> None:
    """Every ``labeldist run`` option (also ``labeldist sweep``'s)."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="annotated file (CSV, TSV, JSONL, Parquet); see `labeldist datasets --help-layouts`")
    src.add_argument("--dataset", help="a dataset name from `labeldist datasets`")
    p.add_argument("--labels", default=None, help="comma-separated label set (required for --data unless the file has fraction columns)")
    p.add_argument("--single-label", action="store_true", help="--data only: exactly one label per item")
    p.add_argument("--split", default=None, help="split to classify (default: the dataset's evaluation split, or 'test')")
    p.add_argument("--demo-split", default="train", help="split the demonstrations come from (default: train)")
    p.add_argument("--demos", default=None, help="annotated file with demonstrations (overrides --demo-split)")
    p.add_argument("--n", type=int, default=None, help="classify a seeded random sample of N items of the split")
    p.add_argument("--test-set", choices=list(TEST_SET_KINDS), default=None,
                   help="the paper's main test set (uniform over label type x agreement) or multi-label only; size --n (default 200)")
    p.add_argument("--root", default=None, help="datasets root (default: ../shared/datasets or $LABELDIST_SHARED_DATASETS)")
    p.add_argument("--skip-invalid", action="store_true", help="skip and count invalid rows instead of stopping")
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_layout_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON summary object on stdout and nothing else")
    add_attention_option(p)
    add_model_options(p)
    add_prompt_options(p)
    add_supervised_options(p)
    add_calibration_options(p)


def add_attention_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--attention", action="store_true",
                   help="also store, per label step after the first, the attention mass on the prompt, earlier generated "
                        "tokens and earlier labels (local backend: one extra eager-attention forward per example; "
                        "Table 6 of `labeldist analyze`)")


def _select(examples, args, multilabel: bool) -> tuple[list, dict[str, list[int]]]:
    """The items to classify and the random streams that chose them."""
    from labeldist import streams

    examples = list(examples)
    if args.test_set:
        from labeldist.data import sample_test_set

        return (list(sample_test_set(examples, n=args.n or 200, seed=args.seed, kind=args.test_set,
                                     multilabel=multilabel)), {"test_set": streams.entropy("test_set", args.seed)})
    if args.n is not None and args.n < len(examples):
        idx = sorted(streams.rng("sample_n", args.seed).choice(len(examples), size=args.n, replace=False))
        return [examples[i] for i in idx], {"sample_n": streams.entropy("sample_n", args.seed)}
    return examples, {}


def load_inputs(args):
    """(examples, label_set, demo_pool, train_pool, dev_pool, data_source) from --data/--dataset and the split options.

    ``train_pool`` is the demo split (or --demos file) whatever --shots says: the base rates come from it.
    """
    from labeldist.data import load_dataset, read_annotated_file
    from labeldist.errors import LabeldistError

    layout = layout_from_args(args)
    if args.dataset:
        ds = load_dataset(args.dataset, root=args.root, skip_invalid=args.skip_invalid)
        from labeldist.data.registry import eval_splits

        # The paper evaluates some corpora on several splits (MFRC: dev + test).
        split = args.split or "+".join(eval_splits(args.dataset))
        source = {"name": args.dataset, "split": split}
    else:
        if not Path(args.data).is_file():
            raise LabeldistError(f"data file {args.data} does not exist or is not a file", "check the path")
        ds = read_annotated_file(args.data, labels=args.labels, multilabel=not args.single_label,
                                 skip_invalid=args.skip_invalid, layout=layout)
        split = args.split or ("test" if "test" in ds.splits else next(iter(ds.splits)))
        source = {"name": Path(args.data).name, "path": str(Path(args.data).resolve()), "split": split}
        if layout.to_dict():  # a different layout gives different human distributions: never resume across it
            source["layout"] = layout.to_dict()
    examples, used = _select([e for s in split.split("+") for e in ds.split(s)], args, ds.label_set.multilabel)
    source.update(n=args.n, test_set=args.test_set, seed=args.seed)
    if used:
        source["streams"] = used
    if args.demos:
        demo_ds = read_annotated_file(args.demos, labels=list(ds.label_set.labels), multilabel=ds.label_set.multilabel,
                                      layout=layout)
        train = [e for s in demo_ds.splits.values() for e in s]
    elif args.demo_split in ds.splits and args.demo_split not in split.split("+"):
        train = list(ds.split(args.demo_split))
    else:
        train = []
    pool = train if args.shots else []
    if args.shots and not pool:
        raise LabeldistError(
            f"no demonstrations: the data has no {args.demo_split!r} split to draw {args.shots} demos from",
            "pass --demos FILE, --demo-split NAME, or --shots 0 for zero-shot",
        )
    # The dev split fits calibrators and supervised methods' hyperparameters, unless it is evaluated.
    dev = list(ds.split("dev")) if "dev" in ds.splits and "dev" not in split.split("+") else None
    return examples, ds.label_set, pool, train, dev, source


def default_out(source: dict, config) -> Path:
    digest = hashlib.sha256(json.dumps([source, config.to_dict()], sort_keys=True).encode()).hexdigest()[:8]
    name = Path(str(source["name"])).stem
    return Path("runs") / f"{name}-{Path(config.model).stem}-{digest}"


def run(args) -> int:
    from labeldist import api

    from labeldist.methods import selected_methods
    from labeldist.prompts.presets import preset_for

    examples, label_set, pool, train, dev, source = load_inputs(args)
    config = run_config(args, preset=preset_for(args.dataset, multilabel=label_set.multilabel, task=args.task))
    out = Path(args.out) if args.out else default_out(source, config)
    # checked before the model loads (api.run checks again, before the run directory is created)
    api.resolve_calibration(label_set, [s.name for s in selected_methods(config.methods, label_set)],
                            calibration=args.calibration, thresholds=args.thresholds)
    backend = api.load_backend(config.model, backend=config.backend, **backend_options(args))
    res = api.run(examples, label_set, out, config=config, demo_pool=pool, train_pool=train, dev_pool=dev,
                  data_source=source, backend=backend, progress=not args.quiet, calibration=args.calibration,
                  thresholds=args.thresholds)
    if args.json:
        from labeldist.cli.output import print_json

        print_json(args, api.run_summary_dict(res))
        return 0
    s = res.summary
    rate = s.n_new / s.seconds if s.seconds else float("nan")
    print(f"run: {res.run_dir}  ({s.n_examples} examples: {s.n_new} new, {s.n_resumed} already done; "
          f"{s.seconds:.1f} s, {rate:.2f} examples/s)")
    if s.fallbacks:
        print(f"  no label slot in the answer (uniform fallback, counted per method): {s.fallbacks}")
    if s.mean_outside_mass is not None:
        print(f"  answer grammar: mean model mass outside it at label slots {s.mean_outside_mass:.3f}; "
              f"it overrode the model's argmax at {100 * s.grammar_override_share:.1f}% of slots")
    if s.bounded_share:
        print(f"  {100 * s.bounded_share:.2f}% of the label scores read are top-k bounds, not exact values (served model)")
    if s.binary_position_disagreement is not None:
        print(f"  binary breakdown: the two orders of a pair pick different winners for "
              f"{100 * s.binary_position_disagreement:.1f}% of pairs (position bias; both orders averaged)")
    if s.unknown_outputs:
        print(f"  {s.unknown_outputs} generated strings were not labels (recorded under generation.unknown)")
    if res.calibration is not None:
        cal = res.calibration
        if cal.calibrators:
            print(f"  calibrated (records' 'calibrated'): {', '.join(cal.label_name(m) for m in cal.calibrators)}")
        for m, thr in cal.thresholds.items():
            n_pos = sum(len(r.predicted.get(m, ())) for r in res.records)
            print(f"  predicted label sets (records' 'predicted') for {m}: {thr.objective} thresholds; "
                  f"{n_pos} labels over {len(res.records)} examples")
        for note in cal.notes:
            print(f"  note: {note}")
    print(f"  methods: {', '.join(res.methods)}; evaluate with: labeldist evaluate {res.run_dir}")
    return 0
