"""The bundled presets: recipes shipped in augcli/presets, named by file stem, loaded like a user's file."""

from __future__ import annotations

import os
import re
from pathlib import Path

from augcli import registry
from augcli.errors import UsageError

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def find_preset(name: str) -> Path | None:
    """The preset file called `name`, if there is one."""
    path = PRESETS_DIR / f"{name}.yaml"
    return path if path.is_file() else None


def unknown_preset_hint(name: str) -> str:
    """The tail of an unknown-preset message: the closest preset names, or all of them."""
    hint = registry.suggest(name, preset_names())
    return f"; did you mean {', '.join(hint)}?" if hint else f"; presets: {', '.join(preset_names())}"


def preset_path(name: str) -> Path:
    path = find_preset(name)
    if path is None:
        raise UsageError(f"unknown preset '{name}'{unknown_preset_hint(name)}")
    return path


def resolve_recipe_arg(arg: str | os.PathLike[str]) -> Path:
    """A recipe argument is a file path, or a preset name when no such file exists."""
    path = Path(arg)
    if path.is_file():
        return path
    preset = find_preset(str(arg)) if path.suffix == "" and os.sep not in str(arg) else None
    if preset is not None:
        return preset
    if path.is_dir():
        raise UsageError("recipe is a directory, not a YAML file", path)
    raise UsageError("recipe file not found", path)


def init_recipe_text(preset: str, target: Path) -> str:
    """A preset's text (comments kept), writing to `out/<preset>` beside the new file.

    Presets name no input (they are installed with the package, far from any dataset): the new
    recipe takes one with `input:` or `--input`.
    """
    text = preset_path(preset).read_text(encoding="utf-8")
    return re.sub(r"^(output:[ \t]*\n)", rf"\g<1>  path: out/{preset}\n", text, count=1, flags=re.MULTILINE)
