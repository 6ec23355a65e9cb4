"""The recipe JSON Schema, checked by an independent validator (jsonschema's Draft7Validator).

It must accept what augcli accepts (every preset, every recipe in the README, every transform's defaults)
and reject the mistakes an editor can see in one file (unknown keys and transforms, wrong types, values
out of range), at the place `validate-recipe` reports them.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from typer.testing import CliRunner

from augcli import registry
from augcli.cli import app
from augcli.schema import SCHEMA_FILE, recipe_schema
from augcli.schema.params import NO_JSON, jsonable
from augcli.yamlloc import format_path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "recipes" / "broken"
PRESETS = sorted([*ROOT.glob("recipes/*.yaml"), *ROOT.glob("augcli/presets/*.yaml")])
MODELINE = f"# yaml-language-server: $schema=./{SCHEMA_FILE}"

# Broken recipes whose mistake is visible in the one file, against the schema.
SCHEMA_LEVEL = {
    "composition_list",
    "composition_misspelled_parameter",
    "composition_misspelled_transforms",
    "composition_without_transforms",
    "copies_negative",
    "copies_zero",
    "empty",
    "invalid_value_choice",
    "invalid_value_quality",
    "invalid_value_sigma",
    "invalid_value_type",
    "lambda",
    "many_mistakes",
    "misspelled_augment_key",
    "misspelled_parameter",
    "misspelled_preprocess_key",
    "output_misspelled_key",
    "p_out_of_range",
    "p_out_of_range_oneof",
    "removed_transform",
    "renamed_parameter",
    "silence_unknown_rule",
    "silence_without_reason",
    "step_missing_dash",
    "step_two_keys",
    "top_level_list",
    "unknown_top_level_key",
    "unknown_transform",
}
# Mistakes only validate-recipe finds: they need other files, the disk, several values at once, or a run.
SEMANTIC = {
    "duplicate_key": "the parsed document keeps one value; only the YAML loader sees the repeat",
    "extends_cycle_a": "needs the file it extends",
    "extends_cycle_b": "needs the file it extends",
    "extends_unknown_preset": "extends also takes a path to any file",
    "missing_input": "needs the disk",
    "negative_blur_kernel": "builds; it fails on a test image",
    "reversed_range": "compares two values of one list",
}
# Not YAML at all: the editor's YAML parser reports these before any schema applies.
YAML_SYNTAX = {
    "yaml_bad_indent",
    "yaml_mapping_values",
    "yaml_missing_colon",
    "yaml_tab",
    "yaml_unclosed_bracket",
    "yaml_unclosed_quote",
}

runner = CliRunner()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return recipe_schema()


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft7Validator:
    return Draft7Validator(schema)


def leaf_errors(errors: list[ValidationError]) -> list[ValidationError]:
    """The innermost errors: for a step that fits no branch, the reasons inside each branch."""
    out: list[ValidationError] = []
    for error in errors:
        out.extend(leaf_errors(list(error.context)) if error.context else [error])
    return out


def readme_recipes() -> list[tuple[str, dict[str, Any]]]:
    """Each ```yaml block of the README; a block of one section (`mix: {...}`) is put in a minimal recipe."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", readme, re.S)):
        data = yaml.safe_load(block)
        if "name" not in data and "extends" not in data:
            data = {"augcli": 1, "name": "readme", **data}
        out.append((f"block{i}:{next(iter(data))}", data))
    return out


def test_the_command_prints_a_draft7_schema_and_writes_it_with_out(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["schema"])
    assert printed.exit_code == 0, printed.output
    schema = json.loads(printed.stdout)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)
    target = tmp_path / "recipe.schema.json"
    written = runner.invoke(app, ["schema", "--out", str(target)])
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == printed.stdout
    assert f"wrote {target}" in written.stderr


def test_every_transform_a_recipe_can_name_is_a_step_and_no_forbidden_one(schema: dict[str, Any]) -> None:
    by_name, bare = schema["definitions"]["step"]["anyOf"][1], schema["definitions"]["step"]["anyOf"][0]
    assert set(by_name["properties"]) == set(registry.catalogue())
    assert {"OneOf", "SomeOf", "Sequential", "RandomOrder", "OneOrOther", "SelectiveChannelTransform"} <= set(
        by_name["properties"]
    )
    assert {"FundusCrop", "KerasAffine", "RandAugment"} <= set(by_name["properties"])
    for name in registry.FORBIDDEN:
        assert name not in by_name["properties"] and name not in bare["enum"], name
        assert f'"{name}"' not in json.dumps(schema), name


def test_a_parameter_shows_its_type_range_default_and_description(schema: dict[str, Any]) -> None:
    blur = schema["definitions"]["transform.GaussianBlur"]
    sigma = blur["properties"]["sigma_limit"]
    assert sigma["default"] == [0.5, 3.0]
    assert "standard" in sigma["description"] and "deviation" in sigma["description"]
    assert {branch["type"] for branch in sigma["anyOf"]} == {"array", "number"}
    assert all(item["minimum"] == 0 for item in sigma["anyOf"][0]["items"])
    assert blur["properties"]["p"] | {"description": ""} == {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.5,
        "description": "",
    }
    assert blur["description"].startswith("Apply Gaussian blur")
    quality = schema["definitions"]["transform.ImageCompression"]["properties"]["quality_range"]
    assert [(i["minimum"], i["maximum"]) for i in quality["items"]] == [(1, 100), (1, 100)]
    rotate = schema["definitions"]["transform.Rotate"]["properties"]
    assert rotate["border_mode"]["enum"] == [0, 1, 2, 3, 4]
    assert rotate["rotate_method"]["enum"] == ["largest_box", "ellipse"]


@pytest.mark.parametrize("name", sorted(registry.catalogue()))
def test_every_default_of_every_transform_fits_its_parameter(schema: dict[str, Any], name: str) -> None:
    """The schema is never stricter than the constructor: what it uses by default, the schema accepts."""
    properties = schema["definitions"][f"transform.{name}"]["properties"]
    for parameter, info in registry.init_parameters(registry.catalogue()[name]).items():
        default = jsonable(info.default)
        if info.default is inspect.Parameter.empty or parameter == "transforms" or default is NO_JSON:
            continue  # required, checked apart (a composition's steps), or a function (FDA's read_fn)
        errors = [e.message for e in Draft7Validator(properties[parameter]).iter_errors(default)]
        assert not errors, f"{name}.{parameter} = {default!r}: {errors}"


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_bundled_preset_validates(validator: Draft7Validator, path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(data)] == []


@pytest.mark.parametrize(("block", "data"), readme_recipes(), ids=[b for b, _ in readme_recipes()])
def test_every_readme_recipe_validates(validator: Draft7Validator, block: str, data: dict[str, Any]) -> None:
    assert [e.message for e in validator.iter_errors(data)] == []


def test_the_readme_has_a_whole_recipe_to_check() -> None:
    assert any("augment" in data and data["name"] != "readme" for _, data in readme_recipes())


def test_every_broken_recipe_is_classified() -> None:
    names = {p.stem for p in BROKEN.glob("*.yaml")}
    assert names == SCHEMA_LEVEL | set(SEMANTIC) | YAML_SYNTAX
    assert not SCHEMA_LEVEL & set(SEMANTIC) and not (SCHEMA_LEVEL | set(SEMANTIC)) & YAML_SYNTAX


def expected_paths(name: str) -> list[str]:
    """The YAML paths `validate-recipe` reports for a broken recipe (its golden file)."""
    text = (BROKEN / f"{name}.expected").read_text(encoding="utf-8")
    return re.findall(r": error: (.*?): ", text)


@pytest.mark.parametrize("name", sorted(SCHEMA_LEVEL))
def test_a_schema_level_mistake_fails_where_validate_recipe_reports_it(validator: Draft7Validator, name: str) -> None:
    data = yaml.safe_load((BROKEN / f"{name}.yaml").read_text(encoding="utf-8"))
    leaves = leaf_errors(list(validator.iter_errors(data)))
    assert leaves, f"{name} passes the schema"
    found = [(format_path(tuple(e.absolute_path)), e.message) for e in leaves]

    def explains(expected: str) -> bool:
        # At the reported key or inside it, or on the mapping that holds an unknown key, naming it.
        parent, _, key = expected.rpartition(".")
        return any(
            where == expected
            or where.startswith((f"{expected}.", f"{expected}["))
            or (where == (parent or "(top level)") and f"'{key}'" in message)
            for where, message in found
        )

    explained = [path for path in expected_paths(name) if explains(path)]
    assert explained, f"{name}: validate-recipe says {expected_paths(name)}, the schema {found}"


@pytest.mark.parametrize("name", sorted(SEMANTIC))
def test_a_mistake_only_validate_recipe_finds_passes_the_schema(validator: Draft7Validator, name: str) -> None:
    data = yaml.safe_load((BROKEN / f"{name}.yaml").read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(data)] == []
    result = runner.invoke(app, ["validate-recipe", str(BROKEN / f"{name}.yaml")])
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize("name", sorted(YAML_SYNTAX))
def test_a_yaml_syntax_error_is_not_a_document(name: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load((BROKEN / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("steps", "valid"),
    [
        (["MotionBlur"], True),  # a bare name takes the defaults
        ([{"HorizontalFlip": None}], True),
        (["Resize"], False),  # height and width are required
        ([{"Resize": {"height": 64}}], False),
        ([{"Resize": {"height": 64, "width": 64}}], True),
        (["OneOf"], False),  # a composition needs its steps
        ([{"OneOf": {"transforms": []}}], False),
        ([{"SomeOf": {"n": 2, "transforms": ["HorizontalFlip", {"Rotate": {"limit": 10}}]}}], True),
        ([{"OneOf": {"transforms": [{"Lambda": {}}]}}], False),
        ([{"KerasAffine": {"zoom_range": 0.2}}], True),  # a scalar its before-validator turns into a pair
        ([{"KerasAffine": {"width_shift_range": -1}}], False),
    ],
)
def test_steps(validator: Draft7Validator, steps: list[Any], valid: bool) -> None:
    assert validator.is_valid({"name": "r", "augment": steps}) is valid


def test_a_recipe_needs_a_name_unless_it_extends_one(validator: Draft7Validator) -> None:
    assert validator.is_valid({"extends": "natural", "copies": 2})
    assert validator.is_valid({"extends": "../base.yaml"})
    assert not validator.is_valid({"copies": 2})


def test_init_starts_the_recipe_with_the_schema_line_and_writes_the_schema_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "project" / "my.yaml"
    target.parent.mkdir()
    result = runner.invoke(app, ["init", "--preset", "fundus", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert text.splitlines()[0] == MODELINE
    # Where a YAML language server looks: the modeline's path, from the recipe's folder.
    written = target.parent / MODELINE.split("$schema=")[1]
    assert written.read_text(encoding="utf-8") == runner.invoke(app, ["schema"]).stdout
    assert Draft7Validator(json.loads(written.read_text(encoding="utf-8"))).is_valid(yaml.safe_load(text))
    check = runner.invoke(app, ["validate-recipe", str(target)])
    assert check.exit_code == 0, check.output
