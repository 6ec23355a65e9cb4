"""What labels a dataset has (one line per format), and which recipe steps cannot move them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from augcli import registry
from augcli.datasets import discover_dataset, get_format
from augcli.datasets.support import label_check, summarize, unsupported
from augcli.recipe import TransformSpec
from augcli.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "labels"


def _yolo(root: Path, kpt_shape: list[int] | None = None) -> Path:
    for name, line in (("box", "0 0.5 0.5 0.2 0.2\n"), ("poly", "0 0.1 0.1 0.3 0.1 0.3 0.3\n"), ("empty", "")):
        (root / "images" / "train").mkdir(parents=True, exist_ok=True)
        (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / "chelsea.png", root / "images" / "train" / f"{name}.png")
        (root / "labels" / "train" / f"{name}.txt").write_text(line, encoding="utf-8")
    shutil.copy(DATA / "chelsea.png", root / "images" / "train" / "unlabelled.png")
    data = {"names": ["cat"], **({"kpt_shape": kpt_shape} if kpt_shape else {})}
    (root / "data.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


def _masks(root: Path) -> Path:
    for name in ("a", "b"):
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.open(DATA / "chelsea.png").convert("RGB").resize((64, 48)).save(root / "images" / f"{name}.jpg")
    (root / "masks").mkdir()
    Image.new("L", (64, 48), 1).save(root / "masks" / "a.png")
    return root


def test_each_format_summarises_its_labels_in_a_line(tmp_path: Path) -> None:
    lines = {
        LABELS / "voc": "Pascal VOC (JPEGImages/ with Annotations/): 3 of 3 images labelled; boxes",
        LABELS / "voc_seg": (
            "Pascal VOC (JPEGImages/ with SegmentationClass/, SegmentationObject/): 3 of 3 images labelled; masks"
        ),
        LABELS / "satellite": "Pascal VOC (XML beside each image): 1 of 1 images labelled; boxes",
        LABELS / "coco": "COCO (annotations.json): 3 of 3 images labelled; boxes, polygons",
        _yolo(tmp_path / "yolo"): "YOLO (images/ + labels/, data.yaml): 2 of 4 images labelled; boxes, polygons",
        _yolo(
            tmp_path / "pose", [1, 3]
        ): "YOLO (images/ + labels/, data.yaml): 2 of 4 images labelled; boxes, keypoints",
        _masks(tmp_path / "masks"): "masks (images/ with masks/): 1 of 2 images labelled; masks",
    }
    for root, line in lines.items():
        dataset = discover_dataset(root)
        summary = summarize(dataset)
        assert str(summary) == line
        assert summary is not None and summary.kinds <= get_format(summary.format).kinds  # a format's own kinds
    assert summarize(discover_dataset(DATA / "fundus")) is None  # class folders: nothing moves with the pixels


# --------------------------------------------------------------------------- steps that cannot move the labels


class _BoxBlindShift:
    @staticmethod
    def make() -> type:
        from albumentations.core.transforms_interface import DualTransform
        from albumentations.core.type_definitions import Targets

        class BoxBlindShift(DualTransform):
            _targets = (Targets.IMAGE, Targets.MASK)

            def apply(self, img: np.ndarray, **params: object) -> np.ndarray:
                return np.roll(img, 10, axis=1)

        return BoxBlindShift


@pytest.fixture()
def box_blind(monkeypatch: pytest.MonkeyPatch) -> list[TransformSpec]:
    catalogue = {**registry.catalogue(), "BoxBlindShift": _BoxBlindShift.make()}
    monkeypatch.setattr(registry, "catalogue", lambda: catalogue)
    inner = [
        TransformSpec("HorizontalFlip", {}, ("augment", 1, "OneOf", "transforms", 0)),
        TransformSpec("BoxBlindShift", {}, ("augment", 1, "OneOf", "transforms", 1)),
    ]
    return [
        TransformSpec("Blur", {}, ("augment", 0)),
        TransformSpec("OneOf", {}, ("augment", 1, "OneOf"), inner),
    ]


def test_a_step_that_cannot_move_a_kind_of_label_is_named(box_blind: list[TransformSpec]) -> None:
    assert unsupported(box_blind, {"boxes", "polygons", "masks"}) == [
        (
            ("augment", 1, "OneOf", "transforms", 1),
            "BoxBlindShift cannot move boxes or polygons, and the input's labels have them "
            "(run would fail or leave them where they were)",
        )
    ]
    assert unsupported(box_blind, {"masks"}) == []  # masks it moves; Blur moves no pixels anywhere


def test_label_check_reads_the_input_through_a_path_or_a_store(box_blind: list[TransformSpec]) -> None:
    for inputs in (LABELS / "coco", open_store(LABELS / "coco")):
        summary, steps = label_check(inputs, "auto", box_blind)
        assert str(summary) == "COCO (annotations.json): 3 of 3 images labelled; boxes, polygons"
        assert [path for path, _ in steps] == [("augment", 1, "OneOf", "transforms", 1)]
    assert label_check(DATA / "fundus", "auto", box_blind) == (None, [])
