"""Benchmark: LoRA SFT training throughput and peak memory on SmolLM2-135M (figures only).

Builds a few dozen toy examples (an instruction, a text of roughly ``--prompt-words``
words, a gold emotion label as the answer), trains one epoch with the given LoRA rank and
batch shape, and prints training tokens/s (non-pad prompt + answer tokens per second of
the training loop, dev evaluation and checkpoint writes included) and peak RSS, before
and after training.

Usage: ``.venv/bin/python bench/bench_sft.py [--n 32] [--r 64] [--threads 1]``
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
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "auto"])
    ap.add_argument("--n", type=int, default=32, help="training examples")
    ap.add_argument("--prompt-words", type=int, default=120)
    ap.add_argument("--r", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--grad-accum", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is far faster than 2 on a shared 2-core machine)")
    args = ap.parse_args()

    import torch

    from labeldist.backends.hf import HFBackend
    from labeldist.supervised.sft import SFTConfig, SFTExample, train_lora

    backend = HFBackend(args.model, dtype=args.dtype, num_threads=args.threads)
    rss_loaded = peak_rss_mb()
    tok = backend.tokenizer.hf
    enc = lambda s: tuple(tok(s, add_special_tokens=False)["input_ids"])  # noqa: E731
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(args.n):
        text = " ".join(rng.choice(WORDS, args.prompt_words))
        prompt = f"Classify the emotion of the text.\nText: {text}\nEmotion:"
        examples.append(SFTExample(enc(prompt), enc(f" {rng.choice(LABELS)}\n")))
    cfg = SFTConfig(r=args.r, epochs=1, batch_size=args.batch_size, grad_accum=args.grad_accum)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = train_lora(backend.model, examples, out, cfg, pad_id=tok.pad_token_id or 0, progress=False)
        wall = time.perf_counter() - t0
    n_lora = sum(p.numel() for p in res.model.parameters() if p.requires_grad)
    figures = {
        "model": args.model, "dtype": backend.info.dtype, "threads": torch.get_num_threads(),
        "n_examples": res.n_examples, "tokens_per_example": round(res.n_tokens / res.n_examples, 1),
        "answer_tokens": res.n_answer_tokens, "lora_r": args.r, "lora_parameters": int(n_lora),
        "batch": f"{args.batch_size}x{args.grad_accum}", "optimizer_steps": len(res.step_losses),
        "train_seconds": round(res.train_seconds, 2), "wall_seconds": round(wall, 2),
        "train_tokens_per_second": round(res.tokens_per_second, 1),
        "peak_rss_mb_after_load": round(rss_loaded), "peak_rss_mb_after_training": round(peak_rss_mb()),
    }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
