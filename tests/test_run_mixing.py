"""MixUp / CutMix inside `augcli run`: partners from the training split, soft labels, labels.csv."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import tree_hashes
from typer.testing import CliRunner

from augcli.cli import app
from augcli.imageio import read_image
from augcli.recipe import load_recipe
from augcli.render import Processor

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "samples" / "natural"
runner = CliRunner()

RECIPE = """\
augcli: 1
name: mixing
seed: 11
copies: 6
output: {format: png}
preprocess:
  - SmallestMaxSize: {max_size: 80}
  - CenterCrop: {height: 80, width: 80}
augment:
  - HorizontalFlip: {p: 0.5}
  - RandomBrightnessContrast: {p: 0.5}
mix: {p_mixup: 0.5, p_cutmix: 0.5, mixup_alpha: 0.4, cutmix_alpha: 1.0}
"""


@pytest.fixture()
def mixed_run(tmp_path: Path) -> tuple[Path, Path, Path]:
    data = tmp_path / "natural"
    shutil.copytree(NATURAL, data)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(recipe), "-i", str(data), "-o", str(out), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    return recipe, data, out


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_partners_come_from_train_and_soft_labels_sum_to_one(mixed_run: tuple[Path, Path, Path]) -> None:
    _, _, out = mixed_run
    recs = records(out)
    mixed = [r for r in recs if "mix" in r]
    assert len(mixed) > 10 and {r["mix"]["mode"] for r in mixed} == {"mixup", "cutmix"}
    for r in recs:
        if r["split"] == "val" or r["copy"] == 0:
            assert "mix" not in r  # validation data and originals are never mixed
    for r in mixed:
        assert r["mix"]["partner"].startswith("train/") and r["mix"]["partner"] != r["source"]
        assert sum(r["soft_label"].values()) == pytest.approx(1.0, abs=1e-6)
        partner_class = r["mix"]["partner"].split("/")[1]
        expected = {r["class"]: r["mix"]["lam"]}
        expected[partner_class] = expected.get(partner_class, 0) + 1 - r["mix"]["lam"]
        assert r["soft_label"] == pytest.approx({k: v for k, v in expected.items() if v}, abs=1e-6)


def test_cutmix_lambda_is_the_area_left_to_the_image(mixed_run: tuple[Path, Path, Path]) -> None:
    _, _, out = mixed_run
    for r in records(out):
        if r.get("mix", {}).get("mode") == "cutmix":
            x1, y1, x2, y2 = r["mix"]["box"]
            width, height = r["size"]
            assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
            assert 1 - r["mix"]["lam"] == pytest.approx((x2 - x1) * (y2 - y1) / (width * height), abs=1e-6)


def test_mixup_pixels_are_the_recorded_blend(mixed_run: tuple[Path, Path, Path]) -> None:
    recipe_path, data, out = mixed_run
    recipe = load_recipe(recipe_path)
    plain = Processor(dataclasses.replace(recipe, mix={}))  # same augment draws: mixing has its own stream
    rec = next(r for r in records(out) if r.get("mix", {}).get("mode") == "mixup")
    rel, partner, k, lam = rec["source"], rec["mix"]["partner"], rec["copy"], rec["mix"]["lam"]
    own = plain.copy(plain.preprocess(read_image(data / rel), rel), rel, k).pixels.astype(np.float64)
    key = f"{rel}\x00mix\x00{partner}"
    other = plain.copy(plain.preprocess(read_image(data / partner), partner), key, k).pixels.astype(np.float64)
    written = read_image(out / rec["output"]).pixels.astype(np.float64)
    assert np.abs(written - (lam * own + (1 - lam) * other)).max() <= 1.0


def test_labels_csv_has_a_row_per_output_matching_the_manifest(mixed_run: tuple[Path, Path, Path]) -> None:
    _, _, out = mixed_run
    rows = list(csv.DictReader(io.StringIO((out / "labels.csv").read_text())))
    recs = {r["output"]: r for r in records(out)}
    assert [row["output"] for row in rows] == sorted(recs)
    assert list(rows[0]) == ["output", "animal", "object", "person"]
    for row in rows:
        weights = {k: float(v) for k, v in row.items() if k != "output"}
        assert sum(weights.values()) == pytest.approx(1.0, abs=1e-5)
        rec = recs[row["output"]]
        expected = rec.get("soft_label") or {rec["class"]: 1.0}
        assert {k: v for k, v in weights.items() if v} == pytest.approx(expected, abs=1e-5)


def test_mixing_is_deterministic_across_workers(mixed_run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    recipe, data, out = mixed_run
    two = tmp_path / "two"
    result = runner.invoke(app, ["run", str(recipe), "-i", str(data), "-o", str(two), "-w", "2", "-q"])
    assert result.exit_code == 0, result.output

    assert tree_hashes(out, skip=("run",)) == tree_hashes(two, skip=("run",))
