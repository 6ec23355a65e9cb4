"""Recipes written to hurt: alias bombs, self-reference, deep nesting, dates, NaN, and one verdict for
validate-recipe and run (issue 13, items 6, 10 and 11)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import SMALL, invoke

BOMB = """\
augcli: 1
name: bomb
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _validate(tmp_path: Path, text: str, *extra: str) -> tuple[int, str]:
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    result = invoke("validate-recipe", "-q", *extra, str(path))
    return result.exit_code, result.output


def test_alias_bomb_is_refused_quickly_at_the_alias(tmp_path: Path) -> None:
    started = time.perf_counter()
    code, out = _validate(tmp_path, BOMB)
    assert time.perf_counter() - started < 5
    assert code == 2
    assert "r.yaml:" in out and "alias bomb" in out
    line = next(x for x in out.splitlines() if "alias bomb" in x)
    assert int(line.split(":")[1]) >= 6  # located at an alias line, not line 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("augcli: 1\nname: x\naugment: &a [*a]\n", "'*a' is inside the collection '&a'"),
        ("augcli: 1\nname: x\naugment: &m {OneOf: {transforms: [*m]}}\n", "'*m' is inside the collection '&m'"),
        ("augcli: 1\nname: x\naugment: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 64 levels"),
        ("augcli: 1\nname: x\naugment: " + "{a: " * 900 + "1" + "}" * 900 + "\n", "nested more than 64 levels"),
    ],
)
def test_self_reference_and_deep_nesting_are_one_located_error(tmp_path: Path, text: str, expected: str) -> None:
    code, out = _validate(tmp_path, text)
    assert code == 2, out
    assert expected in out and "Traceback" not in out
    assert out.splitlines()[0].startswith(str(Path("r.yaml"))) or "r.yaml:3:" in out


@pytest.mark.parametrize("key", ["seed", "name", "description"])
def test_a_yaml_date_is_text_not_a_crash(tmp_path: Path, key: str) -> None:
    text = "augcli: 1\nname: x\n" if key != "name" else "augcli: 1\n"
    code, out = _validate(tmp_path, text + f"{key}: 2020-01-01\naugment: [HorizontalFlip]\n")
    if key == "seed":
        assert code == 2 and "seed must be a whole number (got '2020-01-01')" in out
    else:
        assert code == 0, out


@pytest.mark.parametrize(
    ("step", "key"),
    [
        ("Rotate: {limit: [.nan, .nan], p: 1}", ".nan"),
        ("Rotate: {limit: [-.inf, 10], p: 1}", "-.inf"),
        ("Rotate: {limit: ['nan', 'nan'], p: 1}", "limit must be a finite number"),
        ("Rotate: {limit: [1e400, 2], p: 1}", "limit must be a finite number"),
        ("GaussNoise: {std_range: [0.1, 'inf']}", "std_range must be a finite number"),
    ],
)
def test_nan_and_infinity_are_refused_in_steps(tmp_path: Path, step: str, key: str) -> None:
    code, out = _validate(tmp_path, f"augcli: 1\nname: x\naugment:\n  - {step}\n")
    assert code == 2, out
    assert key in out and "r.yaml:4:" in out


def test_nan_and_infinity_are_refused_in_recipe_fields(tmp_path: Path) -> None:
    code, out = _validate(tmp_path, SMALL + "labels: {min_area: 1e400}\nmix: {p_mixup: 'nan'}\n")
    assert code == 2
    assert "labels.min_area: Input should be a finite number" in out
    assert "mix.p_mixup" in out


WARN_ONLY = """\
augcli: 1
name: warned
copies: 1
augment:
  - MotionBlur: {blur_limit: [3, 8], p: 1}
"""


@pytest.mark.parametrize(
    "step",
    ["MotionBlur: {blur_limit: [3, 8], p: 1}", "SomeOf: {n: 3, transforms: [HorizontalFlip, VerticalFlip]}"],
)
def test_a_recipe_with_only_warnings_validates_and_runs(
    tmp_path: Path, photos: Path, step: str, capfd: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "warned.yaml"
    recipe.write_text(f"augcli: 1\nname: warned\ncopies: 1\naugment:\n  - {step}\n", encoding="utf-8")
    checked = invoke("validate-recipe", "-q", str(recipe))
    assert checked.exit_code == 0 and "valid (0 errors, 1 warning)" in checked.output
    out = tmp_path / "out"
    ran = invoke("run", str(recipe), "-i", str(photos), "-o", str(out), "-w", "1", "-q")
    assert ran.exit_code == 0, ran.output
    assert len(list(out.glob("*.jpg"))) == 6
    assert ran.output.count("warning: ") == 1  # the Albumentations warning, routed to the summary once
    record = json.loads((out / "run.json").read_text())
    assert len(record["warnings"]) == 1
    assert "UserWarning" not in capfd.readouterr().err  # never printed raw


def test_validate_json_agrees_with_text_on_a_refused_recipe(tmp_path: Path) -> None:
    code, text = _validate(tmp_path, BOMB)
    json_code, out = _validate(tmp_path, BOMB, "--json")
    report = json.loads(out)
    assert json_code == code == 2
    assert not report["valid"] and report["recipes"][0]["errors"] == 1
    assert report["recipes"][0]["problems"][0]["message"] in text


@pytest.mark.parametrize("value", ["!!float x", "!!int y", "!!bool maybe", "!!float ''"])
def test_a_value_its_tag_cannot_read_is_a_located_error(tmp_path: Path, value: str) -> None:
    """Found by the fuzz suite: the constructor's ValueError/KeyError escaped as a traceback."""
    code, out = _validate(tmp_path, f"augcli: 1\nname: x\nseed: {value}\naugment: [HorizontalFlip]\n")
    assert code == 2, out
    assert f"r.yaml:3:7: error: (top level): YAML refused: {value.split()[0]} cannot read" in out
