"""The runner install script the Jenkins steps run on an agent (resources/kie-bluegreen/install-runner.sh).

Runs it for real, as the steps do (`sh install-runner.sh` with KIE_BG_* in the environment), in a
temporary workspace, against a local Git repository of this project tagged like a release, a
wheel built from python/, and local package indexes. PIP_NO_DEPS=1 keeps it fast (the runner's
dependencies are the test environment's).

The point of the default (git) source: the runner comes from the library's repository at the
library's tag, and an index that offers a package of the same name is never asked for it.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "resources" / "kie-bluegreen" / "install-runner.sh"
VERSION = re.search(r'(?m)^version\s*=\s*"([^"]+)"', (ROOT / "python" / "pyproject.toml").read_text()).group(1)
VENV = f".kie-bluegreen/venv-{VERSION}"


def install(workspace, **env):
    """Runs the script in workspace as the steps do; returns the completed process."""
    base = {
        "KIE_BG_HOME": ".kie-bluegreen",
        "KIE_BG_VENV": VENV,
        "KIE_BG_RUNNER": f"{VENV}/bin/kie-bluegreen",
        "KIE_BG_LIBRARY_VERSION": VERSION,
        "KIE_BG_PYTHON": sys.executable,
        "PIP_NO_DEPS": "1",
    }
    full = {k: v for k, v in os.environ.items() if not k.startswith("KIE_BG_")}
    full.update(base)
    full.update(env)
    return subprocess.run(["sh", str(SCRIPT)], cwd=workspace, env=full, capture_output=True, text=True, timeout=600)


def installed_version(workspace) -> str:
    return subprocess.run([str(Path(workspace) / VENV / "bin" / "python"), "-c",
                           "import kie_bluegreen; print(kie_bluegreen.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args], cwd=cwd,
                   check=True, capture_output=True)


def git_url(path: Path) -> str:
    """file://localhost/...: a URL with a host, as PEP 508 direct references need (git+https:// in real use)."""
    return "file://localhost" + str(path)


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A Git repository shaped like the library's: python/ at the root, tagged v<version>."""
    repo = tmp_path_factory.mktemp("kie-bluegreen-repo")
    shutil.copytree(ROOT / "python", repo / "python", symlinks=False,
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "release")
    _git(repo, "tag", f"v{VERSION}")
    return repo


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT / "python"), "-w", str(out)],
                   check=True, capture_output=True, timeout=600)
    return next(out.glob("kie_bluegreen-*.whl"))


def fake_wheel(directory: Path, version_text: str) -> Path:
    """A wheel named kie-bluegreen whose package says version_text: what an attacker would publish."""
    project = directory / "project"
    (project / "kie_bluegreen").mkdir(parents=True)
    (project / "kie_bluegreen" / "__init__.py").write_text(f'__version__ = "{version_text}"\n')
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "kie-bluegreen"\nversion = "{VERSION}"\n'
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n')
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(project), "-w", str(directory)],
                   check=True, capture_output=True, timeout=600)
    return next(directory.glob("kie_bluegreen-*.whl"))


def simple_index(directory: Path, *files: Path) -> str:
    """A PEP 503 index (file://) offering the given wheels."""
    projects: dict[str, list[Path]] = {}
    for file in files:
        projects.setdefault(file.name.split("-")[0].lower().replace("_", "-"), []).append(file)
    for project, wheels in projects.items():
        page = directory / "simple" / project
        page.mkdir(parents=True)
        for file in wheels:
            shutil.copy(file, page / file.name)
        links = "".join(f'<a href="{file.name}">{file.name}</a>' for file in wheels)
        (page / "index.html").write_text(f"<html><body>{links}</body></html>\n")
    links = "".join(f'<a href="{project}/">{project}</a>' for project in projects)
    (directory / "simple" / "index.html").write_text(f"<html><body>{links}</body></html>\n")
    return (directory / "simple").as_uri()


@pytest.fixture(scope="module")
def build_tools(tmp_path_factory):
    """setuptools, which building the runner from its sources needs, fetched as pip is configured here."""
    out = tmp_path_factory.mktemp("build-tools")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                    "setuptools>=68", "-d", str(out)], check=True, capture_output=True, timeout=600)
    return list(out.glob("*.whl"))


@pytest.fixture(scope="module")
def evil_wheel(tmp_path_factory):
    """A kie-bluegreen of the library's version that is not the library's runner (it says "evil")."""
    return fake_wheel(tmp_path_factory.mktemp("evil"), "evil")


@pytest.fixture(scope="module")
def evil_index(tmp_path_factory, build_tools, evil_wheel):
    """An index offering that package, and the build tools."""
    return simple_index(tmp_path_factory.mktemp("evil-index"), evil_wheel, *build_tools)


def test_by_default_the_runner_comes_from_the_library_repository_at_its_tag_not_from_an_index(
        tmp_path, repository, evil_index):
    # An index offering a package of the same name and version (dependency confusion) is configured.
    done = install(tmp_path, KIE_BG_SOURCE="git", KIE_BG_GIT_URL=git_url(repository), KIE_BG_GIT_REF=f"v{VERSION}",
                   KIE_BG_EXPECT_VERSION=VERSION, PIP_INDEX_URL=evil_index, PIP_EXTRA_INDEX_URL=evil_index)

    assert done.returncode == 0, done.stderr
    assert installed_version(tmp_path) == VERSION
    assert os.access(tmp_path / VENV / "bin" / "kie-bluegreen", os.X_OK)
    assert (tmp_path / VENV / ".kie-bluegreen-source").read_text().strip() == f"git+{git_url(repository)}@v{VERSION}"

    again = install(tmp_path, KIE_BG_SOURCE="git", KIE_BG_GIT_URL=git_url(repository), KIE_BG_GIT_REF=f"v{VERSION}",
                    KIE_BG_EXPECT_VERSION=VERSION)
    assert again.returncode == 0, again.stderr
    assert "reusing the runner" in again.stderr


