"""Fused kernels are exact: the same bytes, records and labels as plain Albumentations, seed after seed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from augcli.api import load_pipeline
from augcli.cli import app
from augcli.datasets.labels import LabelOptions, compose_params
from augcli.fused import Fused, fuse_steps, turn
from augcli.imageio import read_image
from augcli.pipeline import applied_summary, build_compose, derive_seed, run_compose
from augcli.recipe import load_recipe
from augcli.render import ADDITIONAL_TARGETS, encode_output

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
PHOTOS = [DATA / "chelsea.png", ROOT / "samples" / "natural" / "train" / "object" / "coffee.jpg"]


def workload_s() -> list[Any]:
    """The benchmark's S steps (issue 12)."""
    return [
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.RandomRotate90(p=0.5),
        A.RandomBrightnessContrast(brightness_limit=0.125, contrast_limit=0, p=0.5),
        A.HueSaturationValue(hue_shift_limit=0, sat_shift_limit=30, val_shift_limit=0, p=0.5),
    ]


def every_family() -> list[Any]:
    """Every fusable class, some p < 1, interrupted by an unfusable step so runs start and end mid-list."""
    return [
        A.Transpose(p=0.4),
        A.HorizontalFlip(p=0.5),
        A.D4(p=0.6),
        A.RandomRotate90(p=0.7),
        A.RandomBrightnessContrast(brightness_limit=0.3, contrast_limit=0.3, p=0.6),
        A.RandomGamma(gamma_limit=(60, 160), p=0.5),
        A.Posterize(num_bits=(3, 7), p=0.3),
        A.Solarize(threshold_range=(0.3, 0.9), p=0.3),
        A.InvertImg(p=0.3),
        A.HueSaturationValue(hue_shift_limit=15, sat_shift_limit=40, val_shift_limit=25, p=0.6),
        A.RandomBrightnessContrast(brightness_by_max=False, p=0.5),  # samples from the mean: stays unfused
        A.GaussNoise(p=0.3),
        A.SquareSymmetry(p=0.5),
        A.VerticalFlip(p=0.5),
        A.HueSaturationValue(hue_shift_limit=0, sat_shift_limit=30, val_shift_limit=0, p=0.8),
    ]


def per_channel() -> list[Any]:
    """Per-channel tables (RGB only: on gray, Albumentations' per-channel Posterize reads columns)."""
    return [
        A.InvertImg(p=0.5),
        A.Posterize(num_bits=[(2, 4), (5, 7), (1, 8)], p=0.7),
        A.RandomGamma(p=0.5),
        A.Solarize(p=0.5),
    ]


def crops() -> list[np.ndarray]:
    """Small crops of real photos: RGB, gray, 16-bit as float32 [0, 1], and odd sizes (37x53, 53x37)."""
    out = []
    for path in PHOTOS:
        rgb = read_image(path).pixels[..., :3]
        small = cv2.resize(rgb, (53, 37), interpolation=cv2.INTER_AREA)
        out += [small, np.ascontiguousarray(small.transpose(1, 0, 2)), cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)]
        out.append((small.astype(np.float32) * 257) / 65535.0)
    return out


def same(a: dict[str, Any], b: dict[str, Any], key: str) -> bool:
    x, y = np.asarray(a[key]), np.asarray(b[key])
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def plain_and_fused(steps: Any, **kwargs: Any) -> tuple[A.Compose, A.Compose]:
    plain = A.Compose(steps(), save_applied_params=True, strict=True, **kwargs)
    fused = A.Compose(fuse_steps(steps()), save_applied_params=True, strict=True, **kwargs)
    assert any(isinstance(t, Fused) for t in fused.transforms)
    return plain, fused


@pytest.mark.filterwarnings("ignore:HueSaturationValue")  # gray images: Albumentations warns, both paths alike
@pytest.mark.parametrize("steps, seeds", [(workload_s, 300), (every_family, 120), (per_channel, 150)])
def test_fused_pixels_and_records_equal_albumentations_for_every_seed(steps: Any, seeds: int) -> None:
    plain, fused = plain_and_fused(steps)
    images, compared = crops(), 0
    if steps is per_channel:
        images = [i for i in images if i.ndim == 3]
    for seed in range(seeds):
        for image in images:
            a = run_compose(plain, seed, image=image)
            b = run_compose(fused, seed, image=image)
            assert same(a, b, "image"), (seed, image.shape, image.dtype, a["applied_transforms"])
            assert applied_summary(a["applied_transforms"]) == applied_summary(b["applied_transforms"])
            assert repr(a["applied_transforms"]) == repr(b["applied_transforms"])
            compared += 1
    assert compared == seeds * len(images) >= 600


