#!/usr/bin/env bash
# Reproduce docs/results/: a Table-2-style alignment table for the default model on every
# dataset family present on this machine (the paper's main test set rule, 100 items each,
# seed 0, 10 demos from each train split, all zero-shot and breakdown methods).
#   bash docs/reproduce.sh            # after `bash install.sh`; ~30 min on 2 CPU cores
# Rerunning resumes finished runs; evaluation is deterministic (bootstrap seed 0).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${MODEL:-qwen2.5-0.5b}"
N="${N:-100}"
DATASETS="${DATASETS:-goemotions semeval2018-ec lewidi-hsbrexit-ml lewidi-convabuse-types lewidi-varierrnli vader-tweets chaosnli-snli dynasent-r1 lewidi-md lewidi-csc}"
OUT="runs/repro-$MODEL"
for d in $DATASETS; do
  echo "== $d" >&2
  .venv/bin/labeldist run --dataset "$d" --test-set main --n "$N" --seed 0 --shots 10 \
    --methods generation,unary,binary --model "$MODEL" --out "$OUT/$d" --quiet
done
.venv/bin/labeldist evaluate "$OUT"/* --out docs/results --seed 0 --n-boot 1000
