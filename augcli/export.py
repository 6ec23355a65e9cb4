"""A recipe as an Albumentations pipeline file that `albumentations.load` reads back.

augcli's own transforms are written under their full class path (`augcli.transforms.fundus.FundusCrop`):
Albumentations' serialization registry learns every subclass when it is defined, so a reader
`import augcli.transforms` before `albumentations.load(path)` and the names resolve.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from augcli.errors import UsageError

FORMATS = ("albumentations",)


def export_pipeline(
    recipe_path: str | os.PathLike[str],
    *,
    split: str = "train",
    format: str = "albumentations",
    data_format: str = "json",
    stats: str | os.PathLike[str] | None = None,
) -> str:
    """The serialized pipeline text (JSON or YAML): train = preprocess + augment, eval = preprocess."""
    import albumentations as A
    import yaml

    from augcli.api import pipeline_steps, read_recipe

    if format not in FORMATS:
        raise UsageError(f"unknown export format '{format}'; formats: {', '.join(FORMATS)}")
    if data_format not in ("json", "yaml"):
        raise UsageError(f"unknown data format '{data_format}'; json or yaml")
    recipe = read_recipe(recipe_path)
    compose = A.Compose(pipeline_steps(recipe, split, stats), strict=True)
    data = A.to_dict(compose)
    if data_format == "yaml":
        return str(yaml.safe_dump(_plain(data), sort_keys=False))
    return json.dumps(data, indent=2) + "\n"


def data_format_for(path: Path | None) -> str:
    """YAML for .yaml/.yml, JSON otherwise (stdout included)."""
    return "yaml" if path is not None and path.suffix.lower() in (".yaml", ".yml") else "json"


def _plain(value: Any) -> Any:
    """Tuples as lists, so yaml.safe_load (what albumentations.load uses) can read the file."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