def test_later_steps_see_the_same_random_stream() -> None:
    """A fused run consumes exactly its members' draws: an unfused step after it samples the same noise."""

    def steps() -> list[Any]:
        return [*workload_s(), A.GaussNoise(std_range=(0.1, 0.3), p=1.0), A.CoarseDropout(p=1.0)]

    plain, fused = plain_and_fused(steps)
    image = crops()[0]
    for seed in range(200):
        a, b = run_compose(plain, seed, image=image), run_compose(fused, seed, image=image)
        assert same(a, b, "image"), seed


def labelled_sample(rng: np.random.Generator, height: int, width: int) -> dict[str, Any]:
    x0, y0 = rng.uniform(0, width / 2, 3), rng.uniform(0, height / 2, 3)
    boxes = np.stack([x0, y0, x0 + rng.uniform(0.5, width / 2, 3), y0 + rng.uniform(0.5, height / 2, 3)], 1)
    return {
        "image": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "alpha": rng.integers(0, 256, (height, width), dtype=np.uint8),
        "masks": [rng.integers(0, 3, (height, width), dtype=np.uint8) for _ in range(2)],
        "bboxes": boxes,
        "bbox_ids": [0, 1, 2],
        "keypoints": np.stack([rng.uniform(0, width, 4), rng.uniform(0, height, 4)], 1),
        "keypoint_ids": [0, 1, 2, 3],
    }


def test_masks_boxes_and_keypoints_move_exactly_as_albumentations_moves_them() -> None:
    options = LabelOptions(min_visibility=0.3, min_area=4.0)
    plain, fused = plain_and_fused(every_family, additional_targets=ADDITIONAL_TARGETS, **compose_params(options))
    rng = np.random.default_rng(0)
    for seed in range(150):
        sample = labelled_sample(rng, int(rng.integers(8, 40)), int(rng.integers(8, 40)))
        a, b = run_compose(plain, seed, **sample), run_compose(fused, seed, **sample)
        for key in ("image", "alpha", "masks", "bboxes", "bbox_ids", "keypoints", "keypoint_ids"):
            assert same(a, b, key), (seed, key)
        assert repr(a["applied_transforms"]) == repr(b["applied_transforms"])


@pytest.mark.parametrize(
    "shape, dtype",
    [
        ((37, 53, 3), np.uint8),
        ((37, 53), np.uint8),
        ((37, 53, 1), np.uint8),
        ((9, 7, 4), np.float32),
        ((9, 7, 6), np.uint8),
        ((9, 7), np.bool_),
        ((9, 7, 2), np.float64),
    ],
)
def test_one_call_turn_equals_albumentations_d4_for_every_element(shape: tuple[int, ...], dtype: Any) -> None:
    from albumentations.augmentations.geometric import functional as fgeometric

    img = (np.random.default_rng(3).random(shape) * 200).astype(dtype)
    for element in ("e", "r90", "r180", "r270", "v", "hvt", "h", "t"):
        want = fgeometric.d4(img, element)  # type: ignore[arg-type]
        got = turn(img, element)
        assert got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want), element
        assert got.flags.c_contiguous


def test_only_exact_classes_are_fused() -> None:
    class OwnFlip(A.HorizontalFlip):
        pass

    steps = [OwnFlip(), A.HorizontalFlip(), A.RandomBrightnessContrast(brightness_by_max=False), A.InvertImg()]
    kinds = [type(t).__name__ for t in fuse_steps(steps)]
    assert kinds == ["OwnFlip", "FusedDihedral", "RandomBrightnessContrast", "FusedColour"]


S_RECIPE = """\
augcli: 1
name: fused-s
seed: 3
copies: 3
output: {format: png}
preprocess:
  - Resize: {height: 40, width: 56}
augment:
  - HorizontalFlip: {p: 0.5}
  - VerticalFlip: {p: 0.5}
  - RandomRotate90: {p: 0.5}
  - RandomBrightnessContrast: {brightness_limit: 0.125, contrast_limit: 0, p: 0.5}
  - HueSaturationValue: {hue_shift_limit: 0, sat_shift_limit: 30, val_shift_limit: 0, p: 0.5}
"""


