#!/bin/sh
# Rebuild the development benchmark from public Debian packages, without root:
#   scripts/make-dev-bench.sh OUT_DIR
# downloads tuxpaint-stamps-default and openclipart-png (about 290 MB) with apt-get download,
# unpacks them with dpkg -x into a temporary folder, and runs `copywatch bench make-dev`.
set -eu
out=${1:?usage: scripts/make-dev-bench.sh OUT_DIR}
copywatch=${COPYWATCH:-.venv/bin/copywatch}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download tuxpaint-stamps-default openclipart-png)
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
"$copywatch" bench make-dev --packages "$work/root" --out "$out"
