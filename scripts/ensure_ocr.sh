#!/usr/bin/env bash
# Install Debian's Tesseract (tesseract-ocr with English data) for OCR of scanned PDFs when it
# is missing and we may: only as root, only with apt-get. Otherwise say what to do; scanned
# PDFs are then reported as failed with the same install command.
set -euo pipefail

if command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx eng; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing tesseract-ocr and tesseract-ocr-eng for OCR of scanned PDFs"
  # Wait for another apt run (a parallel set-up) instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null
else
  echo "note: Tesseract is missing; scanned PDFs cannot be read (they are reported as failed)." >&2
  echo "      Install it with: sudo apt-get install tesseract-ocr tesseract-ocr-eng" >&2
fi