def test_run_writes_what_load_pipeline_makes_with_the_same_seed(tmp_path: Path) -> None:
    """`run` (fused) and `load_pipeline` (the plain Compose users get) agree file by file and record by record."""
    data = tmp_path / "in" / "train" / "cat"
    data.mkdir(parents=True)
    for path in PHOTOS:
        shutil.copy(path, data / path.name)
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(S_RECIPE, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["run", str(recipe_path), "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-w", "1", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    recipe = load_recipe(recipe_path)
    plain = load_pipeline(recipe_path, "train", save_applied_params=True)
    assert not any(isinstance(t, Fused) for t in plain.transforms)
    assert any(isinstance(t, Fused) for t in build_compose(recipe.augment).transforms)
    lines = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    copies = [r for r in lines if r["copy"] > 0]
    assert len(copies) == 3 * len(PHOTOS)
    for record in copies:
        decoded = read_image(tmp_path / "in" / record["source"])
        # load_pipeline's one Compose runs the preprocess too (Resize draws nothing), then the augment
        out = run_compose(plain, derive_seed(recipe.seed, record["source"], record["copy"]), image=decoded.pixels)
        want, _ = encode_output(recipe, record["source"], out["image"], decoded)
        assert (tmp_path / "out" / record["output"]).read_bytes() == want, record["output"]
        assert record["transforms"] == applied_summary(out["applied_transforms"])[1:]


# --------------------------------------------------------------------------- shrink-on-load

SHRINK_RECIPE = """\
augcli: 1
name: shrink
seed: 1
copies: 1
{decode}
output: {{format: png}}
preprocess:
  - LongestMaxSize: {{max_size: {size}, interpolation: 3}}
augment:
  - HorizontalFlip: {{p: 0.5}}
"""
JPEGS = sorted((ROOT / "samples").rglob("*.jpg")) + sorted((DATA / "labels" / "voc" / "JPEGImages").glob("*.jpg"))


def shrink_recipe(tmp_path: Path, size: int, decode: str = "") -> Any:
    path = tmp_path / f"shrink-{size}-{decode.split(':')[-1].strip() or 'default'}.yaml"
    path.write_text(SHRINK_RECIPE.format(size=size, decode=decode), encoding="utf-8")
    return load_recipe(path)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("path", [*JPEGS, DATA / "hopper_orientation_6.jpg"], ids=lambda p: p.name)
def test_shrink_on_load_stays_within_40_db_of_the_exact_decode(path: Path, tmp_path: Path) -> None:
    from augcli.render import Processor

    width, height = read_image(path).pixels.shape[1::-1]
    size = max(width, height) // 18  # small enough for a 1/2 decode (8x margin on both sides)
    fast = Processor(shrink_recipe(tmp_path, size))
    exact = Processor(shrink_recipe(tmp_path, size, "decode: exact"))
    small, full = fast.read_file(path), exact.read_file(path)
    assert small.scale >= 2 and full.scale == 1
    assert small.pixels.shape[0] == -(-full.pixels.shape[0] // small.scale)  # upright: EXIF turn applied
    a = fast.original(fast.preprocess(small, path.name)).pixels
    b = exact.original(exact.preprocess(full, path.name)).pixels
    assert a.shape == b.shape
    assert psnr(a, b) >= 40.0, path.name


def test_shrink_on_load_only_where_an_area_resize_would_average_it_away(tmp_path: Path) -> None:
    from augcli.render import Processor
    from augcli.shrink import plan_shrink

    photo = ROOT / "samples" / "fundus" / "retina.jpg"  # 600 px
    assert Processor(shrink_recipe(tmp_path, 36)).read_file(photo).scale == 2
    assert Processor(shrink_recipe(tmp_path, 18)).read_file(photo).scale == 4
    assert Processor(shrink_recipe(tmp_path, 40)).read_file(photo).scale == 1  # 300 px < 8 x 40
    assert Processor(shrink_recipe(tmp_path, 36), labels=LabelOptions()).read_file(photo).scale == 1
    linear = shrink_recipe(tmp_path, 36)
    linear.preprocess[0].params.pop("interpolation")
    assert plan_shrink(linear) is None  # INTER_LINEAR aliases: the exact path is not an average to match


def test_run_records_the_decode_scale_and_decode_exact_turns_it_off(tmp_path: Path) -> None:
    data = tmp_path / "in" / "train" / "eye"
    data.mkdir(parents=True)
    shutil.copy(ROOT / "samples" / "fundus" / "retina.jpg", data / "retina.jpg")
    results = {}
    for decode in ("", "decode: exact"):
        recipe_path = tmp_path / f"r{len(results)}.yaml"
        recipe_path.write_text(SHRINK_RECIPE.format(size=36, decode=decode), encoding="utf-8")
        out = tmp_path / f"out{len(results)}"
        args = ["run", str(recipe_path), "-i", str(tmp_path / "in"), "-o", str(out), "-w", "1", "--quiet"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
        run = json.loads((out / "run.json").read_text())
        results[decode] = (lines, run)
    fast_lines, fast_run = results[""]
    exact_lines, exact_run = results["decode: exact"]
    assert fast_run["decode"] == "fast" and exact_run["decode"] == "exact"
    assert {r.get("decode_scale") for r in fast_lines} == {2}
    assert all("decode_scale" not in r for r in exact_lines)
    assert [r["size"] for r in fast_lines] == [r["size"] for r in exact_lines] == [[36, 36], [36, 36]]
