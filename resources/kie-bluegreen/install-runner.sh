#!/bin/sh
# Gets the kie-bluegreen runner on this agent; the Jenkins steps run it before their runner calls
# (through libraryResource + writeFile + sh). Idempotent and fast once installed.
#
# Safe by default: the runner comes from the Git repository of the library, at the tag of the
# library's version, by URL. Its name is never looked up on whatever package index the agent
# uses: anyone could publish a package of that name there (dependency confusion). An index is
# used only when one is named (KIE_BG_INDEX), and then the runner is fetched from it alone.
#
# Input, all from the environment (the steps set them with withEnv):
#   KIE_BG_HOME             work folder, e.g. .kie-bluegreen (created)
#   KIE_BG_SOURCE           where the runner comes from:
#                             git     pip install "kie-bluegreen @ git+$KIE_BG_GIT_URL@$KIE_BG_GIT_REF#subdirectory=python"
#                             wheel   the wheel KIE_BG_WHEEL (https:// URL or path on the agent); checked
#                                     against KIE_BG_WHEEL_SHA256 when given (always, for a URL)
#                             index   kie-bluegreen==$KIE_BG_LIBRARY_VERSION from the index KIE_BG_INDEX, no other
#                             runner  a runner already on the agent, KIE_BG_RUNNER: nothing is installed
#   KIE_BG_RUNNER           the runner command the steps will call (a path or a name on PATH)
#   KIE_BG_VENV             virtualenv folder for the install, e.g. .kie-bluegreen/venv-0.1.0
#   KIE_BG_LIBRARY_VERSION  version of the library, e.g. 0.1.0
#   KIE_BG_EXPECT_VERSION   when set: the version the installed runner must report
#   KIE_BG_PYTHON           Python to create the virtualenv with; default: the first of python3,
#                           python3.13, python3.12, python3.11, python3.10 that is 3.10 or newer
# pip reads its own settings (proxy, certificates, PIP_NO_INDEX, PIP_FIND_LINKS for the
# dependencies of a wheel on air-gapped agents) from pip.conf and PIP_* variables.
#
# The virtualenv is reused while the source is unchanged (kept in $KIE_BG_VENV/.kie-bluegreen-source).
# Exit codes: 0 runner ready, 2 missing prerequisite or failed install.
set -eu

say() {
    echo "kie-bluegreen: $*" >&2
}

fail() {
    say "$*"
    exit 2
}

mkdir -p "$KIE_BG_HOME"

# The Python to build the virtualenv with: 3.10 or newer.
pick_python() {
    for candidate in ${KIE_BG_PYTHON:-python3 python3.13 python3.12 python3.11 python3.10}; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    found=$(${KIE_BG_PYTHON:-python3} -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)
    fail "the runner needs Python 3.10 or newer on this agent; ${KIE_BG_PYTHON:-python3} is $found." \
         "Install one next to the system Python: Amazon Linux 2023: sudo dnf install python3.11 (python3 stays 3.9 there);" \
         "RHEL 9: sudo dnf install python3.11 (9.2+) or python3.12 (9.4+); Debian/Ubuntu: sudo apt-get install python3 python3-venv." \
         "The steps find python3.11 and python3.12 by themselves, or set KIE_BLUEGREEN_PYTHON to its path;" \
         "or install the runner on the agent image and pass runner: (or set KIE_BLUEGREEN_RUNNER)"
}

pip_install() {
    "$KIE_BG_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
}

sha256_of() {
    "$1" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$2"
}

# The pip arguments of the source, and a description of it that changes whenever the source does.
case "${KIE_BG_SOURCE:-}" in
    runner)
        described="" ;;
    git)
        [ -n "${KIE_BG_GIT_URL:-}" ] || fail "KIE_BG_GIT_URL is empty: set KIE_BLUEGREEN_REPOSITORY to the Git URL of the library"
        described="git+$KIE_BG_GIT_URL@$KIE_BG_GIT_REF" ;;
    wheel)
        case "$KIE_BG_WHEEL" in
            http://*|https://*) [ -n "${KIE_BG_WHEEL_SHA256:-}" ] || fail "the wheel $KIE_BG_WHEEL is downloaded: its SHA-256 must be given" ;;
        esac
        described="wheel $KIE_BG_WHEEL sha256:${KIE_BG_WHEEL_SHA256:-}" ;;
    index)
        described="index $KIE_BG_INDEX kie-bluegreen==$KIE_BG_LIBRARY_VERSION" ;;
    *)
        fail "KIE_BG_SOURCE must be git, wheel, index or runner, not '${KIE_BG_SOURCE:-}'" ;;
esac

