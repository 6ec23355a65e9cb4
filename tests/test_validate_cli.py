"""`augcli validate-recipe` as a user runs it: reports, exit codes, extends, presets, lint rules."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from augcli.cli import app

ROOT = Path(__file__).resolve().parent.parent
PROBLEM_KEYS = {"severity", "file", "line", "column", "path", "rule", "message"}

runner = CliRunner()

VALID = """\
augcli: 1
name: ok
augment:
  - HorizontalFlip: {p: 0.5}
"""
TWO_ERRORS = """\
augcli: 1
name: bad
copies: 0
augment:
  - HorizontalFlip: {p: 1.5}
"""
WARNS = """\
augcli: 1
name: flips-text
domain: ocr
augment:
  - HorizontalFlip: {p: 0.5}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def validate(*args: str | Path):
    return runner.invoke(app, ["validate-recipe", *map(str, args)])


def report(*args: str | Path) -> tuple[int, dict]:
    result = validate("--json", *args)
    return result.exit_code, json.loads(result.stdout)


# --------------------------------------------------------------------------- report and exit codes


def test_json_report_locates_every_problem(tmp_path: Path) -> None:
    code, data = report(write(tmp_path, "bad.yaml", TWO_ERRORS))
    assert code == 2
    assert data["valid"] is False
    (entry,) = data["recipes"]
    assert entry["file"] == str(tmp_path / "bad.yaml")
    assert (entry["valid"], entry["errors"], entry["warnings"], entry["recipe"]) == (False, 2, 0, None)
    assert all(set(p) == PROBLEM_KEYS for p in entry["problems"])
    where = {(p["line"], p["column"], p["path"]) for p in entry["problems"]}
    assert where == {(3, 1, "copies"), (5, 22, "augment[0].HorizontalFlip.p")}
    assert all(p["severity"] == "error" and p["file"].endswith("bad.yaml") for p in entry["problems"])
    assert all(p["message"] and "\n" not in p["message"] for p in entry["problems"])


def test_json_report_of_a_valid_recipe_holds_the_resolved_recipe(tmp_path: Path) -> None:
    code, data = report(write(tmp_path, "ok.yaml", VALID))
    assert code == 0
    assert data["valid"] is True
    recipe = data["recipes"][0]["recipe"]
    assert recipe["augment"] == [{"HorizontalFlip": {"p": 0.5}}]
    assert len(recipe["hash"]) == 16


