#!/usr/bin/env bash
# ensure-chromium.sh: make sure Debian's Chromium is at /usr/bin/chromium for
# the Web UI browser test (e2e/ui_test.go). Order: already installed →
# install Debian's chromium with apt-get (root only, one retry) → stop with
# exact instructions. Never downloads a browser from outside the package
# registry (no chromedp or puppeteer downloads).
set -euo pipefail
bin=/usr/bin/chromium

if [ -x "$bin" ]; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  # Without recommends: they add systemd, udev, avahi, samba and cups helpers
  # (about 125 packages instead of 25) that a headless browser never uses.
  apt_install() {
    apt-get update -qq &&
      apt-get install -y -qq -o DPkg::Lock::Timeout=120 --no-install-recommends chromium >/dev/null
  }
  for attempt in 1 2; do
    echo "ensure-chromium: installing chromium with apt-get (attempt $attempt)" >&2
    if apt_install && [ -x "$bin" ]; then exit 0; fi
    sleep 2
  done
  echo "ensure-chromium: apt-get could not install chromium" >&2
fi

cat >&2 <<MSG
ensure-chromium: $bin is missing and I cannot install it (apt-get as root only).
Do this, then run the command again:
  - Debian:    sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium
  - elsewhere: run \`make test\` in a Debian container; the UI test needs Debian's browser at $bin
               (locally, without CI=true, it skips when that file is missing)
MSG
exit 1