if [ -n "$described" ]; then
    marker="$KIE_BG_VENV/.kie-bluegreen-source"
    if [ -x "$KIE_BG_VENV/bin/python" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$described" ]; then
        say "reusing the runner in $KIE_BG_VENV ($described)"
    else
        python=$(pick_python)
        # Everything that can be checked before building the virtualenv is checked first.
        case "$KIE_BG_SOURCE" in
            git)
                command -v git >/dev/null 2>&1 || fail "git is needed to install the runner from $KIE_BG_GIT_URL: install git on this agent"
                git ls-remote --exit-code "$KIE_BG_GIT_URL" "$KIE_BG_GIT_REF" >/dev/null 2>&1 ||
                    fail "$KIE_BG_GIT_REF is not in $KIE_BG_GIT_URL, or this agent cannot read that repository" \
                         "(the tag of a release is v<version>, see docs/versioning.md)" ;;
            wheel)
                wheel="$KIE_BG_WHEEL"
                case "$wheel" in
                    http://*|https://*|file://*)
                        mkdir -p "$KIE_BG_HOME/download"
                        wheel="$KIE_BG_HOME/download/$(basename "$KIE_BG_WHEEL")"
                        "$python" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
                            "$KIE_BG_WHEEL" "$wheel" || fail "could not download $KIE_BG_WHEEL" ;;
                esac
                [ -f "$wheel" ] || fail "the wheel $wheel is not on this agent"
                if [ -n "${KIE_BG_WHEEL_SHA256:-}" ]; then
                    actual=$(sha256_of "$python" "$wheel")
                    [ "$actual" = "$KIE_BG_WHEEL_SHA256" ] ||
                        fail "the wheel $KIE_BG_WHEEL has SHA-256 $actual, not the $KIE_BG_WHEEL_SHA256 given: not installed"
                fi ;;
        esac
        say "installing the runner into $KIE_BG_VENV from $described (with $python)"
        rm -rf "$KIE_BG_VENV"
        if ! "$python" -m venv "$KIE_BG_VENV"; then
            rm -rf "$KIE_BG_VENV"
            fail "'$python -m venv' failed: install the venv module (Debian/Ubuntu: python3-venv)"
        fi
        case "$KIE_BG_SOURCE" in
            git)
                pip_install "kie-bluegreen @ git+$KIE_BG_GIT_URL@$KIE_BG_GIT_REF#subdirectory=python" ||
                    { rm -rf "$KIE_BG_VENV"; fail "pip could not install the runner from $KIE_BG_GIT_URL at $KIE_BG_GIT_REF" \
                                                  "(can this agent reach the index for its dependencies?)"; } ;;
            wheel)
                pip_install "$wheel" ||
                    { rm -rf "$KIE_BG_VENV"; fail "pip could not install $wheel (its dependencies come from the index in pip.conf," \
                                                  "or PIP_NO_INDEX=1 with PIP_FIND_LINKS on air-gapped agents)"; } ;;
            index)
                # The runner itself from the named index alone: no pip.conf, no other index or
                # links; its dependencies then as pip is configured on this agent.
                download="$KIE_BG_HOME/download-index"
                rm -rf "$download"
                ( unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_NO_INDEX
                  PIP_CONFIG_FILE=/dev/null
                  export PIP_CONFIG_FILE
                  "$KIE_BG_VENV/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
                      --index-url "$KIE_BG_INDEX" --dest "$download" "kie-bluegreen==$KIE_BG_LIBRARY_VERSION" >&2 ) ||
                    { rm -rf "$KIE_BG_VENV"; fail "pip could not get kie-bluegreen==$KIE_BG_LIBRARY_VERSION from $KIE_BG_INDEX" \
                                                  "(pip.conf is not read for it: give certificates and proxies as PIP_CERT, HTTPS_PROXY)"; }
                pip_install "$download"/* ||
                    { rm -rf "$KIE_BG_VENV"; fail "pip could not install $(ls "$download") (its dependencies come from the index in pip.conf)"; } ;;
        esac
        if [ -n "${KIE_BG_EXPECT_VERSION:-}" ]; then
            installed=$("$KIE_BG_VENV/bin/python" -c 'import kie_bluegreen; print(kie_bluegreen.__version__)' 2>/dev/null || echo unknown)
            [ "$installed" = "$KIE_BG_EXPECT_VERSION" ] ||
                { rm -rf "$KIE_BG_VENV"; fail "installed runner $installed from $described, but the library is $KIE_BG_EXPECT_VERSION: not used"; }
        fi
        printf '%s\n' "$described" > "$marker"
    fi
fi

case "$KIE_BG_RUNNER" in
    */*) [ -f "$KIE_BG_RUNNER" ] && [ -x "$KIE_BG_RUNNER" ] ;;
    *) command -v "$KIE_BG_RUNNER" >/dev/null 2>&1 ;;
esac || fail "runner '$KIE_BG_RUNNER' not found on this agent"
say "runner $KIE_BG_RUNNER"
