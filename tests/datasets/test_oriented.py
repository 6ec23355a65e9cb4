"""Oriented boxes (YOLO-OBB, DOTA, CVAT rotated boxes): augcli's own geometry, by hand and through runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image
from test_labels import manifest, run, runner, write

from augcli.cli import app
from augcli.datasets import discover_dataset
from augcli.datasets.oriented import clockwise, convex_hull, from_rotated, min_area_rectangle, signed_area, to_rotated

DATA = Path(__file__).resolve().parents[1] / "data"
W, H = 451, 300
OBB_COLOURS = {"yellow": (255, 255, 0), "purple": (128, 0, 255)}
# (xtl, ytl, xbr, ybr, degrees clockwise): the unrotated box and its turn, as CVAT says it.
# Near the centre, so that a turn by any angle keeps both inside the image.
OBJECTS = {"yellow": (100.0, 180.0, 200.0, 220.0, 25.0), "purple": (265.0, 75.0, 315.0, 165.0, 325.0)}
ONE = "augcli: 1\nname: one\nseed: 0\ncopies: 1\noutput: {{format: png}}\naugment:\n  - {step}\n{labels}"


def recipe(tmp: Path, step: str, labels: str = "") -> Path:
    return write(tmp, ONE.format(step=step, labels=labels))


def corners(name: str) -> np.ndarray:
    return from_rotated(*OBJECTS[name])


def painted() -> np.ndarray:
    image = np.array(Image.open(DATA / "chelsea.png").convert("RGB"))
    for name, colour in OBB_COLOURS.items():
        cv2.fillPoly(image, [np.round(corners(name) - 0.5).astype(np.int32)], colour)
    return image


def same_corners(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """The same four corners, whatever corner comes first."""
    return all(np.abs(b - p).max(axis=1).min() <= tol for p in a) and all(
        np.abs(a - p).max(axis=1).min() <= tol for p in b
    )


def make_yolo_obb(root: Path) -> Path:
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    Image.fromarray(painted()).save(root / "images" / "train" / "cat.png")
    lines = []
    for cls, name in enumerate(OBB_COLOURS):
        lines.append(f"{cls} " + " ".join(f"{v:.6f}" for v in (corners(name) / (W, H)).reshape(-1)))
    (root / "labels" / "train" / "cat.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [yellow, purple]\n")
    return root


def make_dota(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labelTxt").mkdir(parents=True)
    Image.fromarray(painted()).save(root / "images" / "cat.png")
    lines = ["imagesource:GoogleEarth", "gsd:0.146343590398"]
    for i, name in enumerate(OBB_COLOURS):
        lines.append(" ".join(f"{v:g}" for v in corners(name).reshape(-1)) + f" {name} {i}")
    (root / "labelTxt" / "cat.txt").write_text("\n".join(lines) + "\n")
    return root


def read_yolo_obb(path: Path) -> dict[int, np.ndarray]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    assert all(len(r) == 9 for r in rows)
    values = {int(r[0]): np.array([float(v) for v in r[1:]]).reshape(4, 2) for r in rows}
    assert all(((v >= 0) & (v <= 1)).all() for v in values.values())  # Ultralytics refuses anything else
    return {k: v * (W, H) for k, v in values.items()}


def read_dota(path: Path) -> dict[str, tuple[np.ndarray, int]]:
    out = {}
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) == 10:
            out[f[8]] = (np.array([float(v) for v in f[:8]]).reshape(4, 2), int(f[9]))
    return out


# --------------------------------------------------------------------------- geometry by hand


def test_a_rotated_rectangle_is_its_own_fitted_rectangle() -> None:
    rect = from_rotated(100, 100, 200, 140, 30)
    fitted = min_area_rectangle(rect)
    assert fitted is not None and same_corners(fitted, rect, 1e-6)
    assert signed_area(clockwise(fitted)) == pytest.approx(100 * 40)
    assert to_rotated(clockwise(rect, rect[0])) == pytest.approx((100, 100, 200, 140, 30))


def test_a_sheared_box_becomes_the_smallest_rectangle_around_it() -> None:
    parallelogram = np.array([[0, 0], [10, 0], [14, 4], [4, 4]], float) + 5
    fitted = min_area_rectangle(parallelogram)
    assert fitted is not None
    assert abs(signed_area(fitted)) == pytest.approx(14 * 4)  # upright: 14 x 4 beats every slanted one
    assert same_corners(fitted, np.array([[5, 5], [19, 5], [19, 9], [5, 9]], float), 1e-6)


def test_a_box_cut_by_the_edge_at_an_angle_keeps_its_angle() -> None:
    from augcli.datasets.labels import clip_polygon

    # A 40x10 box at 30 degrees, its left end cut off by the edge x = 0: what is left is a pentagon
    # with a side on the edge; the smallest rectangle around it is the box's own, shortened.
    box = from_rotated(-10, 45, 30, 55, 30)
    cut = clip_polygon(box, 100, 100)
    rect = min_area_rectangle(cut)
    assert rect is not None
    sides = rect[1] - rect[0], rect[2] - rect[1]
    angles = sorted(math.degrees(math.atan2(d[1], d[0])) % 180 for d in sides)
    assert angles == pytest.approx([30, 120], abs=1e-6)
    for p in cut:
        assert cv2.pointPolygonTest(rect.astype(np.float32), (float(p[0]), float(p[1])), True) >= -1e-3
    assert abs(signed_area(rect)) < 40 * 10


def test_hull_and_clockwise_order() -> None:
    pts = np.array([[0, 0], [2, 0], [1, 1], [2, 2], [0, 2]], float)
    assert len(convex_hull(pts)) == 4
    ccw = np.array([[0, 0], [0, 2], [2, 2], [2, 0]], float)
    assert clockwise(ccw, np.array([2.1, 2.0])).tolist() == [[2, 2], [0, 2], [0, 0], [2, 0]]


# --------------------------------------------------------------------------- YOLO-OBB through runs


def test_yolo_obb_is_told_from_plain_yolo_by_nine_fields(tmp_path: Path) -> None:
    src = make_yolo_obb(tmp_path / "obb")
    assert discover_dataset(src).layout == "yolo-obb"
    assert discover_dataset(src, label_format="yolo").layout == "yolo"  # the recipe can say otherwise
    (src / "labels" / "train" / "cat.txt").write_text("0 0.1 0.1 0.3 0.1 0.3 0.3 0.2 0.4 0.1 0.3\n")  # a pentagon
    assert discover_dataset(src).layout == "yolo"
    out = tmp_path / "out"
    make_yolo_obb(tmp_path / "again")
    text = run(recipe(tmp_path, "HorizontalFlip: {p: 1}"), tmp_path / "again", out, 1, "--dry-run")
    assert "YOLO-OBB (images/ + labels/, data.yaml): 1 of 1 images labelled; oriented boxes" in text


@pytest.mark.parametrize("angle", [30, 90, -45])
def test_a_rotation_by_a_known_angle_turns_the_corners(tmp_path: Path, angle: int) -> None:
    src = make_yolo_obb(tmp_path / "obb")
    out = tmp_path / "out"
    run(recipe(tmp_path, f"Affine: {{rotate: [{angle}, {angle}], p: 1}}"), src, out)
    got = read_yolo_obb(out / "labels" / "train" / "cat__aug001.txt")
    a = math.radians(angle)  # counter-clockwise on screen, about the image centre (pixel centres)
    centre = np.array([W / 2 - 0.5, H / 2 - 0.5])
    turn = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    for cls, name in enumerate(OBB_COLOURS):
        want = (corners(name) - centre) @ turn.T + centre
        assert same_corners(got[cls], want, tol=1e-3 * W), (name, got[cls], want)
        # The first corner is where the source's first corner went; the order is clockwise on screen.
        assert np.abs(got[cls][0] - want[0]).max() <= 1e-3 * W
        assert signed_area(got[cls]) > 0


def test_flips_mirror_the_corners_and_keep_them_clockwise(tmp_path: Path) -> None:
    src = make_yolo_obb(tmp_path / "obb")
    for step, mirror in (
        ("HorizontalFlip: {p: 1}", lambda c: c * (-1, 1) + (W - 1, 0)),
        ("VerticalFlip: {p: 1}", lambda c: c * (1, -1) + (0, H - 1)),
    ):
        out = tmp_path / step[:5]
        run(recipe(tmp_path, step), src, out)
        got = read_yolo_obb(out / "labels" / "train" / "cat__aug001.txt")
        for cls, name in enumerate(OBB_COLOURS):
            # Albumentations mirrors keypoints about pixel centres (x -> W - 1 - x).
            assert same_corners(got[cls], mirror(corners(name)), tol=1e-3 * W), (step, name)
            assert np.abs(got[cls][0] - mirror(corners(name))[0]).max() <= 1e-3 * W
            assert signed_area(got[cls]) > 0


def test_a_crop_that_cuts_a_box_keeps_the_rectangle_around_what_is_left(tmp_path: Path) -> None:
    from augcli.datasets.labels import clip_polygon, polygon_area

    src = make_yolo_obb(tmp_path / "obb")
    crop = recipe(tmp_path, "Crop: {x_min: 0, y_min: 0, x_max: 150, y_max: 300, p: 1}")
    # x 0..150 keeps the left part of the yellow box (x 96..204) and none of the purple one.
    run(crop, src, tmp_path / "dota", 1, "--to", "dota")
    got = read_dota(tmp_path / "dota" / "train" / "labelTxt" / "cat__aug001.txt")
    assert list(got) == ["yellow"]
    rect = got["yellow"][0]
    visible = clip_polygon(corners("yellow"), 150, 300)  # by hand: the box cut at x = 150
    for p in visible:  # every point of what is left lies in the written rectangle ...
        assert cv2.pointPolygonTest(rect.astype(np.float32), (float(p[0]), float(p[1])), True) >= -0.01
    # ... which keeps the box's angle (25 degrees) and is as small as can hold it.
    angles = sorted(math.degrees(math.atan2(d[1], d[0])) % 180 for d in (rect[1] - rect[0], rect[2] - rect[1]))
    assert angles == pytest.approx([25, 115], abs=0.01)
    assert polygon_area(visible) <= abs(signed_area(rect)) < polygon_area(corners("yellow"))
    assert rect[:, 0].max() > 150  # it reaches past the cut: DOTA and CVAT write it so
    assert sum(r["labels"]["counts"]["dropped"] for r in manifest(tmp_path / "dota")) == 1  # purple left
    # YOLO-OBB holds values in 0..1 only: four corners inside the image that keep nearly all of the
    # rectangle's part inside it (which is all of the box's visible part).
    run(crop, src, tmp_path / "obb_out")
    yolo = read_yolo_obb(tmp_path / "obb_out" / "labels" / "train" / "cat__aug001.txt")[0] * (150 / W, 1)
    inside = clip_polygon(rect, 150, 300)
    assert (yolo[:, 0] <= 150 + 1e-3).all() and len(inside) == 5
    for p in yolo:  # its corners are corners of the rectangle's part inside
        assert np.abs(inside - p).max(axis=1).min() <= 0.01
    assert abs(signed_area(yolo)) >= 0.97 * polygon_area(inside)


def test_a_box_mostly_cut_away_is_dropped_below_min_visibility(tmp_path: Path) -> None:
    src = make_yolo_obb(tmp_path / "obb")
    out = tmp_path / "out"
    crop = "Crop: {x_min: 0, y_min: 0, x_max: 110, y_max: 300, p: 1}"  # a sliver of yellow is left
    run(recipe(tmp_path, crop, "labels: {min_visibility: 0.3}\n"), src, out)
    assert read_yolo_obb(out / "labels" / "train" / "cat__aug001.txt") == {}
    assert sum(r["labels"]["counts"]["dropped"] for r in manifest(out)) == 2


# --------------------------------------------------------------------------- DOTA, and conversions


def test_dota_keeps_its_header_difficult_and_categories(tmp_path: Path) -> None:
    src = make_dota(tmp_path / "dota")
    assert discover_dataset(src).layout == "dota"
    out = tmp_path / "out"
    run(recipe(tmp_path, "HorizontalFlip: {p: 1}"), src, out)
    text = (out / "labelTxt" / "cat__aug001.txt").read_text().splitlines()
    assert text[:2] == ["imagesource:GoogleEarth", "gsd:0.146343590398"]
    got = read_dota(out / "labelTxt" / "cat__aug001.txt")
    assert {k: d for k, (_, d) in got.items()} == {"yellow": 0, "purple": 1}
    for name in OBB_COLOURS:
        assert same_corners(got[name][0], corners(name) * (-1, 1) + (W - 1, 0), tol=0.01)
    original = read_dota(out / "labelTxt" / "cat.txt")
    assert same_corners(original["yellow"][0], corners("yellow"), tol=0.01)


def test_yolo_obb_to_coco_gets_the_polygon_and_the_upright_box(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    src = make_yolo_obb(tmp_path / "obb")
    out = tmp_path / "out"
    run(recipe(tmp_path, "Affine: {rotate: [15, 15], p: 1}"), src, out, 1, "--to", "coco")
    coco = COCO(str(out / "annotations" / "instances_train.json"))
    recs = {r["output"]: r for r in manifest(out)}
    for ann in coco.dataset["annotations"]:
        image = coco.imgs[ann["image_id"]]
        poly = np.array(ann["segmentation"][0]).reshape(-1, 2)
        assert len(poly) >= 4  # the corners, clipped to the image like any COCO polygon
        x, y, w, h = ann["bbox"]
        assert [x, y, x + w, y + h] == pytest.approx([*poly.min(axis=0), *poly.max(axis=0)], abs=0.02)
        rec = recs[f"train/{image['file_name']}"]
        assert any(o["box"] == pytest.approx([x, y, x + w, y + h], abs=0.02) for o in rec["labels"]["objects"])
    assert len(coco.dataset["annotations"]) == 4


@pytest.mark.parametrize("to", ["yolo-obb", "dota"])
def test_coco_polygons_convert_to_fitted_rectangles(tmp_path: Path, to: str) -> None:
    """A polygon's minimum-area rectangle is not its polygon: refused without --lossy, then counted."""
    out = tmp_path / "out"
    args = ["run", str(recipe(tmp_path, "HorizontalFlip: {p: 1}")), "-i", str(DATA / "labels" / "coco")]
    refused = runner.invoke(app, [*args, "-o", str(out), "-w", "1", "--to", to])
    assert refused.exit_code == 2
    assert f"--to {to} cannot carry the input's polygons (written as their minimum-area rectangles)" in refused.output
    run(recipe(tmp_path, "HorizontalFlip: {p: 1}"), DATA / "labels" / "coco", out, 1, "--to", to, "--lossy")
    records = manifest(out)
    assert records and all(o["corners"] for r in records for o in r["labels"]["objects"])
    objects = sum(len(r["labels"]["objects"]) for r in records)
    assert 0 < json.loads((out / "run.json").read_text())["counts"]["labels"]["lost_polygons"] <= objects
    for rec in records:
        width, height = rec["size"]
        label = (
            out / rec["output"].replace("images/", "labels/", 1)
            if to == "yolo-obb"
            else out / rec["output"].replace("/images/", "/labelTxt/", 1)
        ).with_suffix(".txt")
        rows = [line.split() for line in label.read_text().splitlines() if line.strip()]
        assert len(rows) == len(rec["labels"]["objects"])
        for row, obj in zip(rows, rec["labels"]["objects"], strict=True):
            values = np.array([float(v) for v in (row[1:] if to == "yolo-obb" else row[:8])]).reshape(4, 2)
            pts = values * (width, height) if to == "yolo-obb" else values
            assert pts == pytest.approx(np.array(obj["corners"]), abs=0.01 + 1e-6 * width)
            if to == "dota":  # a rectangle (YOLO-OBB's corners are clipped to the image)
                side = np.hypot(*(pts[1] - pts[0])), np.hypot(*(pts[2] - pts[1]))
                diag = np.hypot(*(pts[2] - pts[0]))
                assert diag == pytest.approx(math.hypot(*side), rel=1e-3)
    if to == "yolo-obb":
        names = [
            c["name"] for c in json.loads((DATA / "labels" / "coco" / "annotations.json").read_text())["categories"]
        ]
        assert yaml.safe_load((out / "data.yaml").read_text())["names"] == names


