"""CVAT for images XML: read, moved with the pixels, written back (and loaded by globox), detected, a `--to` target."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from globox import AnnotationSet
from PIL import Image
from test_labels import LABELS, manifest, painted_photo, run, write

from augcli.datasets import discover_dataset
from augcli.datasets.oriented import from_rotated

W, H = 451, 300
ROTATED = (200.0, 150.0, 280.0, 190.0, 30.0)  # xtl ytl xbr ybr rotation: well inside the image
XML = f"""<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>cats</name><labels>
    <label><name>green</name></label><label><name>car</name></label><label><name>magenta</name></label>
    <label><name>eye</name></label><label><name>whisker</name></label><label><name>unused</name></label>
  </labels></task></meta>
  <image id="0" name="cat.png" width="{W}" height="{H}" subset="Train">
    <box label="green" occluded="0" source="manual" xtl="30.00" ytl="40.00" xbr="120.00" ybr="110.00" z_order="0">
      <attribute name="colour">bright</attribute>
    </box>
    <box label="car" occluded="1" source="manual" xtl="{ROTATED[0]}" ytl="{ROTATED[1]}" xbr="{ROTATED[2]}"
         ybr="{ROTATED[3]}" rotation="{ROTATED[4]}" z_order="0" />
    <polygon label="magenta" occluded="0" source="manual" points="200.00,30.00;280.00,140.00;150.00,120.00"
             z_order="0" />
    <points label="eye" occluded="0" source="manual" points="100.00,100.00;110.00,100.00" z_order="0" />
    <polyline label="whisker" occluded="0" source="manual" points="10.00,10.00;200.00,250.00;440.00,20.00"
              z_order="0" />
    <tag label="indoor" source="manual" />
  </image>
  <image id="1" name="val.png" width="{W}" height="{H}" subset="Validation" />
