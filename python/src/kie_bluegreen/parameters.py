"""The parameter schema the runner shares with the Jenkins steps.

resources/kie-bluegreen/parameters.json (in the package through the library_resources link)
defines the versions and names both sides accept and the exit-code table; the steps read the
same file with libraryResource, so a value the runner refuses is refused by the steps before
they take a lock or an agent.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def schema() -> dict:
    path = resources.files("kie_bluegreen") / "library_resources" / "parameters.json"
    return json.loads(path.read_text(encoding="utf-8"))


def pattern(name: str) -> re.Pattern:
    """The pattern of a value, to be matched against the whole value (fullmatch)."""
    return re.compile(schema()["values"][name]["pattern"])


def rule(name: str) -> str:
    """What the value must look like, in words."""
    return schema()["values"][name]["rule"]


def name_budget() -> int:
    """How many characters app and stage may have together."""
    return int(schema()["nameBudget"])


def exit_codes() -> dict[int, str]:
    """The runner's exit codes and their meaning."""
    return {int(code): meaning for code, meaning in schema()["exitCodes"].items()}
