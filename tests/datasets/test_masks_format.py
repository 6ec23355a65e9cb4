"""The generic `masks` label format: `images/` + `masks/` paired by stem, one or several masks per image."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import tree_hashes
from PIL import Image
from typer.testing import CliRunner

from augcli.cli import app
from augcli.datasets import discover_dataset
from augcli.imageio import read_image, read_index_mask

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "labels"
runner = CliRunner()

RECIPE = """\
augcli: 1
name: masks-test
seed: {seed}
copies: {copies}
output: {{format: png}}
augment:
  - HorizontalFlip: {{p: 0.5}}
  - Rotate: {{limit: 30, p: 0.7}}
  - Affine: {{rotate: [-20, 20], scale: [0.8, 1.2], translate_percent: [-0.15, 0.15], p: 1}}
  - RandomResizedCrop: {{size: [240, 320], scale: [0.5, 1.0], p: 0.6}}
"""

# Saturated colours far from the cat photo's browns and greys; class k is painted in colour k.
COLOURS = {1: (0, 255, 0), 2: (0, 0, 255), 3: (255, 0, 255)}
INSTANCES = {1: 7, 2: 9, 3: 4}  # the instance mask's id of each painted region
PALETTE = [0, 0, 0] + [v for c in COLOURS.values() for v in c] + [0, 0, 0] * 251 + [255, 255, 255]
BORDER = 8  # the mask's void frame, in pixels


def painted() -> tuple[np.ndarray, np.ndarray]:
    """The cat photo with three painted regions, and its class mask (0 background, 255 void frame)."""
    image = np.array(Image.open(DATA / "chelsea.png").convert("RGB"))  # 451x300
    image[40:130, 30:150] = COLOURS[1]
    image[160:270, 280:420] = COLOURS[2]
    cv2.fillPoly(image, [np.array([[200, 30], [280, 140], [150, 120]], np.int32)], COLOURS[3])
    mask = np.zeros(image.shape[:2], np.uint8)
    for k, colour in COLOURS.items():
        mask[np.all(image == colour, axis=-1)] = k
    mask[:BORDER], mask[-BORDER:], mask[:, :BORDER], mask[:, -BORDER:] = 255, 255, 255, 255
    return image, mask


def save_palette(path: Path, indices: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.tobytes())
    im.putpalette(PALETTE)
    im.save(path)


def save(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def instances_of(mask: np.ndarray) -> np.ndarray:
    out = np.zeros_like(mask)
    for k, inst in INSTANCES.items():
        out[mask == k] = inst
    out[mask == 255] = 255
    return out


def single(root: Path) -> Path:
    """images/cat.png + masks/cat.png, and images/plain.jpg without a mask (a background image)."""
    image, mask = painted()
    save(root / "images" / "cat.png", image)
    save_palette(root / "masks" / "cat.png", mask)
    save(root / "images" / "plain.jpg", np.array(Image.open(DATA / "chelsea.png").convert("RGB"))[::-1])
    return root


def several(root: Path) -> Path:
    """images/<split>/ + masks/<split>/<kind>/: `class` (palette) and `instance` (grayscale) masks."""
    image, mask = painted()
    save(root / "images" / "train" / "a.png", image)
    save_palette(root / "masks" / "train" / "class" / "a.png", mask)
    save(root / "masks" / "train" / "instance" / "a.tif", instances_of(mask))
    save(root / "images" / "val" / "b.png", image[:, ::-1].copy())
    save_palette(root / "masks" / "val" / "class" / "b.bmp", mask[:, ::-1].copy())
    return root


def run(tmp_path: Path, src: Path, out: Path, *extra: str, seed: int = 3, copies: int = 6) -> str:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(seed=seed, copies=copies), encoding="utf-8")
    result = runner.invoke(app, ["run", str(recipe), "-i", str(src), "-o", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def inner(region: np.ndarray, size: int = 5) -> np.ndarray:
    return cv2.erode(region.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)


def colour(pixels: np.ndarray, k: int, tol: int = 30) -> np.ndarray:
    return np.all(np.abs(pixels[..., :3].astype(int) - COLOURS[k]) <= tol, axis=-1)


def test_every_output_has_its_mask_aligned_with_the_painted_colours(tmp_path: Path) -> None:
    src, out = single(tmp_path / "src"), tmp_path / "out"
    run(tmp_path, src, out)
    records = manifest(out)
    assert {r["source"] for r in records} == {"images/cat.png", "images/plain.jpg"}
    padded = 0
    for rec in records:
        mask_path = out / "masks" / (Path(rec["output"]).stem + ".png")
        if rec["source"] == "images/plain.jpg":  # a background image stays one: no mask
            assert not mask_path.exists() and rec.get("labels", {}).get("files", []) == []
            continue
        assert rec["labels"]["files"] == [mask_path.relative_to(out).as_posix()]
        assert rec["labels"]["masks"] == ["mask"]
        pixels = read_image(out / rec["output"]).pixels
        indices, palette = read_index_mask(mask_path)
        assert indices.shape == pixels.shape[:2]
        assert palette is not None and palette[:12] == PALETTE[:12] and palette[765:768] == [255, 255, 255]
        assert set(np.unique(indices).tolist()) <= {0, 1, 2, 3, 255}  # nearest neighbour, nothing blended
        for k in COLOURS:
            region = inner(indices == k)
            if region.sum() > 20:  # the class region is the painted colour ...
                assert colour(pixels, k)[region].mean() >= 0.95, (rec["output"], k)
            painted_k = inner(colour(pixels, k, tol=0))
            if painted_k.sum() > 20:  # ... and the painted colour is the class
                assert (indices[painted_k] == k).mean() >= 0.95, (rec["output"], k)
        fill = inner(np.all(pixels[..., :3] == 0, axis=-1), 7)  # padding: black in the image, void in the mask
        if fill.sum() > 50:
            padded += 1
            assert (indices[fill] == 255).all(), rec["output"]
    assert padded >= 2


def test_several_masks_per_image_move_together_and_keep_their_modes(tmp_path: Path) -> None:
    src, out = several(tmp_path / "src"), tmp_path / "out"
    found = discover_dataset(src)
    assert found.layout == "masks" and {s.split for s in found.samples} == {"train", "val"}
    run(tmp_path, src, out)
    pairs = {(k, INSTANCES[k]) for k in COLOURS} | {(0, 0), (255, 255)}
    seen = set()
    for rec in manifest(out):
        stem = Path(rec["output"]).stem
        split = rec["split"]
        assert rec["output"] == f"images/{split}/{stem}.png"
        cls, cls_palette = read_index_mask(out / "masks" / split / "class" / f"{stem}.png")
        assert cls.shape == read_image(out / rec["output"]).pixels.shape[:2]
        assert cls_palette is not None and cls_palette[:12] == PALETTE[:12]
        instance_path = out / "masks" / split / "instance" / f"{stem}.png"
        if split == "val":  # b has a class mask only (a .bmp, written as .png)
            assert not instance_path.exists() and rec["labels"]["masks"] == ["class"]
            continue
        assert rec["labels"]["masks"] == ["class", "instance"]
        inst, inst_palette = read_index_mask(instance_path)
        assert inst_palette is None  # grayscale stays grayscale
        both = set(zip(cls.ravel().tolist(), inst.ravel().tolist(), strict=True))
        assert both <= pairs, rec["output"]  # the same warp moved both masks
        seen |= both
    assert seen == pairs


def test_split_folders_holding_images_and_masks(tmp_path: Path) -> None:
    image, mask = painted()
    src, out = tmp_path / "src", tmp_path / "out"
    for split in ("train", "valid"):
        save(src / split / "images" / "cat.png", image)
        save_palette(src / split / "masks" / "cat.png", mask)
    run(tmp_path, src, out, copies=1)
    records = manifest(out)
    assert {r["split"] for r in records} == {"train", "val"}
    for rec in records:
        folder = rec["output"].split("/")[0]
        assert rec["labels"]["files"] == [f"{folder}/masks/{Path(rec['output']).stem}.png"]
        assert (out / rec["labels"]["files"][0]).is_file()


def test_dry_run_names_the_format_and_the_others_win(tmp_path: Path) -> None:
    src = single(tmp_path / "src")
    out = run(tmp_path, src, tmp_path / "out", "--dry-run")
    assert "masks (images/ with masks/): 1 of 2 images labelled; masks" in " ".join(out.split())
    out = run(tmp_path, several(tmp_path / "several"), tmp_path / "o2", "--dry-run")
    assert "masks (images/ with masks/class/, masks/instance/)" in " ".join(out.split())
    assert discover_dataset(LABELS / "voc_seg").layout == "voc"
    (src / "labels").mkdir()
    (src / "labels" / "cat.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    assert discover_dataset(src).layout == "yolo"  # YOLO labels beside masks: YOLO wins


@pytest.mark.parametrize("make", [single, several])
def test_one_and_two_workers_write_identical_files(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    src = make(tmp_path / "src")

    run(tmp_path, src, tmp_path / "one", "--workers", "1", copies=3)
    run(tmp_path, src, tmp_path / "two", "--workers", "2", copies=3)
    one, two = png_hashes(tmp_path / "one"), png_hashes(tmp_path / "two")
    assert one == two and any(k.startswith("masks/") for k in one)


def test_converting_generic_masks_is_refused_not_silently_dropped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    Image.open(DATA / "chelsea.png").convert("RGB").resize((64, 48)).save(data / "images" / "a.jpg")
    Image.new("L", (64, 48), 1).save(data / "masks" / "a.png")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\naugment:\n  - HorizontalFlip: {p: 0.5}\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(recipe), "-i", str(data), "-o", str(tmp_path / "o"), "--to", "coco"])
    assert result.exit_code == 2
    assert "generic masks have no objects to convert" in result.output


def png_hashes(out: Path) -> dict[str, str]:
    return tree_hashes(out, skip=(), suffixes=(".png",))
