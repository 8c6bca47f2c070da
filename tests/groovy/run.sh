#!/bin/sh
# Runs the Groovy tests of the Jenkins library (tests/groovy/*Test.groovy, JUnit 4) on Debian's
# groovy 2.4 (the Groovy of Jenkins pipelines), after checking that every src/ class, vars/*.groovy,
# job script and Jenkinsfile*.example compiles. Installs groovy and a JRE when missing.
# Exit code: 0 when everything passed, non-zero otherwise.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! command -v groovy >/dev/null 2>&1; then
    echo "tests/groovy: installing groovy and a JRE (Debian packages)" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends groovy default-jre-headless >/dev/null
fi

if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
    if [ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]; then
        JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
    else
        JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    fi
fi
export JAVA_HOME

cd "$root"
exec groovy -cp "$here:$here/stubs:$root/src" -Dkie.root="$root" "$here/RunTests.groovy"
