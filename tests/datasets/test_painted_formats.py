"""The painted-object test for oriented boxes and the LabelMe and CVAT writers: objects painted on a real
photo, labelled, augmented by rotations, scales, shifts, flips and crops; every label written must sit
on its paint, and every file loads in an independent reader (globox for LabelMe and CVAT)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
from globox import AnnotationSet
from PIL import Image
from test_labels import COLOURS, GEOMETRY, POLYGONS, RECTS, manifest, painted_photo, run, write
from test_oriented import OBB_COLOURS, OBJECTS, corners, make_yolo_obb

from augcli.datasets.labels import polygon_area
from augcli.datasets.oriented import from_rotated
from augcli.imageio import read_image

ALL_COLOURS = {**COLOURS, **OBB_COLOURS}
TOL = 2.5  # pixels: anti-aliased edges, and keypoints moved about pixel centres where pixels move about edges
# The geometry recipe, and the dihedral steps augcli fuses into one kernel (moving keypoints member by member).
DIHEDRAL = GEOMETRY.replace(
    "  - HorizontalFlip: {{p: 0.5}}\n",
    "  - HorizontalFlip: {{p: 0.5}}\n  - RandomRotate90: {{p: 0.5}}\n  - VerticalFlip: {{p: 0.5}}\n",
)


def paint_of(pixels: np.ndarray, name: str, tol: int = 12) -> np.ndarray:
    return np.all(np.abs(pixels[..., :3].astype(int) - ALL_COLOURS[name]) <= tol, axis=-1)


def full_area(name: str) -> float:
    if name in RECTS:
        x0, y0, x1, y1 = RECTS[name]
        return (x1 - x0) * (y1 - y0)
    if name in POLYGONS:
        return polygon_area(POLYGONS[name])
    return polygon_area(corners(name))


def check_rotated(pixels: np.ndarray, name: str, rect: np.ndarray, where: str, clipped: bool = False) -> int:
    """Every pixel of the paint lies in the written rectangle, and the rectangle is no bigger than the
    upright box around the paint (the minimum over every angle is no bigger than the upright one);
    1 when it was also checked tight."""
    mask = paint_of(pixels, name)
    ys, xs = np.nonzero(mask)
    assert len(xs) > 0, (where, name)
    contour = rect.astype(np.float32).reshape(-1, 1, 2)
    centres = np.column_stack([xs + 0.5, ys + 0.5])
    step = max(1, len(xs) // 400)
    distance = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in centres[::step]])
    if clipped:  # YOLO-OBB: a rectangle past the edge is written as 4 corners inside, a sliver lost
        assert (distance >= -TOL).mean() >= 0.97, (where, name, (distance >= -TOL).mean())
    else:
        assert distance.min() >= -TOL, (where, name, distance.min())
    upright = (xs.max() + 1 - xs.min()) * (ys.max() + 1 - ys.min())
    perimeter = 2 * ((xs.max() - xs.min()) + (ys.max() - ys.min()))
    assert abs(polygon_area(rect)) <= upright + TOL * perimeter, (where, name)
    # ... and as tight as the smallest rectangle around the paint when the paint does not touch the border.
    height, width = mask.shape
    if xs.min() > 1 and ys.min() > 1 and xs.max() < width - 2 and ys.max() < height - 2:
        fitted = cv2.minAreaRect(centres.astype(np.float32))
        area = (fitted[1][0] + 1) * (fitted[1][1] + 1)  # pixel centres: the paint reaches half a pixel further
        assert abs(polygon_area(rect)) <= area + TOL * perimeter, (where, name, polygon_area(rect), area)
        return 1
    return 0


def check_upright(pixels: np.ndarray, name: str, box: list[float], where: str) -> None:
    ys, xs = np.nonzero(paint_of(pixels, name))
    assert len(xs) > 0, (where, name)
    x0, y0, x1, y1 = box
    assert xs.min() >= x0 - TOL and xs.max() + 1 <= x1 + TOL, (where, name)
    assert ys.min() >= y0 - TOL and ys.max() + 1 <= y1 + TOL, (where, name)


def check_gone(pixels: np.ndarray, name: str, where: str) -> None:
    # Dropped (min_visibility 0.3): at most a sliver of its paint is left in the image.
    assert paint_of(pixels, name).sum() < 0.35 * full_area(name), (where, name)


# --------------------------------------------------------------------------- a CVAT source with all of it


def painted_all() -> np.ndarray:
    image = painted_photo()
    for name, colour in OBB_COLOURS.items():
        cv2.fillPoly(image, [np.round(corners(name) - 0.5).astype(np.int32)], colour)
    return image


def make_cvat(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    Image.fromarray(painted_all()).save(root / "images" / "cat.png")
    image = ET.Element("image", {"id": "0", "name": "cat.png", "width": "451", "height": "300"})
    for name, (x0, y0, x1, y1) in RECTS.items():
        ET.SubElement(image, "box", {"label": name, "xtl": str(x0), "ytl": str(y0), "xbr": str(x1), "ybr": str(y1)})
    for name, poly in POLYGONS.items():
        ET.SubElement(image, "polygon", {"label": name, "points": ";".join(f"{x},{y}" for x, y in poly)})
    for name, (x0, y0, x1, y1, r) in OBJECTS.items():
        geometry = {"xtl": str(x0), "ytl": str(y0), "xbr": str(x1), "ybr": str(y1), "rotation": str(r)}
        ET.SubElement(image, "box", {"label": name, **geometry})
    root_el = ET.Element("annotations")
    ET.SubElement(root_el, "version").text = "1.1"
    root_el.append(image)
    (root / "annotations.xml").write_text(ET.tostring(root_el, "unicode"))
    return root


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cvat_writer_boxes_polygons_and_rotated_boxes_sit_on_their_paint(tmp_path: Path, seed: int) -> None:
    out = tmp_path / "out"
    run(write(tmp_path, DIHEDRAL.format(seed=seed, copies=4)), make_cvat(tmp_path / "cvat"), out)
    root = ET.parse(out / "annotations.xml").getroot()
    rotated_checked = tight = 0
    for image in root.iter("image"):
        where = image.get("name", "")
        pixels = read_image(out / "images" / where).pixels
        assert pixels.shape[:2] == (int(image.get("height", "")), int(image.get("width", "")))
        shapes = {el.get("label", ""): el for el in image}
        for name in ALL_COLOURS:
            el = shapes.get(name)
            if el is None:
                check_gone(pixels, name, where)
            elif el.tag == "polygon":
                pts = np.array([[float(v) for v in p.split(",")] for p in (el.get("points") or "").split(";")])
                check_upright(pixels, name, [*pts.min(axis=0), *pts.max(axis=0)], where)
            elif el.get("rotation") is not None:
                box = [float(el.get(k, "")) for k in ("xtl", "ytl", "xbr", "ybr")]
                tight += check_rotated(pixels, name, from_rotated(*box, float(el.get("rotation", ""))), where)
                rotated_checked += 1
            else:
                check_upright(pixels, name, [float(el.get(k, "")) for k in ("xtl", "ytl", "xbr", "ybr")], where)
    assert rotated_checked >= 6 and tight >= 3
    loaded = AnnotationSet.from_cvat(out / "annotations.xml")
    assert len(loaded) == 5 and sum(len(a.boxes) for a in loaded) == sum(
        len(image.findall("box")) for image in root.iter("image")
    )


@pytest.mark.parametrize("seed", [4, 5])
def test_labelme_writer_shapes_sit_on_their_paint(tmp_path: Path, seed: int) -> None:
    out = tmp_path / "out"
    recipe = write(tmp_path, DIHEDRAL.format(seed=seed, copies=4))
    run(recipe, make_cvat(tmp_path / "cvat"), out, 1, "--to", "labelme")
    checked = 0
    for js in sorted((out / "train").glob("*.json")):
        doc = json.loads(js.read_text())
        assert doc["imageData"] is None
        pixels = read_image(js.parent / doc["imagePath"]).pixels
        assert pixels.shape[:2] == (doc["imageHeight"], doc["imageWidth"])
        shapes = {s["label"]: s for s in doc["shapes"]}
        for name in ALL_COLOURS:
            shape = shapes.get(name)
            if shape is None:
                check_gone(pixels, name, js.name)
                continue
            pts = np.array(shape["points"], float)
            if name in OBB_COLOURS and len(pts) == 4:  # an oriented box, as the polygon of its corners
                check_rotated(pixels, name, pts, js.name)
            else:
                check_upright(pixels, name, [*pts.min(axis=0), *pts.max(axis=0)], js.name)
            checked += 1
    assert checked >= 20
    loaded = AnnotationSet.from_labelme(out / "train", include_poly=True)
    assert len(loaded) == 5 and all(
        len(a.boxes)
        == len(json.loads((out / "train" / Path(a.image_id).with_suffix(".json").name).read_text())["shapes"])
        for a in loaded
    )


@pytest.mark.parametrize("seed", [6, 7])
def test_yolo_obb_and_dota_writers_sit_on_their_paint(tmp_path: Path, seed: int) -> None:
    recipe = write(tmp_path, DIHEDRAL.format(seed=seed, copies=4))
    src = make_yolo_obb(tmp_path / "obb")
    out = tmp_path / "obb_out"
    run(recipe, src, out)
    dota = tmp_path / "dota_out"
    run(recipe, src, dota, 1, "--to", "dota")
    checked = tight = 0
    for rec in manifest(out):
        pixels = read_image(out / rec["output"]).pixels
        width, height = rec["size"]
        txt = out / rec["output"].replace("images/", "labels/", 1)
        rows = [line.split() for line in txt.with_suffix(".txt").read_text().splitlines() if line.strip()]
        found = {list(OBB_COLOURS)[int(r[0])]: np.array([float(v) for v in r[1:]]).reshape(4, 2) for r in rows}
        for name in OBB_COLOURS:
            if name not in found:
                check_gone(pixels, name, rec["output"])
                continue
            assert ((found[name] >= 0) & (found[name] <= 1)).all()
            tight += check_rotated(pixels, name, found[name] * (width, height), rec["output"], clipped=True)
            checked += 1
    assert checked >= 6 and tight >= 3
    for rec in manifest(dota):
        pixels = read_image(dota / rec["output"]).pixels
        txt = (dota / rec["output"].replace("/images/", "/labelTxt/", 1)).with_suffix(".txt")
        rows = [line.split() for line in txt.read_text().splitlines() if line.strip()]
        found = {r[8]: np.array([float(v) for v in r[:8]]).reshape(4, 2) for r in rows}
        for name in OBB_COLOURS:
            if name in found:
                check_rotated(pixels, name, found[name], rec["output"])
            else:
                check_gone(pixels, name, rec["output"])
