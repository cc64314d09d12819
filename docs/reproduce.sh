#!/usr/bin/env bash
# Reproduce docs/results/: a Table-2-style alignment table for the default model on every
# dataset family present on this machine (the paper's main test set rule, 100 items each,
# seed 0, 10 demos from each train split, each dataset's prompt preset, all zero-shot and
# breakdown methods, answers under the answer grammar; the marginal search on two content sets),
# and beside it the same generation
# methods with the paper's free decoding.
#   bash docs/reproduce.sh            # after `bash install.sh`; about an hour on 2 CPU cores
# Rerunning resumes finished runs; evaluation is deterministic (bootstrap seed 0).
# Two more recipes: docs/calibrate.sh (calibrated rows on dev splits) and docs/reproduce_supervised.sh
# (Table 2's supervised rows: probe, encoder, LoRA SFT; about an hour more).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${MODEL:-qwen2.5-0.5b}"
N="${N:-100}"
DATASETS="${DATASETS:-goemotions semeval2018-ec lewidi-hsbrexit-ml lewidi-convabuse-types lewidi-varierrnli vader-tweets chaosnli-snli dynasent-r1 lewidi-md lewidi-csc}"
OUT="runs/repro-$MODEL"
LD=.venv/bin/labeldist
MARGINAL="${MARGINAL:-lewidi-convabuse-types lewidi-hsbrexit-ml}"  # + the marginal search (issue 14's two sets)
for d in $DATASETS; do
  echo "== $d (constrained)" >&2
  methods=generation,unary,binary
  case " $MARGINAL " in *" $d "*) methods="$methods,marginal" ;; esac
  $LD run --dataset "$d" --test-set main --n "$N" --seed 0 --shots 10 \
    --methods "$methods" --model "$MODEL" --out "$OUT/$d" --quiet
done
for d in $DATASETS; do  # breakdown methods do not depend on the decoding: generation only
  echo "== $d (free decoding)" >&2
  $LD run --dataset "$d" --test-set main --n "$N" --seed 0 --shots 10 --decoding free \
    --methods generation --model "$MODEL" --out "$OUT-free/$d" --quiet
done
$LD evaluate "$OUT"/* --out docs/results --seed 0 --n-boot 1000
$LD evaluate "$OUT-free"/* --out docs/results/free-decoding --seed 0 --n-boot 1000 --no-plots
.venv/bin/python docs/summarize_runs.py "$OUT" "$OUT-free" > docs/results/runs.md
$LD report "$OUT"/* --out "$OUT/report.html"  # 2.6 MB of embedded figures: regenerated, not committed
