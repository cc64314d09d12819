"""``labeldist demo``: the default model on built-in texts, printing per-label probabilities."""

from __future__ import annotations

import argparse
import time

from labeldist.backends import DTYPES
from labeldist.methods import groups_help, unsupervised_groups


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="run the default model on built-in texts and print the table")
    p.add_argument("--model", default=None, help="model to use (default: the registry default)")
    p.add_argument("--dtype", default="auto", choices=list(DTYPES))
    p.add_argument("--methods", default=",".join(unsupervised_groups()),
                   help=f"method groups to show (default: those that need no training data): {groups_help()}")
    p.add_argument("--n-vader", type=int, default=50, help="VADER tweets for the alignment table (0 to skip)")
    p.add_argument("--out", default="runs/demo-vader-tweets", help="run directory of the alignment part (resumable)")
    return p


def run(args) -> int:
    from labeldist import api
    from labeldist.backends.models import DEFAULT_MODEL
    from labeldist.builtin import EMOTIONS, demo_pool, demo_queries
    from labeldist.prompts.fewshot import PromptConfig

    model = args.model or DEFAULT_MODEL
    t0 = time.perf_counter()
    backend = api.load_backend(model, dtype=args.dtype)
    print(f"model: {backend.info.name} ({backend.info.dtype}), loaded in {time.perf_counter() - t0:.1f} s "
          f"from {backend.info.extra.get('loaded_from', backend.info.source)}")
    methods = tuple(m for m in args.methods.split(",") if m)
    queries = demo_queries()
    t1 = time.perf_counter()
    res = api.classify([q.text for q in queries], EMOTIONS, model=model, backend=backend, methods=methods,
                       demos=demo_pool(), prompt=PromptConfig(shots=10), progress=True)
    print(f"labels: {', '.join(EMOTIONS.labels)}; {len(queries)} texts, 10 demos; "
          f"{time.perf_counter() - t1:.1f} s\n")
    print(res.table())
    if args.n_vader:
        _alignment(args, backend, methods)
    return 0


def _alignment(args, backend, methods) -> None:
    """Part two: real raters. 50 VADER tweets, demos from the train half, Table-2-style scores."""
    from pathlib import Path

    from labeldist import api, streams
    from labeldist.data import load_dataset
    from labeldist.errors import LabeldistError
    from labeldist.prompts.fewshot import PromptConfig
    from labeldist.report import evaluate_runs
    from labeldist.runs.runner import RunConfig

    try:
        ds = load_dataset("vader-tweets")
    except LabeldistError as e:
        print(f"(alignment part skipped: {e})")
        return
    test = list(ds.split("test"))
    idx = sorted(streams.rng("demo_items", 0).choice(len(test), size=min(args.n_vader, len(test)), replace=False))
    items = [test[i] for i in idx]
    train = list(ds.split("train"))
    config = RunConfig(model=backend.info.name, dtype=backend.info.dtype or "auto", methods=methods,
                       prompt=PromptConfig(shots=10))
    out = Path(args.out + f"-{backend.info.name}")
    print(f"alignment with human raters: {len(items)} VADER tweets (20+ raters each, ratings -4..+4 -> "
          f"{', '.join(ds.label_set.labels)}), 10 demos from the train half; run directory {out}")
    t0 = time.perf_counter()
    res = api.run(items, ds.label_set, out, config=config, demo_pool=train, backend=backend, progress=True,
                  data_source={"name": "vader-tweets", "split": "test", "n": len(items), "seed": 0,
                               "streams": {"demo_items": streams.entropy("demo_items", 0)}})
    print(f"classified in {time.perf_counter() - t0:.1f} s ({res.summary.n_new} new, {res.summary.n_resumed} resumed)\n")
    ev = evaluate_runs([out], seed=0, n_boot=1000)
    print(ev.table())
