#!/usr/bin/env bash
# Run the whole test suite (after scripts/bootstrap.sh). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
.venv/bin/ruff check .
bash scripts/ensure_browser.sh
bash scripts/ensure_nginx.sh  # the shared stack's end-to-end test (tests/app/test_serve_e2e.py)
bash scripts/ensure_ocr.sh
exec .venv/bin/python -m pytest "$@"
