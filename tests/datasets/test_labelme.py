"""LabelMe JSON: read, moved with the pixels, written back (and loaded by globox), detected, a `--to` target."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from globox import AnnotationSet
from PIL import Image
from test_labels import COLOURS, LABELS, manifest, painted_photo, run, write
from typer.testing import CliRunner

from augcli.cli import app
from augcli.datasets import discover_dataset
from augcli.datasets.polyline import clip_polyline

W, H = 451, 300
SHAPES = [
    {"label": "green", "points": [[30, 40], [120, 110]], "shape_type": "rectangle"},
    {"label": "magenta", "points": [[200, 30], [280, 140], [150, 120]], "shape_type": "polygon"},
    {"label": "eye", "points": [[100, 100]], "shape_type": "point", "group_id": 3},
    {"label": "whisker", "points": [[10, 10], [200, 250], [440, 20]], "shape_type": "linestrip"},
]
FLIP = "augcli: 1\nname: flip\nseed: 0\ncopies: 1\noutput: {format: png}\naugment:\n  - HorizontalFlip: {p: 1}\n"
SAME = "augcli: 1\nname: same\nseed: 0\ncopies: 1\noutput: {format: same}\naugment: []\n"


def labelme_doc(image_path: str, shapes: list[dict] = SHAPES) -> dict:
    shapes = [{"group_id": None, "description": "", "flags": {}, **s} for s in shapes]
    return {
        "version": "5.4.1",
        "flags": {"reviewed": True},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": "iVBORw0KGgo=",
        "imageHeight": H,
        "imageWidth": W,
    }


def make_labelme(root: Path, *, folder: bool = False) -> Path:
    """cat.png with its JSON beside it, or `images/` + `labels/` as `labelme --output labels/` writes."""
    images = root / "images" if folder else root
    labels = root / "labels" if folder else root
    images.mkdir(parents=True)
    labels.mkdir(parents=True, exist_ok=True)
    Image.fromarray(painted_photo()).save(images / "cat.png")
    Image.fromarray(painted_photo()[:, ::-1].copy()).save(images / "background.png")  # no JSON: background
    image_path = "../images/cat.png" if folder else "cat.png"
    (labels / "cat.json").write_text(json.dumps(labelme_doc(image_path)))
    return root


def shapes_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["shapes"]


def test_detected_and_written_back_unchanged_without_transforms(tmp_path: Path) -> None:
    src = make_labelme(tmp_path / "lm")
    found = discover_dataset(src)
    assert found.layout == "labelme" and len(found.samples) == 2
    out = tmp_path / "out"
    text = run(write(tmp_path, SAME), src, out, 1, "--dry-run")
    assert "LabelMe (JSON beside each image): 1 of 2 images labelled; boxes, polygons, keypoints" in text
    run(write(tmp_path, SAME), src, out)
    doc = json.loads((out / "cat.json").read_text())
    assert doc["imagePath"] == "cat.png" and doc["imageData"] is None
    assert (doc["imageWidth"], doc["imageHeight"], doc["flags"]) == (W, H, {"reviewed": True})
    got = [(s["label"], s["shape_type"], s["points"], s["group_id"]) for s in doc["shapes"]]
    want = [(s["label"], s["shape_type"], s["points"], s.get("group_id")) for s in SHAPES]
    assert got == want
    copy = json.loads((out / "cat__aug001.json").read_text())
    assert copy["imagePath"] == "cat__aug001.png"
    assert not (out / "background.json").exists() and not (out / "background__aug001.json").exists()


def test_a_flip_mirrors_every_shape(tmp_path: Path) -> None:
    src = make_labelme(tmp_path / "lm")
    out = tmp_path / "out"
    run(write(tmp_path, FLIP), src, out)
    shapes = shapes_of(out / "cat__aug001.json")
    assert [s["label"] for s in shapes] == ["green", "magenta", "eye", "whisker"]
    rect, poly, point, line = (np.array(s["points"], float) for s in shapes)
    assert sorted(rect[:, 0]) == pytest.approx([W - 120, W - 30])
    # Vertices move as Albumentations keypoints, which flip about pixel centres (x -> W - 1 - x) where
    # boxes flip about pixel edges (x -> W - x): a pixel apart, as for COCO polygons.
    assert poly == pytest.approx(np.array([[W - 200, 30], [W - 280, 140], [W - 150, 120]]), abs=1)
    assert point == pytest.approx(np.array([[W - 100, 100]]), abs=1)
    assert line == pytest.approx(np.array([[W - 10, 10], [W - 200, 250], [W - 440, 20]]), abs=1)
    # The green rectangle sits on the green paint of the flipped image.
    pixels = np.array(Image.open(out / "cat__aug001.png").convert("RGB"))
    ys, xs = np.nonzero(np.all(pixels == COLOURS["green"], axis=-1))
    assert (xs.min(), xs.max() + 1) == (W - 120, W - 30) and (ys.min(), ys.max() + 1) == (40, 110)


def test_labels_folder_layout_round_trips_and_loads_in_globox(tmp_path: Path) -> None:
    src = make_labelme(tmp_path / "lm", folder=True)
    found = discover_dataset(src)
    assert found.labels is not None and found.labels.description == "LabelMe (JSON in labels)"
    out = tmp_path / "out"
    run(write(tmp_path, FLIP), src, out)
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["cat.json", "cat__aug001.json"]
    doc = json.loads((out / "labels" / "cat__aug001.json").read_text())
    assert doc["imagePath"] == "../images/cat__aug001.png"
    assert (out / "labels" / doc["imagePath"]).is_file()
    loaded = AnnotationSet.from_labelme(out / "labels", include_poly=True)
    records = {Path(r["output"]).name: r for r in manifest(out) if r["labels"]["files"]}
    assert len(loaded) == 2
    for ann in loaded:
        rec = records[Path(ann.image_id).name]
        boxes = {b.label: b.ltrb for b in ann.boxes}
        assert ann.image_size == tuple(rec["size"])
        for obj in rec["labels"]["objects"]:
            if obj["class"] in ("green", "magenta"):
                assert boxes[obj["class"]] == pytest.approx(obj["box"], abs=0.01)


def test_a_strip_that_leaves_the_image_is_cut_and_a_point_outside_is_dropped(tmp_path: Path) -> None:
    src = make_labelme(tmp_path / "lm")
    recipe = FLIP.replace("HorizontalFlip: {p: 1}", "Affine: {translate_px: {x: 0, y: -120}, p: 1}")
    out = tmp_path / "out"
    run(write(tmp_path, recipe), src, out)
    shapes = shapes_of(out / "cat__aug001.json")
    assert "eye" not in [s["label"] for s in shapes]  # (100, -20): outside, and LabelMe has no visibility flag
    strips = [np.array(s["points"]) for s in shapes if s["label"] == "whisker"]
    (strip,) = strips  # the V's tip dips into the image: one strip, cut where it crosses the top edge
    assert strip[:, 1] == pytest.approx([0, 130, 0]) and strip[1, 0] == pytest.approx(200)
    rec = next(r for r in manifest(out) if r["output"] == "cat__aug001.png")
    assert rec["labels"]["counts"]["dropped"] >= 1
    assert rec["labels"]["counts"]["hidden_keypoints"] == 1  # the eye; the strip's vertices are cut, not hidden


def test_clip_polyline_by_hand() -> None:
    pieces = clip_polyline(np.array([[-10, 5], [10, 5], [10, 20], [5, 5]]), 20, 10)
    assert len(pieces) == 2
    assert pieces[0] == pytest.approx(np.array([[0, 5], [10, 5], [10, 10]]))
    assert pieces[1] == pytest.approx(np.array([[20 / 3, 10], [5, 5]]))
    assert clip_polyline(np.array([[-5, -5], [-1, 30]]), 20, 10) == []


def test_an_unsupported_shape_is_a_failure_naming_the_file(tmp_path: Path) -> None:
    src = make_labelme(tmp_path / "lm")
    doc = labelme_doc("cat.png", [{"label": "ball", "points": [[50, 50], [60, 60]], "shape_type": "circle"}])
    (src / "cat.json").write_text(json.dumps(doc))
    result = CliRunner().invoke(
        app, ["run", str(write(tmp_path, FLIP)), "-i", str(src), "-o", str(tmp_path / "out"), "--workers", "1"]
    )
    assert result.exit_code == 1
    assert "cat.json" in result.output and "shape_type 'circle' is not supported" in result.output


@pytest.mark.parametrize("source", ["coco", "voc"])
def test_to_labelme_writes_a_json_beside_each_image_that_globox_loads(tmp_path: Path, source: str) -> None:
    out = tmp_path / "out"
    text = run(write(tmp_path, FLIP), LABELS / source, out, 1, "--to", "labelme")
    assert "written as LabelMe" in text
    records = manifest(out)
    n = 0
    for rec in records:
        assert rec["output"].startswith("train/")
        json_path = (out / rec["output"]).with_suffix(".json")
        doc = json.loads(json_path.read_text())
        assert doc["imagePath"] == Path(rec["output"]).name and doc["imageData"] is None
        objects: dict[object, str] = {}  # an object of several shapes (a multi-part polygon) shares a group_id
        for i, s in enumerate(doc["shapes"]):
            if s["shape_type"] in ("rectangle", "polygon"):
                objects.setdefault(s["group_id"] if s["group_id"] is not None else f"shape{i}", s["label"])
        assert list(objects.values()) == [o["class"] for o in rec["labels"]["objects"]]
        n += len(rec["labels"]["objects"])
    assert n > 10
    loaded = AnnotationSet.from_labelme(out / "train", include_poly=True)
    assert len(loaded) == len(records)
    for ann in loaded:  # globox reads each rectangle and polygon as a box
        shapes = shapes_of(out / "train" / Path(ann.image_id).with_suffix(".json"))
        assert sorted(b.label for b in ann.boxes) == sorted(
            s["label"] for s in shapes if s["shape_type"] in ("rectangle", "polygon")
        )


def test_labelme_to_coco_and_back_keeps_the_shapes(tmp_path: Path) -> None:
    src = make_labelme(tmp_path / "lm")
    run(write(tmp_path, SAME), src, tmp_path / "coco", 1, "--to", "coco")
    for copy in (tmp_path / "coco").rglob("*__aug001.*"):
        copy.unlink()
    coco = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["green", "magenta", "eye", "whisker"]
    run(write(tmp_path, SAME), tmp_path / "coco", tmp_path / "back", 1, "--to", "labelme")
    shapes = shapes_of(tmp_path / "back" / "train" / "cat.json")
    by_label = {s["label"]: s for s in shapes if s["shape_type"] != "point"}
    assert by_label["green"]["shape_type"] == "rectangle"
    assert by_label["green"]["points"] == [[30, 40], [120, 110]]
    assert by_label["magenta"]["points"] == SHAPES[1]["points"]
    points = [s["points"][0] for s in shapes if s["shape_type"] == "point"]
    assert [100, 100] in points  # the eye, and the strip's vertices: COCO holds them as keypoints
