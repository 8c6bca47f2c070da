#!/bin/sh
# Gets the kie-bluegreen runner on this agent; the Jenkins steps run it before every runner call
# (through libraryResource + writeFile + sh). Idempotent and fast once installed.
#
# Input, all from the environment (the steps set them with withEnv):
#   KIE_BG_HOME      work folder, e.g. .kie-bluegreen (created)
#   KIE_BG_RUNNER    the runner command the steps will call (a path or a name on PATH)
#   KIE_BG_PIP_SPEC  pip requirement to install, e.g. kie-bluegreen==0.1.0,
#                    git+https://git.example.com/ops/kie-bluegreen.git@v0.1.0#subdirectory=python
#                    or a local folder; empty = use a runner already installed on the agent
#   KIE_BG_VENV      virtualenv folder for the install, e.g. .kie-bluegreen/venv-0.1.0
#   KIE_BG_PYTHON    Python to create the virtualenv with (default python3, needs the venv module)
# pip reads its own settings from pip.conf and PIP_* variables (PIP_INDEX_URL, PIP_NO_DEPS, ...).
#
# The virtualenv is reused while KIE_BG_PIP_SPEC is unchanged (the spec is kept in
# $KIE_BG_VENV/.kie-bluegreen-spec). A moving spec (a branch) is not refreshed: pin a tag.
# Exit codes: 0 runner ready, 2 missing prerequisite or failed install.
set -eu

mkdir -p "$KIE_BG_HOME"

if [ -n "${KIE_BG_PIP_SPEC:-}" ]; then
    marker="$KIE_BG_VENV/.kie-bluegreen-spec"
    if [ -x "$KIE_BG_VENV/bin/python" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$KIE_BG_PIP_SPEC" ]; then
        echo "kie-bluegreen: reusing the runner in $KIE_BG_VENV ($KIE_BG_PIP_SPEC)" >&2
    else
        python="${KIE_BG_PYTHON:-python3}"
        if ! command -v "$python" >/dev/null 2>&1; then
            echo "kie-bluegreen: $python not found on this agent: install python3 (>= 3.10) and python3-venv," \
                 "or install the runner on the agent image and pass runner: (or set KIE_BLUEGREEN_RUNNER)" >&2
            exit 2
        fi
        echo "kie-bluegreen: installing $KIE_BG_PIP_SPEC into $KIE_BG_VENV" >&2
        rm -rf "$KIE_BG_VENV"
        if ! "$python" -m venv "$KIE_BG_VENV"; then
            echo "kie-bluegreen: '$python -m venv' failed: install python3-venv on this agent" >&2
            rm -rf "$KIE_BG_VENV"
            exit 2
        fi
        if ! "$KIE_BG_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$KIE_BG_PIP_SPEC" >&2; then
            echo "kie-bluegreen: pip could not install $KIE_BG_PIP_SPEC (check the index: pip.conf, PIP_INDEX_URL," \
                 "or pass runnerSpec:)" >&2
            rm -rf "$KIE_BG_VENV"
            exit 2
        fi
        printf '%s\n' "$KIE_BG_PIP_SPEC" > "$marker"
    fi
fi

case "$KIE_BG_RUNNER" in
    */*) [ -f "$KIE_BG_RUNNER" ] && [ -x "$KIE_BG_RUNNER" ] ;;
    *) command -v "$KIE_BG_RUNNER" >/dev/null 2>&1 ;;
esac || {
    echo "kie-bluegreen: runner '$KIE_BG_RUNNER' not found on this agent" >&2
    exit 2
}
echo "kie-bluegreen: runner $KIE_BG_RUNNER" >&2