def test_a_missing_tag_is_reported_and_leaves_no_half_virtualenv(tmp_path, repository):
    done = install(tmp_path, KIE_BG_SOURCE="git", KIE_BG_GIT_URL=git_url(repository), KIE_BG_GIT_REF="v99.0.0")

    assert done.returncode == 2
    assert f"v99.0.0 is not in {git_url(repository)}, or this agent cannot read that repository" in done.stderr
    assert not (tmp_path / VENV).exists()


def test_a_runner_of_another_version_than_the_library_is_not_used(tmp_path, evil_wheel):
    done = install(tmp_path, KIE_BG_SOURCE="wheel", KIE_BG_WHEEL=str(evil_wheel), KIE_BG_EXPECT_VERSION=VERSION)

    assert done.returncode == 2
    assert f"installed runner evil from wheel {evil_wheel}" in done.stderr and f"but the library is {VERSION}" in done.stderr
    assert not (tmp_path / VENV).exists()


def test_no_repository_configured_is_refused(tmp_path):
    done = install(tmp_path, KIE_BG_SOURCE="git", KIE_BG_GIT_URL="", KIE_BG_GIT_REF=f"v{VERSION}")

    assert done.returncode == 2
    assert "set KIE_BLUEGREEN_REPOSITORY to the Git URL of the library" in done.stderr


def test_a_wheel_is_installed_only_when_its_sha256_matches(tmp_path, wheel):
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    wrong = install(tmp_path, KIE_BG_SOURCE="wheel", KIE_BG_WHEEL=wheel.as_uri(), KIE_BG_WHEEL_SHA256="0" * 64)
    assert wrong.returncode == 2, wrong.stderr
    assert f"has SHA-256 {digest}, not the {'0' * 64} given: not installed" in wrong.stderr
    assert not (tmp_path / VENV).exists()

    right = install(tmp_path, KIE_BG_SOURCE="wheel", KIE_BG_WHEEL=wheel.as_uri(), KIE_BG_WHEEL_SHA256=digest,
                    KIE_BG_EXPECT_VERSION=VERSION)
    assert right.returncode == 0, right.stderr
    assert installed_version(tmp_path) == VERSION


def test_a_downloaded_wheel_needs_its_sha256(tmp_path):
    done = install(tmp_path, KIE_BG_SOURCE="wheel", KIE_BG_WHEEL="https://artifacts.example.com/kie_bluegreen.whl")

    assert done.returncode == 2
    assert "is downloaded: its SHA-256 must be given" in done.stderr


def test_a_named_index_is_the_only_one_asked(tmp_path, tmp_path_factory, wheel, evil_index):
    ours = simple_index(tmp_path_factory.mktemp("our-index"), wheel)

    done = install(tmp_path, KIE_BG_SOURCE="index", KIE_BG_INDEX=ours, KIE_BG_EXPECT_VERSION=VERSION,
                   PIP_INDEX_URL=evil_index, PIP_EXTRA_INDEX_URL=evil_index, PIP_FIND_LINKS="")

    assert done.returncode == 0, done.stderr
    assert installed_version(tmp_path) == VERSION


def test_a_too_old_python_is_reported_with_what_to_install(tmp_path):
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\n"
                   "case \"$*\" in *version_info\\ \\<*) exit 1 ;; *print*) echo 3.9 ;; esac\n")
    old.chmod(0o755)

    done = install(tmp_path, KIE_BG_SOURCE="git", KIE_BG_GIT_URL="file:///nowhere", KIE_BG_GIT_REF="v1",
                   KIE_BG_PYTHON=str(old))

    assert done.returncode == 2
    assert f"needs Python 3.10 or newer on this agent; {old} is 3.9" in done.stderr
    assert "Amazon Linux 2023: sudo dnf install python3.11" in done.stderr
    assert "RHEL 9: sudo dnf install python3.11 (9.2+) or python3.12 (9.4+)" in done.stderr
    assert not (tmp_path / VENV).exists()


def test_a_runner_on_the_agent_is_used_without_installing(tmp_path):
    runner = tmp_path / "opt" / "kie-bluegreen"
    runner.parent.mkdir()
    runner.write_text("#!/bin/sh\n")
    runner.chmod(0o755)
    done = install(tmp_path, KIE_BG_SOURCE="runner", KIE_BG_RUNNER=str(runner))
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / VENV).exists()
    assert (tmp_path / ".kie-bluegreen").is_dir()


def test_a_missing_runner_on_the_agent_is_reported(tmp_path):
    done = install(tmp_path, KIE_BG_SOURCE="runner", KIE_BG_RUNNER="/nonexistent/kie-bluegreen")
    assert done.returncode == 2
    assert "runner '/nonexistent/kie-bluegreen' not found on this agent" in done.stderr


def test_an_unknown_source_is_refused(tmp_path):
    done = install(tmp_path, KIE_BG_SOURCE="pypi")
    assert done.returncode == 2
    assert "KIE_BG_SOURCE must be git, wheel, index or runner, not 'pypi'" in done.stderr
