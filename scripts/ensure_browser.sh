#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for the browser test (tests/app/test_browser.py)
# when they are missing and we may: only as root, only with apt-get. Otherwise say what to do;
# the browser test then skips itself.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing chromium and chromium-driver for the browser test"
  # Wait for another apt run (a parallel set-up) instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium chromium-driver >/dev/null
else
  echo "note: /usr/bin/chromium or /usr/bin/chromedriver is missing; the browser test will be skipped." >&2
  echo "      Install them with: sudo apt-get install chromium chromium-driver" >&2
fi
