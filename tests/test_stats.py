"""`augcli stats`: exact per-channel mean/std against numpy, worker-count independence, bad files skipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from augcli.cli import app
from augcli.datasets import discover
from augcli.imageio import read_image
from augcli.stats import compute_stats

ROOT = Path(__file__).resolve().parents[1]
NATURAL = ROOT / "samples" / "natural"
DATA = Path(__file__).resolve().parent / "data"
runner = CliRunner()


def numpy_stats(root: Path, rels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The reference: every pixel of every image in one float64 array, gray counted as three channels."""
    planes = []
    for rel in rels:
        px = read_image(root / rel).pixels
        px = px if px.ndim == 3 else np.repeat(px[..., None], 3, axis=2)
        planes.append(px[..., :3].reshape(-1, 3).astype(np.float64) / 255.0)
    allpx = np.concatenate(planes)
    return allpx.mean(axis=0), allpx.std(axis=0)


def test_mean_and_std_match_numpy_and_do_not_depend_on_workers() -> None:
    rels = [s.rel for s in discover(NATURAL).samples if s.split == "train"]
    mean, std = numpy_stats(NATURAL, rels)
    one = compute_stats(NATURAL, workers=1)
    two = compute_stats(NATURAL, workers=2)
    assert one.images == len(rels) == 6
    np.testing.assert_allclose(one.mean, mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(one.std, std, rtol=0, atol=1e-6)
    assert one.to_json() == two.to_json()  # exact integer sums: identical, not merely close
    assert one.widths == [328, 384] and one.heights == [255, 384] and one.modes == {"RGB": 6}
    for ch in one.per_channel:
        assert 0 <= ch.percentiles["p1"] <= ch.percentiles["p50"] <= ch.percentiles["p99"] <= 1


def test_cli_json_out_split_and_unreadable_files(tmp_path: Path) -> None:
    data = tmp_path / "ds"
    (data / "train").mkdir(parents=True)
    (data / "val").mkdir()
    shutil.copy(NATURAL / "train/animal/chelsea.jpg", data / "train/chelsea.jpg")
    shutil.copy(DATA / "camera.png", data / "train/camera.png")  # grayscale: counted as R = G = B
    shutil.copy(DATA / "truncated_jpeg.jpg", data / "train/broken.jpg")
    shutil.copy(NATURAL / "val/animal/squirrel.jpg", data / "val/squirrel.jpg")
    out = tmp_path / "stats.json"
    result = runner.invoke(app, ["stats", str(data), "--workers", "1", "--json", "--out", str(out)])
    assert result.exit_code == 1, result.output  # computed, but a file was skipped
    assert "skipped unreadable train/broken.jpg" in result.stderr
    written = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == written
    assert written["images"] == 2 and written["split"] == "train" and written["channels"] == 3
    assert [u[0] for u in written["unreadable"]] == ["train/broken.jpg"]
    mean, std = numpy_stats(data, ["train/chelsea.jpg", "train/camera.png"])
    np.testing.assert_allclose(written["mean"], mean, atol=1e-6)
    np.testing.assert_allclose(written["std"], std, atol=1e-6)

    val = runner.invoke(app, ["stats", str(data), "-w", "1", "--split", "val"])
    assert val.exit_code == 0, val.output
    assert val.stdout.startswith("1 images (val split)")
    assert "mean: [" in val.stdout and "p99" in val.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--split", "holdout"], "unknown split 'holdout'"), (["--split", "test"], "no images in the test split")],
)
def test_cli_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["stats", str(NATURAL), "-w", "1", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_help_says_statistics_come_from_training_data() -> None:
    result = runner.invoke(app, ["stats", "--help"])
    assert result.exit_code == 0
    assert "training data" in " ".join(result.stdout.split())
