"""The shape the code keeps: the runner's core never imports the sandbox (it must run against a
real AWS alone), and only aws/ talks to boto3."""

from __future__ import annotations

import ast
import pathlib

import kie_bluegreen

PACKAGE = pathlib.Path(kie_bluegreen.__file__).parent
# Commands that start the sandbox or probe traffic: they may use it; nothing else may.
SANDBOX_USERS = {"cli.py"}


def imports(path: pathlib.Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}
    return found


def core_files():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("sandbox", "probe") or relative.name in SANDBOX_USERS:
            continue
        yield relative, path


def test_no_core_module_imports_the_sandbox():
    offenders = {
        str(relative): sorted(name for name in imports(path) if name.startswith("kie_bluegreen.sandbox"))
        for relative, path in core_files()
    }
    assert {file: names for file, names in offenders.items() if names} == {}


def test_only_the_aws_package_imports_boto():
    offenders = {
        str(relative): sorted(name for name in imports(path) if name.split(".")[0] in ("boto3", "botocore"))
        for relative, path in core_files()
        if relative.parts[0] != "aws"
    }
    assert {file: names for file, names in offenders.items() if names} == {}


def test_the_planner_makes_no_aws_call():
    names = imports(PACKAGE / "planner.py")
    assert not [
        name
        for name in names
        if name.startswith(("kie_bluegreen.aws.api", "kie_bluegreen.context", "kie_bluegreen.executor", "boto"))
    ]


def test_the_demo_drives_the_commands_without_the_command_line():
    """The command line registers the demo: the demo calls the commands through commands.run."""
    assert not [name for name in imports(PACKAGE / "sandbox" / "demo.py") if name.startswith("kie_bluegreen.cli")]


def test_command_modules_are_named_one_way():
    """A module that adds commands to the command line is the runner's commands.py or a
    package's command.py, so the next engineer finds every command in the same place."""
    registering = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if ".add_parser(" in path.read_text(encoding="utf-8")
    }
    assert {
        name for name in registering if name not in ("commands.py", "cli.py") and not name.endswith("/command.py")
    } == set()
