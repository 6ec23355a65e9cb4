"""The torchvision, Keras and imgaug recipes: they validate strictly, run, change images, and keep their ranges."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from augcli.cli import app
from augcli.imageio import read_image

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
NATURAL = ROOT / "samples" / "natural"
SOURCES = ["torchvision-small", "torchvision-general", "torchvision-large", "keras-imagedatagenerator"]
runner = CliRunner()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two training photos and one validation photo: enough to see every copy differ, fast."""
    root = tmp_path_factory.mktemp("small")
    for rel in ("train/animal/chelsea.jpg", "train/object/coffee.jpg", "val/animal/squirrel.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(NATURAL / rel, root / rel)
    return root


def run_recipe(name: str, source: Path, out: Path) -> list[dict]:
    result = runner.invoke(app, ["run", str(RECIPES / f"{name}.yaml"), "-i", str(source), "-o", str(out), "-w", "1"])
    assert result.exit_code == 0, result.output
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("name", SOURCES)
def test_recipe_runs_and_augmented_copies_differ(tmp_path: Path, small: Path, name: str) -> None:
    records = run_recipe(name, small, tmp_path / "out")
    copies = [r for r in records if r["copy"] > 0]
    assert len(copies) == 2 * 4 and all(r["split"] == "train" for r in copies)
    assert {r["split"] for r in records if r["copy"] == 0} == {"train", "val"}
    for record in copies:
        original = read_image(tmp_path / "out" / record["output"].replace(f"__aug{record['copy']:03d}", "")).pixels
        augmented = read_image(tmp_path / "out" / record["output"]).pixels
        assert augmented.shape == original.shape
        assert np.abs(augmented.astype(int) - original.astype(int)).mean() > 1, record["output"]


def test_randaugment_applies_exactly_num_ops(tmp_path: Path, small: Path) -> None:
    records = run_recipe("torchvision-general", small, tmp_path / "out")
    ops = [t["params"]["ops"] for r in records for t in r["transforms"] if t["name"] == "RandAugment"]
    assert len(ops) == 8  # p=1: every copy
    assert all(len(o) == 2 for o in ops)


def test_keras_brightness_factor_stays_in_its_range(tmp_path: Path, small: Path) -> None:
    records = run_recipe("keras-imagedatagenerator", small, tmp_path / "out")
    factors = [t["params"]["factor"] for r in records for t in r["transforms"] if t["name"] == "BrightnessRange"]
    affine = [t["params"] for r in records for t in r["transforms"] if t["name"] == "KerasAffine"]
    assert len(factors) == len(affine) == 8
    assert all(0.8 <= f <= 1.2 for f in factors) and len(set(factors)) == 8
    assert all(abs(a["theta"]) <= 20 and 0.8 <= a["zx"] <= 1.2 and abs(a["shear"]) <= 10 for a in affine)


def test_imgaug_catalogue_runs_on_the_natural_samples(tmp_path: Path) -> None:
    check = runner.invoke(app, ["validate-recipe", "--strict", "-q", str(RECIPES / "imgaug-catalogue.yaml")])
    assert check.exit_code == 0, check.output
    records = run_recipe("imgaug-catalogue", NATURAL, tmp_path / "out")
    assert len(records) == 6 * 5 + 2
    fired = {t["name"] for r in records for t in r["transforms"]}
    assert {"Rotate", "ElasticTransform", "CoarseDropout", "HorizontalFlip"} <= fired


def test_keras_recipe_explains_why_zca_whitening_is_rejected() -> None:
    text = (ROOT / "augcli" / "presets" / "keras-imagedatagenerator.yaml").read_text(encoding="utf-8")
    assert "zca_whitening" in text and "150528" in text and "featurewise" in text
