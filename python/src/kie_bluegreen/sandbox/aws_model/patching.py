"""Replace attributes of moto's classes and put the originals back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass
class Patch:
    owner: Any  # a class
    name: str
    replacement: Any
    original: Any = _MISSING

    def apply(self) -> None:
        self.original = self.owner.__dict__.get(self.name, _MISSING)
        setattr(self.owner, self.name, self.replacement)

    def undo(self) -> None:
        if self.original is _MISSING:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self.original)


def original(owner: Any, name: str) -> Any:
    """The attribute as the class defines it now (call before patching, keep the result)."""
    return owner.__dict__[name]
