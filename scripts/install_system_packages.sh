#!/usr/bin/env bash
# System packages geoplan needs besides Python ones (Debian/Ubuntu):
#   fonts-noto-cjk  Chinese text on maps and printed PDFs
#   poppler-utils   pdftoppm/pdftotext, to look at and test generated PDFs
#   chromium        headless browser for HTML-map tests and screenshots
#   gcc python3-dev compiler and headers for geoplan's two compiled kernels, zonal sums and snapping
#                   (setup.py; without them pip installs geoplan with their slower numpy versions)
# Skips apt entirely when everything is already installed, so re-runs are fast.
set -euo pipefail
packages=(fonts-noto-cjk poppler-utils chromium gcc python3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${packages[*]}"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "error: apt-get not found; install these packages with your system's package manager: ${missing[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fc-list :lang=zh | grep -qi "Noto Sans CJK" || { echo "error: Noto CJK fonts did not install" >&2; exit 1; }
echo "installed: ${missing[*]}"
