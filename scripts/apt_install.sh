#!/usr/bin/env bash
# Install Debian packages a make target needs, when this machine allows it; otherwise say why and go on.
#   scripts/apt_install.sh <what for> <file present once installed> <package>...
# Why one script: the browser test (chromium) and the French → English dictionary (FreeDict) both come
# from Debian's registry, need root (or password-less sudo) and apt-get, and must not stop `make` where
# those are missing (the browser test is then skipped, the dictionary lever translates nothing).
set -uo pipefail
purpose=$1 present=$2
shift 2
if [ -e "$present" ]; then
  echo "$purpose: present ($present)"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "$purpose: no apt-get here: $* not installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "$purpose: not root and no password-less sudo: $* not installed"
    exit 0
  fi
fi
$SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
  || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; } \
  || echo "$purpose: apt-get could not install $*"
[ -e "$present" ] && echo "$purpose: installed ($*)"
exit 0
