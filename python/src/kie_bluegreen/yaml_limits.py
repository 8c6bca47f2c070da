"""Limits that keep a hostile YAML file from exhausting memory or time.

PyYAML's SafeLoader builds aliases as shared references, so a "billion laughs" document loads in
milliseconds; the damage comes later, when anything walks or prints the value (an error message
that shows `got [...]` would render all of it). So the composed node graph is measured before
anything is constructed: every node counts once per path that reaches it (an alias counts as
often as it is used) and a scalar also counts its length. A real stage file costs a few
thousand; a file of plain scalars costs about its size in bytes.
"""

from __future__ import annotations

import yaml

from .errors import ConfigError

MAX_EXPANDED_COST = 2_000_000


class ExpansionLimitedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses documents whose aliases expand beyond MAX_EXPANDED_COST or
    refer to themselves."""

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            check_expansion(node)
        return node


def check_expansion(root: yaml.Node, limit: int = MAX_EXPANDED_COST) -> int:
    """The expanded cost of the document; ConfigError past `limit` or on a recursive alias.
    Iterative, with each shared node measured once, so the check itself is linear in the file."""
    cost: dict[int, int] = {}
    started: set[int] = set()  # nodes being measured: the ancestors of the current one
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            started.discard(key)
            total = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
            total += sum(cost[id(child)] for child in _children(node))
            if total > limit:
                raise ConfigError(
                    f"line {node.start_mark.line + 1}: with its anchors and aliases expanded this document"
                    f" exceeds {limit} values and characters (a stage configuration is a few hundred)"
                )
            cost[key] = total
            continue
        if key in cost:
            continue
        if key in started:
            raise ConfigError(f"line {node.start_mark.line + 1}: an alias refers to the value that contains it")
        started.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in cost)
    return cost[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
