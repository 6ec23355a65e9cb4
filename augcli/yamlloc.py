"""Safe YAML loading that remembers where every value came from, so errors can say file:line:col."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """A place in a recipe file (1-based line and column, as editors show them)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


def format_path(path: YamlPath) -> str:
    """`augment[1].OneOf.transforms[0]`: the path as a user reads it in the YAML."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


@dataclass
class LoadedYaml:
    """The document's data plus a location for every key and value in it."""

    data: Any
    locations: dict[YamlPath, Location]
    duplicates: list[tuple[YamlPath, Location]]


def load_yaml(text: str, file: str) -> LoadedYaml:
    """Parse with the safe loader only; raise yaml.YAMLError (with marks) on syntax errors."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LoadedYaml(None, {}, [])
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    locations: dict[YamlPath, Location] = {}
    duplicates: list[tuple[YamlPath, Location]] = []
    _walk(node, (), file, locations, duplicates)
    return LoadedYaml(data, locations, duplicates)


def _loc(node: yaml.Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(
    node: yaml.Node,
    path: YamlPath,
    file: str,
    locations: dict[YamlPath, Location],
    duplicates: list[tuple[YamlPath, Location]],
) -> None:
    locations.setdefault(path, _loc(node, file))
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, key)
            if key in seen:
                duplicates.append((child, _loc(key_node, file)))
            seen.add(key)
            # A key's own position is where the user looks first; its value's position is
            # kept under the same path only when the key is absent (never, for mappings).
            locations[child] = _loc(key_node, file)
            _walk(value_node, child, file, locations, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), file, locations, duplicates)


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")
