#!/usr/bin/env bash
# Calibration on the reproduction's datasets that have a dev split and annotators: for each, a dev run
# with the reproduction's config (100 dev items, 60 for ConvAbuse types; seed 0, 10 demos; only --split /
# --n differ), then
# `labeldist calibrate` (the 5-fold CV dev-NLL rule picks none / temperature / platt / isotonic per
# method, thresholds by dev F1) and `labeldist evaluate` of the reproduction's test run with it:
# raw vs calibrated NLL, L1 and ECE per method, with intervals, in docs/results/calibration.
#   bash docs/calibrate.sh     # after docs/reproduce.sh; about 20 minutes on 2 CPU cores
# The calibration directories go to runs/calibration-$MODEL/<dataset> (not into the test runs, so
# docs/reproduce.sh's raw table stays raw). Rerunning resumes the dev runs.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${MODEL:-qwen2.5-0.5b}"
DATASETS="${DATASETS:-lewidi-hsbrexit-ml lewidi-varierrnli lewidi-md lewidi-convabuse-types}"
MARGINAL="${MARGINAL:-lewidi-convabuse-types lewidi-hsbrexit-ml}"  # as in docs/reproduce.sh
RUNS="runs/repro-$MODEL"
CAL="runs/calibration-$MODEL"
LD=.venv/bin/labeldist
for d in $DATASETS; do
  echo "== $d (dev run)" >&2
  methods=generation,unary,binary
  case " $MARGINAL " in *" $d "*) methods="$methods,marginal" ;; esac
  n=100
  [ "$d" = lewidi-convabuse-types ] && n=60  # 7 labels + the marginal search: a dev item costs about 4x
  $LD run --dataset "$d" --split dev --n "$n" --seed 0 --shots 10 \
    --methods "$methods" --model "$MODEL" --out "$CAL/$d-dev" --quiet
  extra=()
  # ConvAbuse's 'ableist' has no dev item with q > 0 among these 60: per-label Platt / isotonic and
  # thresholds cannot be fitted (calibrate refuses, one line); temperature (per method) still can
  [ "$d" = lewidi-convabuse-types ] && extra=(--calibrator temperature --no-thresholds)
  $LD calibrate "$RUNS/$d" --dev-run "$CAL/$d-dev" --out "$CAL/$d" --seed 0 "${extra[@]}" > "$CAL/$d.calibrate.txt"
done
for d in $DATASETS; do
  $LD evaluate "$RUNS/$d" --calibration "$CAL/$d" --out "docs/results/calibration/$d" --seed 0 --n-boot 1000
done
# the calibrations record their dev run's absolute path; the committed tables name it from the checkout
sed -i "s#$PWD/##g" docs/results/calibration/*/table.md docs/results/calibration/*/results.json
