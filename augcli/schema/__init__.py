"""The recipe format as a JSON Schema (draft-07), so editors complete and check recipes as they are typed.

Generated from what validates a recipe: the pydantic `RecipeModel` and its sections, the transform catalogue
(`registry.catalogue()`, which already leaves out the forbidden names) with each class's parameters, and the
lint rules a `silence:` entry may name. What needs the whole recipe or the disk (reversed ranges, p_mixup +
p_cutmix, extends cycles, a missing input, a step failing on a test image) stays with `validate-recipe`.

`augcli init` writes the schema beside the recipe it creates (`SCHEMA_FILE`) and points the recipe's first
line at it by a relative path, which YAML language servers resolve against the recipe's own folder: it works
offline, travels with the recipe, and matches the installed Albumentations.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from augcli import __version__, registry
from augcli.schema.params import Schema, takes_defaults, to_draft7, transform_schema

DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_FILE = ".augcli-recipe.schema.json"
STEP_REF = "#/definitions/step"

# What each key means to a recipe's author (the models' docstrings are written for developers).
DESCRIPTIONS: dict[str, str] = {
    "augcli": "Recipe format version.",
    "name": "The recipe's name (outputs and the manifest record it).",
    "domain": "The kind of images: turns on that domain's lint rules.",
    "description": "One line, shown by `augcli presets`.",
    "extends": "A preset name, or a path relative to this file: start from that recipe; the keys given here "
    "replace its keys, except `output`, which merges field by field.",
    "seed": "Every output's seed derives from this.",
    "copies": "Augmented variants per training image.",
    "class_copies": "Per-class override of `copies`, e.g. {rare: 20}.",
    "balance": "Raise every class towards the largest (originals + copies).",
    "keep_original": "Write the preprocessed original beside its copies.",
    "input": "Dataset folder, relative to this file; `--input` overrides it.",
    "output": "Where and how outputs are written.",
    "output.path": "Output folder, relative to this file; `--output` overrides it.",
    "output.format": "Image format of the outputs; `same` keeps each source's.",
    "output.quality": "JPEG/WebP quality.",
    "preprocess": "Deterministic steps applied to every split (train, val, test).",
    "augment": "Random steps applied to the training split only, `copies` times per image.",
    "silence": "Lint rules turned off, each with the reason.",
    "silence.rule": "The lint rule to turn off.",
    "silence.reason": "Why the rule does not apply to this dataset.",
    "labels": "Where the dataset's labels are, and when objects that leave the image are dropped.",
    "labels.format": "Label format; `auto` detects it.",
    "labels.min_visibility": "Drop an object when less than this fraction of it stays inside the image.",
    "labels.min_area": "Drop an object whose box is smaller than this many pixels.",
    "mix": "MixUp/CutMix between training images, after `augment`.",
    "mix.p_mixup": "Chance that an augmented copy is mixed up with a partner image.",
    "mix.p_cutmix": "Chance that an augmented copy gets a box cut from a partner image.",
    "mix.mixup_alpha": "Beta(alpha, alpha) shape for MixUp's lambda.",
    "mix.cutmix_alpha": "Beta(alpha, alpha) shape for CutMix's lambda.",
}


@functools.cache
def _schema_json() -> str:
    return json.dumps(_build(), indent=2) + "\n"


def recipe_schema() -> dict[str, Any]:
    """The JSON Schema of one recipe file (a fresh copy: callers may change it)."""
    return copy.deepcopy(json.loads(_schema_json()))


def schema_text() -> str:
    """The schema as the JSON text `augcli schema` prints and `init` writes."""
    return _schema_json()


def modeline(schema_ref: str = f"./{SCHEMA_FILE}") -> str:
    """The comment that points YAML language servers (VS Code's YAML extension and others) at the schema."""
    return f"# yaml-language-server: $schema={schema_ref}"


def write_schema(path: str | Path) -> Path:
    """Write the schema to `path`, atomically."""
    from augcli.store.local import atomic_write_text

    target = Path(path)
    atomic_write_text(target, schema_text())
    return target


def write_schema_beside(recipe_path: str | Path) -> Path:
    """Write `SCHEMA_FILE` in the recipe's folder, where `modeline()` points (regenerated: it is derived data)."""
    return write_schema(Path(recipe_path).parent / SCHEMA_FILE)


# --------------------------------------------------------------------------- building


def _build() -> Schema:
    import albumentations

    from augcli.recipe.model import RecipeModel

    catalogue = registry.catalogue()
    generated = RecipeModel.model_json_schema()
    top = to_draft7(generated, generated.get("$defs", {}))
    _describe(top, "")
    top["properties"]["preprocess"] = {"$ref": "#/definitions/steps", "description": DESCRIPTIONS["preprocess"]}
    top["properties"]["augment"] = {"$ref": "#/definitions/steps", "description": DESCRIPTIONS["augment"]}
    top["properties"]["extends"] = _extends()
    top["properties"]["silence"]["items"]["properties"]["rule"].update(_lint_rules())
    # `name` may come from the recipe this one extends: the model checks the merged recipe.
    top.pop("required", None)
    top["anyOf"] = [{"required": ["name"]}, {"required": ["extends"]}]
    transforms = {name: transform_schema(cls, STEP_REF) for name, cls in sorted(catalogue.items())}
    bare = [name for name, cls in sorted(catalogue.items()) if takes_defaults(cls)]
    return {
        "$schema": DRAFT,
        "title": "augcli recipe",
        **top,
        "description": f"A recipe for augcli {__version__} with Albumentations {albumentations.__version__}: "
        "`augcli validate-recipe` checks the rest (reversed ranges, extends, the input folder, a test image).",
        "definitions": {
            "steps": {"type": "array", "items": {"$ref": STEP_REF}},
            "step": {
                "anyOf": [
                    {
                        "type": "string",
                        "enum": bare,
                        "description": "A transform with its default parameters.",
                    },
                    {
                        "type": "object",
                        "description": "`TransformName: {parameters}`: one transform per step.",
                        "properties": {name: {"$ref": f"#/definitions/transform.{name}"} for name in transforms},
                        "additionalProperties": False,
                        "minProperties": 1,
                        "maxProperties": 1,
                    },
                ]
            },
            **{f"transform.{name}": schema for name, schema in transforms.items()},
        },
    }


def _describe(node: Schema, prefix: str) -> None:
    """Put `DESCRIPTIONS` on the model's keys, replacing the models' developer docstrings."""
    for key, sub in node.get("properties", {}).items():
        dotted = f"{prefix}{key}"
        if dotted in DESCRIPTIONS:
            sub["description"] = DESCRIPTIONS[dotted]
        _describe(sub, f"{dotted}.")
        if isinstance(sub.get("items"), dict):
            _describe(sub["items"], f"{dotted}.")


def _extends() -> Schema:
    from augcli.recipe import preset_names

    return {
        "description": DESCRIPTIONS["extends"],
        "anyOf": [{"type": "string", "enum": preset_names()}, {"type": "string"}],
    }


def _lint_rules() -> Schema:
    from augcli.recipe.lint import RULES

    return {"enum": sorted(RULES)}
