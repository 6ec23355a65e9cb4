"""A recipe file and, through `extends`, the files under it: parsed, located, and merged into one mapping."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from augcli.errors import display_path
from augcli.recipe.presets import find_preset, unknown_preset_hint
from augcli.recipe.problems import Problem, Problems
from augcli.store import is_url, path_problem
from augcli.yamlloc import Location, YamlLimitError, YamlPath, describe_yaml_error, load_yaml


@dataclass
class Layer:
    """One file of an extends chain, as parsed."""

    file: Path
    data: dict[str, Any]
    locations: dict[YamlPath, Location]


def read_layers(
    path: Path, problems: list[Problem], seen: list[Path], via: Location | None = None
) -> list[Layer] | None:
    """Parse a recipe and, recursively, what it extends; base first. None when a file is unusable.

    `via` is the `extends:` line that named this file, where problems with the file itself are shown.
    """
    path = path.resolve()
    shown = display_path(path)
    if path in seen:
        cycle = " -> ".join(display_path(p) for p in [*seen, path])
        message = f"extends cycle: {cycle} (a recipe cannot extend itself, directly or through others)"
        problems.append(Problem("error", message, ("extends",), via, shown))
        return None
    layer = _parse(path, shown, problems, via)
    if layer is None:
        return None
    parent = layer.data.get("extends")
    if parent is None:
        return [layer]
    collect = Problems(layer.locations, shown)
    if not isinstance(parent, str):
        collect.add(("extends",), "extends takes a preset name or a path to a recipe")
        problems.extend(collect.items)
        return None
    parent_path = path.parent / parent
    too_long = path_problem(parent_path)
    if too_long is not None:
        collect.add(("extends",), too_long)
        problems.extend(collect.items)
        return None
    if not parent_path.is_file():
        preset = find_preset(parent)
        if preset is None:
            collect.add(("extends",), f"'{parent}' is neither a recipe file nor a preset{unknown_preset_hint(parent)}")
            problems.extend(collect.items)
            return None
        parent_path = preset
    base = read_layers(parent_path, problems, [*seen, path], collect.locate(("extends",)))
    return None if base is None else [*base, layer]


def _parse(path: Path, shown: str, problems: list[Problem], via: Location | None) -> Layer | None:
    """One file as a mapping with locations; its problems (unreadable, not UTF-8, bad YAML) appended."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem("error", f"cannot read recipe: {exc.strerror or exc}", (), via, shown))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", errors="replace")
        where = Location(shown, before.count("\n") + 1, len(before) - before.rfind("\n"))
        problems.append(Problem("error", "recipe is not UTF-8 text (save it as UTF-8)", (), where, shown))
        return None
    try:
        loaded = load_yaml(text, shown)
    except yaml.YAMLError as exc:
        what, loc = describe_yaml_error(exc, shown)
        kind = "YAML refused" if isinstance(exc, YamlLimitError) else "YAML syntax error"
        problems.append(Problem("error", f"{kind}: {what}", (), loc or Location(shown, 1, 1), shown))
        return None
    for dup_path, dup_loc, first in loaded.duplicates:
        key = dup_path[-1]
        message = f"duplicate key '{key}': it is already set on line {first.line} (only this later value would be used)"
        problems.append(Problem("error", message, dup_path, dup_loc, shown))
    if loaded.data is None:
        problems.append(Problem("error", "recipe is empty", (), Location(shown, 1, 1), shown))
        return None
    if not isinstance(loaded.data, dict):
        collect = Problems(loaded.locations, shown)
        collect.add((), f"a recipe is a mapping of keys (name, augment, ...), not a {type(loaded.data).__name__}")
        problems.extend(collect.items)
        return None
    return Layer(path, loaded.data, loaded.locations)


def _absolutise(layer: Layer) -> dict[str, Any]:
    """Resolve relative paths against the file that wrote them, so extends keeps them meaning the same."""
    data = dict(layer.data)
    if isinstance(data.get("input"), str) and not is_url(data["input"]):  # a URL means the same everywhere
        data["input"] = str((layer.file.parent / data["input"]).resolve())
    out = data.get("output")
    if isinstance(out, dict) and isinstance(out.get("path"), str) and not is_url(out["path"]):
        data["output"] = {**out, "path": str((layer.file.parent / out["path"]).resolve())}
    return data


def merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[YamlPath, Location]]:
    """Later files override earlier ones key by key; `output` merges field by field."""
    data: dict[str, Any] = {}
    locations: dict[YamlPath, Location] = {}
    for layer in layers:
        values = _absolutise(layer)
        for key, value in values.items():
            if key == "output" and isinstance(value, dict) and isinstance(data.get("output"), dict):
                data["output"] = {**data["output"], **value}
                for p, loc in layer.locations.items():
                    if p[:1] == ("output",):
                        locations[p] = loc
                continue
            data[key] = value
            for p in [p for p in locations if p[:1] == (key,)]:
                del locations[p]
            for p, loc in layer.locations.items():
                if p[:1] == (key,):
                    locations[p] = loc
    return data, locations
