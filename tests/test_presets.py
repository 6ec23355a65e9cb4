"""The bundled presets: each validates strictly, is listed, can start a recipe, and has sample data.

Presets (augcli/presets) are installed with the package and name no input; the repository's demo
recipes (recipes/) extend them and point them at samples/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from augcli.cli import app

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ROOT / "recipes"
PRESET_DIR = ROOT / "augcli" / "presets"
SAMPLES = ROOT / "samples"
PRESETS = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}

runner = CliRunner()


def preset_data(name: str) -> dict:
    return yaml.safe_load((PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def demo_data(name: str) -> dict:
    return yaml.safe_load((RECIPES / f"{name}.yaml").read_text(encoding="utf-8"))


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def test_the_package_sees_every_preset() -> None:
    from augcli.recipe import preset_names

    assert preset_names() == PRESETS
    assert {"natural", "ocr", "satellite", "xray"} <= set(PRESETS)
    assert sorted(p.stem for p in RECIPES.glob("*.yaml")) == PRESETS, "one demo recipe per preset"
    assert not PRESET_DIR.is_symlink(), "presets are installed files, not a link into the repository"


@pytest.mark.parametrize("name", PRESETS)
def test_preset_validates_strictly(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for arg in (name, str(RECIPES / f"{name}.yaml")):
        result = runner.invoke(app, ["validate-recipe", "--strict", arg])
        assert result.exit_code == 0, result.output
        assert f"{arg}: valid (0 errors, 0 warnings)" in result.stderr


@pytest.mark.parametrize("name", PRESETS)
def test_preset_has_the_keys_init_and_presets_rely_on(name: str) -> None:
    data = preset_data(name)
    assert data["augcli"] == 1
    assert data["name"] == name
    assert data["seed"] == 0
    assert data["description"].strip() and "\n" not in data["description"].strip()
    assert "input" not in data and "path" not in data["output"], "an installed preset points at no folder"
    assert not data.get("silence"), "presets pass --strict without silencing lint rules"


@pytest.mark.parametrize("name", PRESETS)
def test_demo_recipe_extends_its_preset_with_sample_input(name: str) -> None:
    data = demo_data(name)
    assert (data["extends"], data["name"]) == (name, name)
    assert data["input"].startswith("../samples/") and (RECIPES / data["input"]).is_dir()
    assert data["output"] == {"path": f"../out/{name}"}
    assert set(data) == {"augcli", "extends", "name", "input", "output"}, "the preset decides every step"


def test_presets_lists_every_preset_with_its_description() -> None:
    result = runner.invoke(app, ["presets"])
    assert result.exit_code == 0, result.output
    rows = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in result.stdout.splitlines() if line.strip()}
    assert sorted(rows) == PRESETS
    for name in PRESETS:
        assert rows[name] == preset_data(name)["description"].strip().splitlines()[0]


@pytest.mark.parametrize("name", PRESETS)
def test_init_writes_a_recipe_that_validates(tmp_path: Path, name: str) -> None:
    target = tmp_path / "project" / "recipe.yaml"
    target.parent.mkdir()
    result = runner.invoke(app, ["init", "--preset", name, str(target)])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert "input" not in written
    assert written["output"]["path"] == f"out/{name}"
    assert {k: v for k, v in written["output"].items() if k != "path"} == preset_data(name)["output"]
    assert "#" in target.read_text(encoding="utf-8"), "the preset's comments are kept"
    check = runner.invoke(app, ["validate-recipe", "--strict", str(target)])
    assert check.exit_code == 0, check.output


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "recipe.yaml"
    target.write_text("# mine\n", encoding="utf-8")
    result = runner.invoke(app, ["init", "--preset", "natural", str(target)])
    assert result.exit_code == 2
    assert result.stderr == f"augcli: error: file exists; pass --force to overwrite it ({target})\n"
    assert target.read_text(encoding="utf-8") == "# mine\n"
    forced = runner.invoke(app, ["init", "--preset", "natural", "--force", str(target)])
    assert forced.exit_code == 0, forced.output
    assert "name: natural" in target.read_text(encoding="utf-8")


def test_init_with_an_unknown_preset_suggests_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--preset", "naturl", str(tmp_path / "r.yaml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("augcli: error: unknown preset 'naturl'; did you mean natural?")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "r.yaml").exists()


@pytest.mark.parametrize("name", PRESETS)
def test_preset_default_input_holds_images(name: str) -> None:
    folder = (RECIPES / demo_data(name)["input"]).resolve()
    assert folder.is_dir()
    found = images_in(folder)
    assert found, f"no images in {folder}"
    for path in found:
        with Image.open(path) as image:
            image.verify()


def test_natural_samples_have_splits_and_classes_without_leakage() -> None:
    train = images_in(SAMPLES / "natural" / "train")
    val = images_in(SAMPLES / "natural" / "val")
    assert len(train) >= 6 and len(val) >= 2
    assert all(p.parent.parent.name in {"train", "val"} for p in train + val), "split/class/image layout"
    train_stems = {p.stem for p in train}
    assert not train_stems & {p.stem for p in val}
    assert not {p.read_bytes() for p in train} & {p.read_bytes() for p in val}


def test_every_sample_is_in_sources_md() -> None:
    sources = (SAMPLES / "SOURCES.md").read_text(encoding="utf-8")
    for path in images_in(SAMPLES):
        shown = path.relative_to(SAMPLES / path.relative_to(SAMPLES).parts[0]).as_posix()
        assert shown in sources, f"{path.relative_to(SAMPLES)} is not described in samples/SOURCES.md"


def test_readme_presets_section_names_every_preset() -> None:
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing"
    text = readme.read_text(encoding="utf-8")
    match = re.search(r"^## Presets[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Presets' section"
    missing = [name for name in PRESETS if not re.search(rf"\b{re.escape(name)}\b", match.group(1))]
    assert not missing, f"presets missing from the README's Presets section: {', '.join(missing)}"
