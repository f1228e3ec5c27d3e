#!/usr/bin/env bash
# Create .venv and install Change Guide into it, once. Re-runs are quick: pip runs again only
# when pyproject.toml changes. torch==2.13.0 goes first: it is the CPU build on this machine's
# disk, and any looser requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ]; then
  echo "==> installing Change Guide and its dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet "torch==2.13.0" -e ".[dev,openai,ollama]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