def test_exit_codes(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.yaml", VALID)
    warns = write(tmp_path, "warns.yaml", WARNS)
    bad = write(tmp_path, "bad.yaml", TWO_ERRORS)
    assert validate("--strict", ok).exit_code == 0
    assert validate(warns).exit_code == 0
    strict = validate("--strict", warns)
    assert strict.exit_code == 1
    assert "valid, but warnings fail --strict (0 errors, 1 warning)" in strict.stderr
    assert validate(bad).exit_code == 2


def test_several_recipes_are_each_reported(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.yaml", VALID)
    bad = write(tmp_path, "bad.yaml", TWO_ERRORS)
    result = validate("-q", ok, bad)
    assert result.exit_code == 2
    assert f"{ok}: valid (0 errors, 0 warnings)" in result.stderr
    assert f"{bad}: invalid (2 errors, 0 warnings)" in result.stderr
    code, data = report(ok, bad)
    assert code == 2
    assert [(r["file"], r["valid"]) for r in data["recipes"]] == [(str(ok), True), (str(bad), False)]


def test_a_missing_recipe_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = validate("nope.yaml")
    assert result.exit_code == 2
    assert result.stderr == "augcli: error: recipe file not found (nope.yaml)\n"


def test_an_unknown_option_is_one_line(tmp_path: Path) -> None:
    result = validate("--bogus", write(tmp_path, "ok.yaml", VALID))
    assert result.exit_code == 2
    assert result.stderr.startswith("augcli: error: ")
    assert "--bogus" in result.stderr
    assert result.stderr.count("\n") == 1


def test_help() -> None:
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0, top.output
    assert "validate-recipe" in top.stdout
    sub = validate("--help")
    assert sub.exit_code == 0, sub.output
    assert "--strict" in sub.stdout and "--json" in sub.stdout
    assert "validate-recipe [OPTIONS] {RECIPE}...\n" in sub.stdout
    assert "recipes" not in sub.stdout


@pytest.mark.parametrize("argv", [["--help"], ["validate-recipe", "--help"]])
def test_help_does_not_import_albumentations(argv: list[str]) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from augcli.cli import app
        try:
            app({argv!r}, prog_name="augcli")
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("albumentations", "cv2"))
        assert not heavy, heavy
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


# --------------------------------------------------------------------------- extends and presets


def test_extends_a_preset_and_overrides_some_keys(tmp_path: Path) -> None:
    mine = write(
        tmp_path,
        "mine.yaml",
        """\
        augcli: 1
        extends: natural
        name: my-natural
        copies: 2
        output:
          path: out/mine
          quality: 80
        """,
    )
    result = validate("--strict", mine)
    assert result.exit_code == 0, result.output
    assert "my-natural  (domain natural, seed 0, 2 copies per image)" in result.stdout
    assert "  input:  (none; pass --input)" in result.stdout, "a preset names no input"
    output_line = next(line for line in result.stdout.splitlines() if line.strip().startswith("output:"))
    assert output_line.split()[1].endswith("out/mine")
    assert output_line.endswith("(jpg, quality 80)")
    assert "RandomResizedCrop" in result.stdout
    _, data = report(mine)
    recipe = data["recipes"][0]["recipe"]
    assert (recipe["copies"], recipe["name"]) == (2, "my-natural")
    assert recipe["output"] == {"path": str(tmp_path / "out" / "mine"), "format": "jpg", "quality": 80}
    assert "input" not in recipe


def test_a_preset_name_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = validate("--strict", "-q", "natural")
    assert result.exit_code == 0, result.output
    assert "natural: valid (0 errors, 0 warnings)" in result.stderr


# --------------------------------------------------------------------------- lint rules

LINT_CASES = {
    "ocr-flip": """\
        domain: ocr
        augment:
          - HorizontalFlip: {p: 0.5}
        """,
    "ocr-rotation": """\
        domain: ocr
        augment:
          - Rotate: {limit: 15, border_mode: 1, p: 0.5}
        """,
    "medical-color/fundus": """\
        domain: fundus
        augment:
          - HueSaturationValue: {hue_shift_limit: 20, sat_shift_limit: 0, val_shift_limit: 0, p: 0.5}
        """,
    "medical-color/xray": """\
        domain: xray
        augment:
          - ColorJitter: {brightness: 0, contrast: 0, saturation: 0, hue: [-0.1, 0.1], p: 0.5}
        """,
    "satellite-rotation": """\
        domain: satellite
        augment:
          - Rotate: {limit: 45, p: 0.5}
        """,
    "no-randomness": """\
        augment:
          - ToGray: {p: 1.0}
        """,
    "size-change": """\
        preprocess:
          - Resize: {height: 128, width: 128}
        augment:
          - RandomCrop: {height: 100, width: 100}
        """,
    "pipeline-fails": """\
        preprocess:
          - Resize: {height: 128, width: 128}
        augment:
          - RandomCrop: {height: 200, width: 200}
        """,
}


def lint_recipe(tmp_path: Path, case: str, silence: bool) -> Path:
    rule = case.split("/")[0]
    body = f"augcli: 1\nname: lint-{rule}\n" + textwrap.dedent(LINT_CASES[case])
    if silence:
        body += f"silence:\n  - rule: {rule}\n    reason: this test checks that a silenced rule stays quiet\n"
    return write(tmp_path, "lint.yaml", body)


@pytest.mark.parametrize("case", sorted(LINT_CASES))
def test_lint_rule_fires(tmp_path: Path, case: str) -> None:
    code, data = report("--strict", lint_recipe(tmp_path, case, silence=False))
    problems = data["recipes"][0]["problems"]
    assert code == 1, problems
    assert {p["rule"] for p in problems} == {case.split("/")[0]}
    assert all(p["severity"] == "warning" and p["line"] and p["column"] for p in problems)


@pytest.mark.parametrize("case", sorted(LINT_CASES))
def test_lint_rule_can_be_silenced_with_a_reason(tmp_path: Path, case: str) -> None:
    code, data = report("--strict", lint_recipe(tmp_path, case, silence=True))
    assert code == 0, data["recipes"][0]["problems"]
    assert data["recipes"][0]["problems"] == []


def test_lint_warning_names_its_rule_and_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "warns.yaml", WARNS)
    result = validate("-q", "warns.yaml")
    assert result.stderr.splitlines() == [
        "warns.yaml:5:5: warning: augment[0]: [ocr-flip] HorizontalFlip mirrors or turns text; "
        "mirrored text is different text",
        "warns.yaml: valid (0 errors, 1 warning)",
    ]


