"""The online side: load_pipeline, export for albumentations.load, test-time augmentation, writability."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
from typer.testing import CliRunner

import augcli
from augcli.cli import app
from augcli.imageio import read_image
from augcli.recipe import check_recipe, load_recipe
from augcli.recipe.writable import check_writable

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
RETINA = ROOT / "samples" / "fundus" / "retina.jpg"
CHELSEA = ROOT / "samples" / "natural" / "train" / "animal" / "chelsea.jpg"
runner = CliRunner()


def seeded(compose: A.Compose, seed: int, image: np.ndarray) -> np.ndarray:
    compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
    return compose(image=image)["image"]


def test_import_augcli_stays_light() -> None:
    code = "import augcli, sys; assert 'albumentations' not in sys.modules; print(callable(augcli.load_pipeline))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_eval_pipeline_is_what_run_writes_for_val_images(tmp_path: Path) -> None:
    data = tmp_path / "ds" / "val"
    data.mkdir(parents=True)
    shutil.copy(RETINA, data / "retina.jpg")
    recipe = tmp_path / "fundus-png.yaml"
    recipe.write_text("augcli: 1\nname: fundus-png\nextends: fundus\noutput: {format: png}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(recipe), "-i", str(tmp_path / "ds"), "-o", str(out), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    written = read_image(out / "val" / "retina.png").pixels
    image = read_image(RETINA).pixels
    assert np.array_equal(augcli.load_pipeline(recipe, split="eval")(image=image)["image"], written)

    train = augcli.load_pipeline("fundus", split="train")
    assert len(train.transforms) == 8 and len(augcli.load_pipeline("fundus", split="eval").transforms) == 2
    first, second = train(image=image)["image"], train(image=image)["image"]
    assert first.shape == second.shape == (512, 512, 3)
    assert not np.array_equal(first, second)


def test_load_pipeline_appends_normalize_from_stats_last(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"mean": [0.5, 0.4, 0.3], "std": [0.25, 0.2, 0.2]}), encoding="utf-8")
    pipe = augcli.load_pipeline("natural", split="eval", stats=stats)
    assert isinstance(pipe.transforms[-1], A.Normalize)
    image = read_image(CHELSEA).pixels
    plain = augcli.load_pipeline("natural", split="eval")(image=image)["image"].astype(np.float32) / 255
    got = pipe(image=image)["image"]
    expected = (plain - np.float32([0.5, 0.4, 0.3])) / np.float32([0.25, 0.2, 0.2])
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize(("name", "suffix"), [("fundus", ".json"), ("keras-imagedatagenerator", ".yaml"),
                                             ("torchvision-general", ".json")])  # fmt: skip
def test_export_round_trips_through_albumentations_load(tmp_path: Path, name: str, suffix: str) -> None:
    out = tmp_path / f"pipeline{suffix}"
    result = runner.invoke(app, ["export", name, "--split", "train", "--format", "albumentations", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "augcli.transforms." in text  # augcli's own transforms by full class path
    import augcli.transforms  # registers them with albumentations' serialization registry

    loaded = A.load(str(out), data_format="yaml" if suffix == ".yaml" else "json")
    own = augcli.load_pipeline(name, split="train")
    image = read_image(RETINA if name == "fundus" else CHELSEA).pixels
    for seed in range(4):
        assert np.array_equal(seeded(loaded, seed, image), seeded(own, seed, image))


def test_export_eval_is_the_preprocess_and_prints_json_by_default() -> None:
    result = runner.invoke(app, ["export", "fundus", "--split", "eval"])
    assert result.exit_code == 0, result.output
    names = [t["__class_fullname__"] for t in json.loads(result.stdout)["transform"]["transforms"]]
    assert names == ["augcli.transforms.fundus.FundusCrop", "Resize"]
    bad = runner.invoke(app, ["export", "fundus", "--split", "val"])
    assert bad.exit_code == 2 and "unknown split 'val'" in bad.stderr


def test_tta_variants_follow_what_augment_allows() -> None:
    fundus = augcli.tta_variants("fundus")
    names = [n for n, _ in fundus]
    assert names == ["identity", "hflip", "vflip", "rot90", "rot180", "rot270", "transpose", "transverse"]
    image = read_image(RETINA).pixels
    base = augcli.load_pipeline("fundus", split="eval")(image=image)["image"]
    outputs = {}
    for name, compose in fundus:
        out = compose(image=image)["image"]
        outputs[name] = out.tobytes()
        assert np.array_equal(augcli.invert_tta(name, out), base), name
    assert len(set(outputs.values())) == 8
    assert np.array_equal(np.frombuffer(outputs["rot90"], np.uint8).reshape(base.shape), np.rot90(base))
    assert [n for n, _ in augcli.tta_variants("natural")] == ["identity", "hflip"]


def test_tta_closes_the_group(tmp_path: Path) -> None:
    recipe = tmp_path / "flips.yaml"
    recipe.write_text(
        "augcli: 1\nname: flips\naugment:\n  - HorizontalFlip: {p: 0.5}\n  - VerticalFlip: {p: 0.5}\n", encoding="utf-8"
    )
    assert [n for n, _ in augcli.tta_variants(recipe)] == ["identity", "hflip", "vflip", "rot180"]


def test_check_writable_flags_model_inputs(tmp_path: Path) -> None:
    recipe = tmp_path / "online.yaml"
    recipe.write_text(
        "augcli: 1\nname: online\n"
        "preprocess:\n  - Resize: {height: 64, width: 64}\n  - Normalize: {}\n"
        "augment:\n  - HorizontalFlip: {p: 0.5}\n  - ToFloat: {}\n  - FromFloat: {}\n  - Rescale: {}\n"
        "  - OneOf: {transforms: [{ToFloat: {}}, {Blur: {}}]}\n",
        encoding="utf-8",
    )
    report = check_recipe(recipe, for_disk=False)
    assert report.recipe is not None
    found = dict(check_writable(report.recipe))
    assert set(found) == {("preprocess", 1), ("augment", 3), ("augment", 4, "OneOf", "transforms", 0)}
    assert found[("preprocess", 1)].startswith("Normalize outputs zero-centred floats")
    assert "load_pipeline" in found[("augment", 3)] and "FromFloat" in found[("augment", 3)]
    for preset in RECIPES.glob("*.yaml"):
        assert check_writable(load_recipe(preset)) == [], preset.name
    # validate-recipe and run refuse it, each problem located at its step
    result = CliRunner().invoke(app, ["validate-recipe", str(recipe)])
    assert result.exit_code == 2
    assert "online.yaml:5:5: error: preprocess[1]: Normalize outputs zero-centred floats" in result.output


NORMALIZED = (
    "augcli: 1\nname: normalized\n"
    "preprocess:\n  - Resize: {height: 64, width: 64}\n"
    "augment:\n  - HorizontalFlip: {p: 0.5}\n  - Normalize: {}\n"
)


def test_export_takes_a_recipe_that_ends_with_normalize(tmp_path: Path) -> None:
    recipe = tmp_path / "normalized.yaml"
    recipe.write_text(NORMALIZED, encoding="utf-8")
    out = tmp_path / "pipeline.json"
    result = runner.invoke(app, ["export", str(recipe), "--split", "train", "--out", str(out)])
    assert result.exit_code == 0, result.output
    loaded = A.load(str(out), data_format="json")
    assert [type(t).__name__ for t in loaded.transforms] == ["Resize", "HorizontalFlip", "Normalize"]
    image = read_image(CHELSEA).pixels
    got = seeded(loaded, 0, image)
    assert got.dtype == np.float32 and got.shape == (64, 64, 3)
    assert np.array_equal(got, seeded(augcli.load_pipeline(recipe, split="train"), 0, image))


def test_run_refuses_normalize_and_points_to_export(tmp_path: Path) -> None:
    recipe = tmp_path / "normalized.yaml"
    recipe.write_text(NORMALIZED, encoding="utf-8")
    (tmp_path / "in").mkdir()
    shutil.copy(CHELSEA, tmp_path / "in" / "chelsea.jpg")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(recipe), "-i", str(tmp_path / "in"), "-o", str(out), "-w", "1", "-q"])
    assert result.exit_code == 2, result.output
    assert "normalized.yaml:7:5: error: augment[1]: Normalize outputs zero-centred floats" in result.stderr
    assert "`augcli export`" in result.stderr
    assert not out.exists()
