"""Benchmark: LoRA SFT training throughput and peak memory (figures only, ratios from one run).

Builds toy examples shaped like a run's SFT rows: one shared prefix (an instruction and
``--demos`` demonstrations of ``--demo-words`` words each, like a 10-shot prompt) and per
example a text of ``--prompt-words`` words with a gold emotion label as the answer. Trains
one epoch twice on the same model, rows and seed: with the shared prefix run once per batch
(labeldist's way, :func:`labeldist.supervised.sft_batches.shared_prefix_length`) and with
every row run in full, and prints training tokens/s for each (non-pad prompt + answer tokens
per second of the training loop, checkpoint writes included), their ratio, the final losses
and the peak RSS.

Usage: ``.venv/bin/python bench/bench_sft.py [--model qwen2.5-0.5b] [--n 16] [--r 64] [--threads 2]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("the day was long and the rain kept falling while we waited for news from home "
         "nobody said much but everyone knew what the letter would say").split()
LABELS = ("joy", "sadness", "anger", "fear", "surprise", "neutral")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-0.5b")
    ap.add_argument("--dtype", default="auto", choices=["fp32", "bf16", "auto"])
    ap.add_argument("--n", type=int, default=16, help="training examples")
    ap.add_argument("--demos", type=int, default=10, help="demonstrations in the shared prefix")
    ap.add_argument("--demo-words", type=int, default=30)
    ap.add_argument("--prompt-words", type=int, default=30)
    ap.add_argument("--r", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--grad-accum", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (use 1 on a 2-core machine that runs something else)")
    args = ap.parse_args()

    import torch

    from labeldist.backends.hf import HFBackend
    from labeldist.supervised import sft_batches
    from labeldist.supervised.sft import SFTConfig, SFTExample, train_lora

    backend = HFBackend(args.model, dtype=args.dtype, num_threads=args.threads)
    rss_loaded = peak_rss_mb()
    tok = backend.tokenizer.hf
    enc = lambda s: tuple(tok(s, add_special_tokens=False)["input_ids"])  # noqa: E731
    rng = np.random.default_rng(0)
    words = lambda n: " ".join(rng.choice(WORDS, n))  # noqa: E731
    prefix = "Classify the emotion of the text.\n" + "".join(
        f"Text: {words(args.demo_words)}\nEmotion: {rng.choice(LABELS)}\n" for _ in range(args.demos))
    examples = [SFTExample(enc(prefix + f"Text: {words(args.prompt_words)}\nEmotion:"), enc(f" {rng.choice(LABELS)}\n"))
                for _ in range(args.n)]
    cfg = SFTConfig(r=args.r, epochs=1, batch_size=args.batch_size, grad_accum=args.grad_accum)
    pad = tok.pad_token_id or 0
    runs = {}
    model = backend.model
    for way, min_shared in (("shared prefix", sft_batches.MIN_SHARED), ("full rows", 10**9)):
        sft_batches.MIN_SHARED = min_shared
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            res = train_lora(model, examples, out, cfg, pad_id=pad, progress=False)
            wall = time.perf_counter() - t0
        n_lora = sum(p.numel() for p in res.model.parameters() if p.requires_grad)
        runs[way] = {"train_seconds": round(res.train_seconds, 2), "wall_seconds": round(wall, 2),
                     "train_tokens_per_second": round(res.tokens_per_second, 1),
                     "final_step_loss": round(res.step_losses[-1], 4),
                     "peak_rss_mb_after": round(peak_rss_mb())}
        model = res.model.unload()  # the base model again, for the other way
    figures = {
        "model": args.model, "dtype": backend.info.dtype, "threads": torch.get_num_threads(),
        "n_examples": res.n_examples, "tokens_per_example": round(res.n_tokens / res.n_examples, 1),
        "shared_prefix_tokens": len(enc(prefix)), "answer_tokens": res.n_answer_tokens, "lora_r": args.r,
        "lora_parameters": int(n_lora), "batch": f"{args.batch_size}x{args.grad_accum}",
        "optimizer_steps": len(res.step_losses), "peak_rss_mb_after_load": round(rss_loaded), **runs,
        "speed_up_shared_vs_full": round(runs["shared prefix"]["train_tokens_per_second"]
                                         / runs["full rows"]["train_tokens_per_second"], 2),
    }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
