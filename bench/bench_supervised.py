"""Benchmark: the supervised baselines' speed and memory, measured in one run (figures only, no assertions).

Printed:

* encoder fine-tuning throughput (train examples / s, optimiser steps only, from the
  per-epoch ``train_seconds``) and the dev-evaluation throughput inside ``fit``;
* fine-tuned encoder inference (``predict_proba``) examples / s;
* frozen mean-pooled embedding examples / s (``FrozenEncoderProbe.embed``);
* probe fit seconds on those embeddings (n_train × 384, every C in ``Cs``), and on
  LLM-sized synthetic features (``--probe-n`` × ``--probe-dim``, 7 labels, soft targets),
  without and with PCA;
* encoder load seconds and the process's peak RSS (``resource.getrusage``).

Data: the first ``--n-train`` / ``--n-dev`` / ``--n-infer`` items of the train / dev / test
splits of ``--dataset`` (default the Le-Wi-Di HS-Brexit multi-label set), soft targets.

Usage: ``.venv/bin/python bench/bench_supervised.py [--threads 2] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="lewidi-hsbrexit-ml")
    ap.add_argument("--encoder", default=None, help="local encoder directory (default: the installed MiniLM)")
    ap.add_argument("--n-train", type=int, default=128)
    ap.add_argument("--n-dev", type=int, default=64)
    ap.add_argument("--n-infer", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--probe-n", type=int, default=1000)
    ap.add_argument("--probe-dim", type=int, default=896, help="896 = Qwen2.5-0.5B hidden size")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    from labeldist.data import load_dataset
    from labeldist.supervised import EncoderClassifier, FrozenEncoderProbe, ProbeClassifier, target_matrix
    from labeldist.supervised.encoding import load_encoder, resolve_encoder_dir

    ds = load_dataset(args.dataset)
    splits = ds.splits
    train = splits["train"][:args.n_train]
    dev = (splits["dev"] if "dev" in splits else splits["train"][args.n_train:])[:args.n_dev]
    test = splits["test"][:args.n_infer]
    Y, _ = target_matrix(train, ds.label_set, "soft")
    Yd, _ = target_matrix(dev, ds.label_set, "soft")
    tr_texts, dv_texts, te_texts = [e.text for e in train], [e.text for e in dev], [e.text for e in test]
    res: dict = {"dataset": args.dataset, "n_train": len(train), "n_dev": len(dev), "n_infer": len(test),
                 "max_length": args.max_length, "batch_size": args.batch_size, "epochs": args.epochs,
                 "threads": args.threads or torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
                 "torch": torch.__version__}

    t = time.perf_counter()
    load_encoder(resolve_encoder_dir(args.encoder))
    res["encoder_load_s"] = time.perf_counter() - t

    clf = EncoderClassifier(args.encoder, multilabel=ds.label_set.multilabel, max_length=args.max_length,
                            epochs=args.epochs, batch_size=args.batch_size, patience=args.epochs,
                            num_threads=args.threads, seed=0)
    t = time.perf_counter()
    clf.fit(tr_texts, Y, dv_texts, Yd, labels=ds.label_set.labels)
    res["encoder_fit_s"] = time.perf_counter() - t
    train_s = sum(h["train_seconds"] for h in clf.history_)
    dev_s = sum(h["dev_seconds"] for h in clf.history_)
    res["encoder_train_ex_per_s"] = len(train) * len(clf.history_) / train_s
    res["encoder_dev_eval_ex_per_s"] = len(dev) * len(clf.history_) / dev_s
    res["encoder_history"] = clf.history_
    t = time.perf_counter()
    clf.predict_proba(te_texts)
    res["encoder_infer_ex_per_s"] = len(test) / (time.perf_counter() - t)
    res["peak_rss_mb_after_encoder"] = peak_rss_mb()
    del clf

    fz = FrozenEncoderProbe(args.encoder, multilabel=ds.label_set.multilabel, max_length=args.max_length,
                            num_threads=args.threads)
    fz.embed(te_texts[:8])  # load + warm up
    t = time.perf_counter()
    fz.embed(te_texts)
    res["frozen_embed_ex_per_s"] = len(test) / (time.perf_counter() - t)
    X, Xd = fz.embed(tr_texts), fz.embed(dv_texts)
    t = time.perf_counter()
    probe = ProbeClassifier(multilabel=ds.label_set.multilabel).fit(X, Y, Xd, Yd)
    res["probe_fit_s_embeddings"] = time.perf_counter() - t
    res["probe_Cs"] = len(probe.cv_results_["C"])

    rng = np.random.default_rng(0)
    n, d, L = args.probe_n, args.probe_dim, 7
    W = rng.normal(size=(d, L)) / np.sqrt(d)
    Xs = rng.normal(size=(n, d))
    Xsd = rng.normal(size=(n // 4, d))
    Qs = 1 / (1 + np.exp(-(Xs @ W * 3 - 1)))
    Qsd = 1 / (1 + np.exp(-(Xsd @ W * 3 - 1)))
    for pca in (None, 128):
        t = time.perf_counter()
        ProbeClassifier(pca=pca).fit(Xs, Qs, Xsd, Qsd)
        res[f"probe_fit_s_synthetic_{n}x{d}_pca{pca}"] = time.perf_counter() - t
    res["peak_rss_mb"] = peak_rss_mb()

    width = max(len(k) for k in res)
    for k, v in res.items():
        if k == "encoder_history":
            continue
        print(f"{k:<{width}}  {v:.3f}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