def test_satellite_non_square_fires(tmp_path: Path) -> None:
    recipe = write(
        tmp_path,
        "tiles.yaml",
        """\
        augcli: 1
        name: wide-tiles
        domain: satellite
        preprocess:
          - Resize: {height: 128, width: 256}
        augment:
          - Transpose: {p: 0.5}
        silence:
          - rule: size-change
            reason: this test looks for satellite-non-square only
        """,
    )
    _, data = report("--strict", recipe)
    found = [(p["rule"], p["line"], p["column"]) for p in data["recipes"][0]["problems"]]
    assert found == [("satellite-non-square", 7, 5)], data["recipes"][0]["problems"]


def test_satellite_tiles_made_square_do_not_warn(tmp_path: Path) -> None:
    recipe = write(
        tmp_path,
        "tiles.yaml",
        """\
        augcli: 1
        name: square-tiles
        domain: satellite
        preprocess:
          - Resize: {height: 128, width: 128}
        augment:
          - OneOf:
              transforms:
                - Transpose: {}
                - RandomRotate90: {}
        """,
    )
    code, data = report("--strict", recipe)
    assert code == 0, data["recipes"][0]["problems"]


# --------------------------------------------------------------------------- steps that build but cannot run


def test_a_negative_blur_kernel_is_an_error(tmp_path: Path) -> None:
    recipe = write(
        tmp_path,
        "blur.yaml",
        """\
        augcli: 1
        name: negative-kernel
        augment:
          - GaussianBlur: {blur_limit: -3, p: 0.5}
        """,
    )
    result = validate(recipe)
    assert result.exit_code == 2
    assert "blur.yaml:4:5: error: augment[0].GaussianBlur: GaussianBlur fails on a test image: " in result.stderr


def test_a_step_is_probed_on_an_image_as_large_as_its_crop(tmp_path: Path) -> None:
    recipe = write(
        tmp_path,
        "crop.yaml",
        """\
        augcli: 1
        name: big-crop
        preprocess:
          - Resize: {height: 600, width: 600}
        augment:
          - RandomCrop: {height: 512, width: 512}
          - HorizontalFlip: {p: 0.5}
          - Resize: {height: 600, width: 600}
        """,
    )
    result = validate("--strict", recipe)
    assert result.exit_code == 0, result.output


def test_a_composition_is_checked_with_its_own_steps(tmp_path: Path) -> None:
    recipe = write(
        tmp_path,
        "someof.yaml",
        """\
        augcli: 1
        name: two-of-three
        preprocess:
          - Resize: {height: 128, width: 128}
        augment:
          - SomeOf:
              n: 2
              transforms:
                - HorizontalFlip: {}
                - VerticalFlip: {}
                - Transpose: {}
        """,
    )
    code, data = report("--strict", recipe)
    assert code == 0, data["recipes"][0]["problems"]


def test_a_crop_far_smaller_than_the_input_images_is_a_warning(tmp_path: Path) -> None:
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    with Image.open(ROOT / "samples" / "satellite" / "soap_061.jpg") as image:
        for i in range(3):
            image.resize((1920, 1080)).save(tiles / f"tile{i}.jpg")
    mine = write(tmp_path, "big.yaml", "augcli: 1\nname: big\nextends: satellite\ninput: tiles\n")
    result = validate("-q", mine)
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stderr.splitlines() if "[crop-discards]" in line]
    assert re.search(r"satellite\.yaml:\d+:\d+: warning: preprocess\[1\]: \[crop-discards\] CenterCrop keeps", line)
    assert "256x256 of the 1920x1080 images in the input (3% of each" in line
    assert validate("--strict", "-q", mine).exit_code == 1
    small = write(
        tmp_path, "small.yaml", f"augcli: 1\nname: s\nextends: satellite\ninput: {ROOT / 'samples' / 'satellite'}\n"
    )
    assert validate("--strict", "-q", small).exit_code == 0, "256x256 tiles lose nothing"