# --------------------------------------------------------------------------- preview and mixing


def test_preview_draws_oriented_boxes(tmp_path: Path) -> None:
    from augcli import preview as pv
    from augcli.recipe import load_recipe

    src = make_yolo_obb(tmp_path / "obb")
    loaded = load_recipe(recipe(tmp_path, "Affine: {rotate: [-30, 30], p: 1}"))
    result = pv.make_preview(loaded, options=pv.PreviewOptions(input=src, images=1, copies=2))
    tiles = [t for row in result.preview.rows for t in row.tiles if t is not None]
    assert tiles and all(t.error is None for t in tiles)
    drawn = [o for t in tiles for o in t.overlays if o.kind == "oriented"]
    assert len(drawn) == 2 * len(tiles)
    assert result.sheet.size[0] > 0


def test_cutmix_cuts_oriented_boxes_and_keeps_them_rectangles(tmp_path: Path) -> None:
    src = make_yolo_obb(tmp_path / "obb")
    Image.fromarray(painted()[::-1].copy()).save(src / "images" / "train" / "flipped.png")
    flipped = corners("yellow") * (1, -1) + (0, H)
    line = "0 " + " ".join(f"{v:.6f}" for v in (flipped / (W, H)).reshape(-1))
    (src / "labels" / "train" / "flipped.txt").write_text(line + "\n")
    text = ONE.format(step="HorizontalFlip: {p: 0.5}", labels="mix: {p_cutmix: 1.0}\n").replace(
        "copies: 1", "copies: 4"
    )
    out = tmp_path / "out"
    run(write(tmp_path, text), src, out)
    mixed = [r for r in manifest(out) if r.get("mix")]
    assert mixed
    for rec in mixed:
        width, height = rec["size"]
        txt = out / rec["output"].replace("images/", "labels/", 1)
        rows = [r.split() for r in txt.with_suffix(".txt").read_text().splitlines() if r.strip()]
        assert len(rows) == len(rec["labels"]["objects"]) == sum(rec["mix"]["objects"])
        for obj in rec["labels"]["objects"]:
            pts = np.array(obj["corners"])
            assert (pts >= -0.01).all() and (pts[:, 0] <= width + 0.01).all() and (pts[:, 1] <= height + 0.01).all()


