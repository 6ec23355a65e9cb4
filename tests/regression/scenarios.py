"""The regression set: runs over every layout, label format and transform family, hashed file by file.

`tests/regression/hashes.json` holds the hashes recorded before a refactor; `make regression-golden`
rewrites it (only when an output is meant to change, and say why in the commit).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from augcli.cli import app

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
LABELS = DATA / "labels"

GEOMETRY = """\
augcli: 1
name: regression-geometry
seed: 11
copies: 2
output: {format: png}
augment:
  - HorizontalFlip: {p: 0.5}
  - Affine: {rotate: [-40, 40], scale: [0.8, 1.2], translate_percent: [-0.15, 0.15], p: 1}
  - RandomResizedCrop: {size: [240, 320], scale: [0.5, 1.0], p: 0.6}
  - RandomBrightnessContrast: {p: 0.5}
labels: {min_visibility: 0.3, min_area: 16}
"""

MIXED_BOXES = GEOMETRY.replace("name: regression-geometry", "name: regression-mixed") + (
    "mix: {p_mixup: 0.5, p_cutmix: 0.5, mixup_alpha: 0.4, cutmix_alpha: 1.0}\n"
)

JPEG_COPIES = """\
augcli: 1
name: regression-jpeg
seed: 3
copies: 2
output: {format: jpg, quality: 90}
preprocess:
  - LongestMaxSize: {max_size: 200}
augment:
  - D4: {}
  - HueSaturationValue: {hue_shift_limit: 0, sat_shift_limit: 30, val_shift_limit: 0, p: 1}
  - RandomGamma: {p: 0.5}
"""

PRESETS = (
    "natural",
    "fundus",
    "ocr",
    "satellite",
    "xray",
    "torchvision-small",
    "torchvision-general",
    "torchvision-large",
    "keras-imagedatagenerator",
    "imgaug-catalogue",
)


def _rewrite(text: str, source: Path, copies: int = 2) -> str:
    """A preset with fewer copies and an absolute input (presets ship without one)."""
    lines = [f"copies: {copies}" if line.startswith("copies:") else line for line in text.splitlines()]
    return "\n".join([*lines, f"input: {source}"]) + "\n"


def _preset(name: str) -> Callable[[Path], tuple[Path, Path, list[str]]]:
    def make(work: Path) -> tuple[Path, Path, list[str]]:
        text = (ROOT / "augcli" / "presets" / f"{name}.yaml").read_text(encoding="utf-8")
        folder = name if name in ("natural", "fundus", "ocr", "satellite", "xray") else "natural"
        recipe = work / f"{name}.yaml"
        recipe.write_text(_rewrite(text, ROOT / "samples" / folder), encoding="utf-8")
        return recipe, ROOT / "samples" / folder, []

    return make


def _labelled(text: str, source: Path, *extra: str) -> Callable[[Path], tuple[Path, Path, list[str]]]:
    def make(work: Path) -> tuple[Path, Path, list[str]]:
        recipe = work / "recipe.yaml"
        recipe.write_text(text, encoding="utf-8")
        return recipe, source, list(extra)

    return make


def _masks(work: Path) -> tuple[Path, Path, list[str]]:
    """A generic mask folder (images/ + masks/) made from the VOC segmentation sample."""
    src = work / "masks_in"
    shutil.copytree(LABELS / "voc_seg" / "JPEGImages", src / "images")
    shutil.copytree(LABELS / "voc_seg" / "SegmentationClass", src / "masks")
    recipe = work / "recipe.yaml"
    recipe.write_text(GEOMETRY, encoding="utf-8")
    return recipe, src, []


def _yolo(work: Path) -> tuple[Path, Path, list[str]]:
    """A YOLO dataset made by converting the VOC sample (no augmentation), then augmented."""
    src = work / "yolo_in"
    plain = work / "plain.yaml"
    plain.write_text("augcli: 1\nname: plain\nseed: 0\ncopies: 1\noutput: {format: png}\n", encoding="utf-8")
    _invoke([str(plain), "-i", str(LABELS / "voc"), "-o", str(src), "--to", "yolo"])
    copies = [p for p in src.rglob("*") if "__aug" in p.name]  # keep the converted originals only: a source
    for p in list(src.glob("manifest*")) + list(src.glob("run*.json")) + copies:  # named like a copy collides
        p.unlink()
    recipe = work / "recipe.yaml"
    recipe.write_text(GEOMETRY, encoding="utf-8")
    return recipe, src, []


SCENARIOS: dict[str, Callable[[Path], tuple[Path, Path, list[str]]]] = {
    **{f"preset-{name}": _preset(name) for name in PRESETS},
    "jpeg-dihedral-lut": _labelled(JPEG_COPIES, ROOT / "samples" / "natural"),
    "voc-boxes": _labelled(GEOMETRY, LABELS / "voc"),
    "voc-segmentation": _labelled(GEOMETRY, LABELS / "voc_seg"),
    "voc-beside-image": _labelled(GEOMETRY, LABELS / "satellite"),
    "coco": _labelled(GEOMETRY, LABELS / "coco"),
    "coco-to-voc": _labelled(GEOMETRY, LABELS / "coco", "--to", "voc", "--lossy"),
    "voc-to-coco": _labelled(GEOMETRY, LABELS / "voc", "--to", "coco"),
    "voc-to-yolo": _labelled(GEOMETRY, LABELS / "voc", "--to", "yolo"),
    "yolo": _yolo,
    "masks": _masks,
    "voc-mixed": _labelled(MIXED_BOXES, LABELS / "voc"),
    "coco-mixed": _labelled(MIXED_BOXES, LABELS / "coco"),
}


def _invoke(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["run", *args, "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output


def run_scenario(name: str, work: Path) -> dict[str, str]:
    """Run one scenario into `work/out` and hash every file it wrote except run.json (timings)."""
    recipe, source, extra = SCENARIOS[name](work)
    out = work / "out"
    _invoke([str(recipe), "-i", str(source), "-o", str(out), *extra])
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith("run")
    }
