"""``labeldist demo``: the default model on built-in texts, printing per-label probabilities."""

from __future__ import annotations

import argparse
import time


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="run the default model on built-in texts and print the table")
    p.add_argument("--model", default=None, help="model to use (default: the registry default)")
    p.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"])
    p.add_argument("--methods", default="generation,unary,binary", help="method groups to show")
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
    return 0
