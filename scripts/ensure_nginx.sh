#!/usr/bin/env bash
# Install Debian's nginx for the shared stack (scripts/serve.sh) when it is missing and we may: only
# as root, only with apt-get. Otherwise say what to do (serve.sh then stops with the same advice).
set -euo pipefail

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing nginx for the shared stack"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # policy-rc.d exit 101: Debian's package would otherwise start its own nginx on port 80.
  made=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq nginx >/dev/null || status=$?
  [ "$made" = 0 ] || rm -f /usr/sbin/policy-rc.d
  exit "${status:-0}"
else
  echo "note: nginx is missing; install it with: sudo apt-get install nginx" >&2
fi
