#!/bin/sh
# Regenerate the build system: ./autogen.sh && ./configure && make
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf -fi
# make check drives every test through automake's TAP driver.
for d in /usr/share/automake-*; do
  if [ -f "$d/tap-driver.sh" ]; then
    cp -f "$d/tap-driver.sh" build-aux/tap-driver.sh
    break
  fi
done
test -f build-aux/tap-driver.sh || { echo "autogen.sh: automake's tap-driver.sh not found" >&2; exit 1; }