def test_oriented_boxes_to_voc_are_refused_then_written_upright_and_counted(tmp_path: Path) -> None:
    """VOC has no angle: --to voc names what it would lose; with --lossy each box is the tight upright
    box of its turned corners (not the turned upright box), and run.json counts the orientations lost."""
    src = make_yolo_obb(tmp_path / "obb")
    out = tmp_path / "out"
    steps = "Affine: {rotate: [20, 20], p: 1}"
    args = ["run", str(recipe(tmp_path, steps)), "-i", str(src), "-o", str(out), "-w", "1", "--to", "voc"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "--to voc cannot carry the input's oriented boxes (written as their upright boxes)" in refused.output
    run(recipe(tmp_path, steps), src, out, 1, "--to", "voc", "--lossy")
    records = manifest(out)
    objects = sum(len(r["labels"]["objects"]) for r in records)
    assert json.loads((out / "run.json").read_text())["counts"]["labels"]["lost_orientations"] == objects > 0
    for rec in records:
        xml = (out / "Annotations" / Path(rec["output"]).name).with_suffix(".xml").read_text()
        for obj in rec["labels"]["objects"]:
            pts = np.array(obj["corners"])
            x0, y0 = np.round(pts.min(axis=0)).astype(int) + 1  # VOC is 1-based
            assert f"<xmin>{x0}</xmin>" in xml and f"<ymin>{y0}</ymin>" in xml