</annotations>
"""
FLIP = "augcli: 1\nname: flip\nseed: 0\ncopies: 1\noutput: {format: png}\naugment:\n  - HorizontalFlip: {p: 1}\n"
SAME = "augcli: 1\nname: same\nseed: 0\ncopies: 1\noutput: {format: same}\naugment: []\n"


def make_cvat(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    Image.fromarray(painted_photo()).save(root / "images" / "cat.png")
    Image.fromarray(painted_photo()).save(root / "images" / "val.png")
    (root / "annotations.xml").write_text(XML)
    return root


def images_of(out: Path) -> dict[str, ET.Element]:
    return {el.get("name", ""): el for el in ET.parse(out / "annotations.xml").getroot().iter("image")}


def corners_of(box: ET.Element) -> np.ndarray:
    x0, y0, x1, y1 = (float(box.get(k, "")) for k in ("xtl", "ytl", "xbr", "ybr"))
    return from_rotated(x0, y0, x1, y1, float(box.get("rotation", "0")))


def same_corners(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """The same four corners, whatever corner comes first."""
    return all(np.abs(b - p).sum(axis=1).min() <= tol for p in a) and all(
        np.abs(a - p).sum(axis=1).min() <= tol for p in b
    )


def test_detected_splits_from_subsets_and_written_back_unchanged(tmp_path: Path) -> None:
    src = make_cvat(tmp_path / "cvat")
    found = discover_dataset(src)
    assert found.layout == "cvat"
    assert {s.rel: s.split for s in found.samples} == {"images/cat.png": "train", "images/val.png": "val"}
    out = tmp_path / "out"
    text = run(write(tmp_path, SAME), src, out, 1, "--dry-run")
    assert "CVAT for images (annotations.xml, images in images/): 1 of 2 images labelled; " in text
    assert "boxes, oriented boxes, polygons, keypoints" in text
    run(write(tmp_path, SAME), src, out)
    root = ET.parse(out / "annotations.xml").getroot()
    assert root.findtext("meta/task/name") == "cats" and root.findtext("version") == "1.1"
    images = images_of(out)
    assert sorted(images) == ["cat.png", "cat__aug001.png", "val.png"]
    assert [images[n].get("id") for n in sorted(images)] == ["0", "1", "2"]
    cat = images["cat.png"]
    assert cat.get("subset") == "Train" and images["val.png"].get("subset") == "Validation"
    assert [el.tag for el in cat] == ["box", "box", "polygon", "points", "polyline", "tag"]
    source = ET.fromstring(XML).find("image")
    assert source is not None
    for mine, theirs in zip(cat, source, strict=True):
        for key, value in theirs.attrib.items():
            if key in ("xtl", "ytl", "xbr", "ybr", "rotation"):
                assert float(mine.get(key, "nan")) == pytest.approx(float(value), abs=0.01), key
            elif key == "points":
                assert mine.get(key) == value
            else:
                assert mine.get(key) == value, key
    assert cat[0].findtext("attribute[@name='colour']") == "bright"


def test_a_flip_mirrors_boxes_rotated_boxes_polygons_and_points(tmp_path: Path) -> None:
    src = make_cvat(tmp_path / "cvat")
    out = tmp_path / "out"
    run(write(tmp_path, FLIP), src, out)
    cat = images_of(out)["cat__aug001.png"]
    box, rotated, polygon, points, line, _tag = list(cat)
    assert [float(box.get(k, "")) for k in ("xtl", "ytl", "xbr", "ybr")] == [W - 120, 40, W - 30, 110]
    # Corners move as Albumentations keypoints, which flip about pixel centres (x -> W - 1 - x).
    mirrored = from_rotated(*ROTATED) * (-1, 1) + (W, 0)
    assert same_corners(corners_of(rotated), mirrored, tol=1.01)
    assert float(rotated.get("rotation", "")) == pytest.approx(360 - 30, abs=0.01) or float(
        rotated.get("rotation", "")
    ) == pytest.approx(90 - 30, abs=0.01)
    xs = [float(p.split(",")[0]) for p in (points.get("points") or "").split(";")]
    assert xs == pytest.approx([W - 100, W - 110], abs=1)
    assert len((polygon.get("points") or "").split(";")) == 3 and line.tag == "polyline"


def test_a_rotation_by_a_known_angle_turns_the_rotated_box_with_the_image(tmp_path: Path) -> None:
    src = make_cvat(tmp_path / "cvat")
    recipe = FLIP.replace("HorizontalFlip: {p: 1}", "Affine: {rotate: [20, 20], p: 1}")
    out = tmp_path / "out"
    run(write(tmp_path, recipe), src, out)
    rotated = images_of(out)["cat__aug001.png"][1]
    # By hand: Albumentations turns the image 20 degrees counter-clockwise (on screen) about its centre.
    a = math.radians(20)
    centre = np.array([W / 2 - 0.5, H / 2 - 0.5])  # pixel centres, as Albumentations turns keypoints
    turn = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    want = (from_rotated(*ROTATED) - centre) @ turn.T + centre
    assert same_corners(corners_of(rotated), want, tol=0.05)
    assert float(rotated.get("rotation", "")) % 90 == pytest.approx(10, abs=0.01)  # 30 clockwise, then 20 back


def test_written_xml_loads_in_globox(tmp_path: Path) -> None:
    src = make_cvat(tmp_path / "cvat")
    out = tmp_path / "out"
    run(write(tmp_path, FLIP.replace("copies: 1", "copies: 3").replace("HorizontalFlip", "SafeRotate")), src, out)
    loaded = AnnotationSet.from_cvat(out / "annotations.xml")
    records = {r["output"]: r for r in manifest(out)}
    assert len(loaded) == len(records) == 5
    for ann in loaded:
        rec = records[f"images/{ann.image_id}"]
        assert ann.image_size == tuple(rec["size"])
        boxes = images_of(out)[ann.image_id].findall("box")
        assert [b.label for b in ann.boxes] == [b.get("label") for b in boxes]


@pytest.mark.parametrize("source", ["coco", "voc"])
def test_to_cvat_writes_one_xml_that_globox_loads(tmp_path: Path, source: str) -> None:
    out = tmp_path / "out"
    text = run(write(tmp_path, FLIP), LABELS / source, out, 1, "--to", "cvat")
    assert "written as CVAT for images (images/<split>/ + annotations.xml)" in text
    records = manifest(out)
    images = images_of(out)
    assert sorted(images) == sorted(r["output"].removeprefix("images/") for r in records)
    loaded = AnnotationSet.from_cvat(out / "annotations.xml")
    assert len(loaded) == len(records)
    for rec in records:
        image = images[rec["output"].removeprefix("images/")]
        assert (out / "images" / image.get("name", "")).is_file()
        shapes = [el for el in image if el.tag in ("box", "polygon")]
        groups = {el.get("group_id") or f"shape{i}": el.get("label") for i, el in enumerate(shapes)}
        assert list(groups.values()) == [o["class"] for o in rec["labels"]["objects"]]


def test_cvat_to_coco_gives_rotated_boxes_their_polygon_and_upright_box(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    src = make_cvat(tmp_path / "cvat")
    out = tmp_path / "out"
    run(write(tmp_path, SAME), src, out, 1, "--to", "coco")
    coco = COCO(str(out / "annotations" / "instances_train.json"))
    car = next(a for a in coco.dataset["annotations"] if coco.cats[a["category_id"]]["name"] == "car")
    corners = from_rotated(*ROTATED)
    assert np.array(car["segmentation"][0]).reshape(-1, 2) == pytest.approx(corners, abs=0.01)
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    assert car["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=0.01)
    assert car["area"] == pytest.approx(80 * 40, abs=0.5)
    json.loads((out / "annotations" / "instances_val.json").read_text())  # the Validation subset's own split
