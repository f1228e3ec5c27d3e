#!/usr/bin/env bash
# Start Change Guide: set up .venv if needed, build the starter library's index on the first
# run, then serve the app (default http://127.0.0.1:8501). Later runs skip straight to serving.
# Settings come from CHANGEGUIDE_* variables (see docs/app.md), e.g.
#   CHANGEGUIDE_INDEX__DIR=/srv/changeguide/index CHANGEGUIDE_APP__ADDRESS=0.0.0.0 make run
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
# OCR of scanned PDFs needs Tesseract; installs it when root, else prints the command (never fails).
bash scripts/ensure_ocr.sh || true

settings=$(.venv/bin/python -m rag.app.launch)
eval "$settings"

if [ "$INDEX_READY" != 1 ]; then
  echo "==> building the index of the starter library (corpus/) in $INDEX_DIR; this happens once"
  # corpus/.changeguideignore keeps the catalogue (corpus/README.md) out of the library.
  # Exit 1 means some files failed (listed above); the app still starts with the rest.
  .venv/bin/python -m rag ingest corpus --index "$INDEX_DIR" || [ $? -eq 1 ]
fi

# With sign-in configured, launch wrote Streamlit's [auth] secrets into the data folder; Streamlit
# reads its usual secrets files first, then that one (later files win).
secrets=()
if [ -n "$SECRETS_FILE" ]; then
  secrets=(--secrets.files "$HOME/.streamlit/secrets.toml" --secrets.files "$PWD/.streamlit/secrets.toml"
           --secrets.files "$SECRETS_FILE")
  echo "==> sign-in with the identity provider is on (CHANGEGUIDE_APP__OIDC__*)"
fi

echo "==> Change Guide: open $OPEN_URL in your browser (Ctrl+C stops it)"
exec .venv/bin/python -m streamlit run app.py \
  --server.address "$ADDRESS" \
  --server.port "$PORT" \
  --server.headless true \
  --server.maxUploadSize "$MAX_UPLOAD_MB" \
  --browser.gatherUsageStats false \
  "${secrets[@]}"
