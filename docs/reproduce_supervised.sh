#!/usr/bin/env bash
# Table 2 with the supervised rows (linear probe, fine-tuned and frozen MiniLM, LoRA SFT) beside the
# zero-shot methods, on the datasets here that have annotator distributions (LeWiDi, VADER, ChaosNLI).
#   bash docs/reproduce_supervised.sh   # after `bash install.sh`; about an hour on 2 cores (68 min measured,
#                                       # 2026-12-01, including one restart; docs/results/supervised/README.md)
# Per dataset: the main test set rule (TEST_N items, seed 0), 10 demos, TRAIN_N train items to fit the probe
# and the encoders (a seeded sample, demos and test items left out, plus positives of any label the sample
# leaves short of 2), DEV_N dev items to choose on, SFT on SFT_N train items for one epoch (LoRA r=64).
# Rerunning resumes; nothing fitted is refitted.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${MODEL:-qwen2.5-0.5b}"
TEST_N="${TEST_N:-100}"
TRAIN_N="${TRAIN_N:-150}"
DEV_N="${DEV_N:-50}"
SFT_N="${SFT_N:-48}"
DATASETS="${DATASETS:-lewidi-hsbrexit-ml lewidi-convabuse-types lewidi-md vader-tweets chaosnli-snli}"
OUT="runs/supervised-$MODEL"
LD=.venv/bin/labeldist
for d in $DATASETS; do
  echo "== $d $(date +%T)" >&2
  $LD run --dataset "$d" --test-set main --n "$TEST_N" --seed 0 --shots 10 \
    --methods generation,probe,encoder,sft --train-n "$TRAIN_N" --dev-n "$DEV_N" --sft-train-n "$SFT_N" \
    --model "$MODEL" --out "$OUT/$d" --quiet
done
echo "== evaluate $(date +%T)" >&2
$LD evaluate "$OUT"/* --out docs/results/supervised --seed 0 --n-boot 1000
