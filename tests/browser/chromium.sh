#!/bin/sh
# Prints the path of a headless-capable Chromium for the report page tests, installing Debian's
# `chromium` package (and a font, so screenshots show text) when none is there, as
# tests/groovy/run.sh installs groovy.
# Exit code: 0 with the path on stdout, non-zero when Chromium cannot be installed.
set -eu
find_chromium() {
    for name in chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if ! find_chromium >/dev/null; then
    echo "tests/browser: installing chromium (Debian package)" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
find_chromium
