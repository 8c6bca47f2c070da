"""The runner install script the Jenkins steps run on an agent (resources/kie-bluegreen/install-runner.sh).

Runs it for real, as the steps do (`sh install-runner.sh` with KIE_BG_* in the environment), in a
temporary workspace. The local python/ folder is the pip spec and PIP_NO_DEPS=1 keeps it fast.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "resources" / "kie-bluegreen" / "install-runner.sh"
VERSION = re.search(r'(?m)^version\s*=\s*"([^"]+)"', (ROOT / "python" / "pyproject.toml").read_text()).group(1)


def install(workspace, **env):
    """Runs the script in workspace as the steps do; returns the completed process."""
    base = {
        "KIE_BG_HOME": ".kie-bluegreen",
        "KIE_BG_VENV": f".kie-bluegreen/venv-{VERSION}",
        "KIE_BG_RUNNER": f".kie-bluegreen/venv-{VERSION}/bin/kie-bluegreen",
        "KIE_BG_PIP_SPEC": str(ROOT / "python"),
        "KIE_BG_PYTHON": sys.executable,
        "PIP_NO_DEPS": "1",
    }
    full = {k: v for k, v in os.environ.items() if not k.startswith("KIE_BG_")}
    full.update(base)
    full.update(env)
    return subprocess.run(["sh", str(SCRIPT)], cwd=workspace, env=full, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("workspace")
    first = install(workspace)
    return workspace, first


def test_installs_the_runner_of_the_library_version_into_the_workspace(installed):
    workspace, first = installed
    assert first.returncode == 0, first.stderr
    venv = workspace / ".kie-bluegreen" / f"venv-{VERSION}"
    assert os.access(venv / "bin" / "kie-bluegreen", os.X_OK)
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import kie_bluegreen; print(kie_bluegreen.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == VERSION
    assert (venv / ".kie-bluegreen-spec").read_text().strip() == str(ROOT / "python")


def test_a_second_call_reuses_the_virtualenv(installed):
    workspace, _ = installed
    sentinel = workspace / ".kie-bluegreen" / f"venv-{VERSION}" / "sentinel"
    sentinel.write_text("still here")
    again = install(workspace)
    assert again.returncode == 0, again.stderr
    assert "reusing the runner" in again.stderr
    assert sentinel.exists()


def test_another_spec_reinstalls(installed):
    workspace, _ = installed
    sentinel = workspace / ".kie-bluegreen" / f"venv-{VERSION}" / "sentinel"
    sentinel.write_text("old install")
    other = install(workspace, KIE_BG_PIP_SPEC=str(ROOT / "python") + "/")
    assert other.returncode == 0, other.stderr
    assert "installing" in other.stderr
    assert not sentinel.exists()
    assert os.access(workspace / ".kie-bluegreen" / f"venv-{VERSION}" / "bin" / "kie-bluegreen", os.X_OK)


def test_a_runner_on_the_agent_is_used_without_installing(tmp_path):
    runner = tmp_path / "opt" / "kie-bluegreen"
    runner.parent.mkdir()
    runner.write_text("#!/bin/sh\n")
    runner.chmod(0o755)
    done = install(tmp_path, KIE_BG_PIP_SPEC="", KIE_BG_RUNNER=str(runner))
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / ".kie-bluegreen" / f"venv-{VERSION}").exists()
    assert (tmp_path / ".kie-bluegreen").is_dir()


def test_a_missing_runner_on_the_agent_is_reported(tmp_path):
    done = install(tmp_path, KIE_BG_PIP_SPEC="", KIE_BG_RUNNER="/nonexistent/kie-bluegreen")
    assert done.returncode == 2
    assert "runner '/nonexistent/kie-bluegreen' not found on this agent" in done.stderr


def test_a_missing_python_is_reported_with_the_prerequisites(tmp_path):
    done = install(tmp_path, KIE_BG_PYTHON="/nonexistent/python3")
    assert done.returncode == 2
    assert "install python3 (>= 3.10) and python3-venv" in done.stderr
    assert not (tmp_path / ".kie-bluegreen" / f"venv-{VERSION}").exists()


def test_a_spec_pip_cannot_install_leaves_no_half_virtualenv(tmp_path):
    done = install(tmp_path, KIE_BG_PIP_SPEC=str(tmp_path / "no-such-project"))
    assert done.returncode == 2
    assert "pip could not install" in done.stderr
    assert not (tmp_path / ".kie-bluegreen" / f"venv-{VERSION}").exists()
