"""Labels travel with their images: VOC, COCO and YOLO in, the same format out, geometry that stays true."""

from __future__ import annotations

import json
import pickle
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from helpers import tree_hashes
from PIL import Image
from typer.testing import CliRunner

from augcli.cli import app
from augcli.datasets import discover_dataset
from augcli.datasets.labels import clip_polygon, polygon_area
from augcli.imageio import read_image, read_index_mask

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "labels"
runner = CliRunner()

GEOMETRY = """\
augcli: 1
name: labels-test
seed: {seed}
copies: {copies}
output: {{format: png}}
augment:
  - HorizontalFlip: {{p: 0.5}}
  - Affine: {{rotate: [-40, 40], scale: [0.8, 1.2], translate_percent: [-0.15, 0.15], p: 1}}
  - RandomResizedCrop: {{size: [240, 320], scale: [0.5, 1.0], p: 0.6}}
labels: {{min_visibility: 0.3, min_area: 16}}
"""


def write(folder: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run(recipe: Path, src: Path, out: Path, workers: int = 1, *extra: str) -> str:
    result = runner.invoke(
        app, ["run", str(recipe), "-i", str(src), "-o", str(out), "--workers", str(workers), "--quiet", *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def label_hashes(out: Path) -> dict[str, str]:
    return tree_hashes(out, skip=("run",), suffixes=(".xml", ".json", ".txt", ".yaml", ".png"))


# --------------------------------------------------------------------------- the alignment test

# Saturated colours far from a cat photo's browns and greys; each object is painted in one of them.
COLOURS = {"green": (0, 255, 0), "blue": (0, 0, 255), "magenta": (255, 0, 255), "cyan": (0, 255, 255)}
RECTS = {"green": (30, 40, 120, 110), "blue": (300, 180, 420, 280)}  # box-only objects
POLYGONS = {  # polygon objects: a triangle and a rotated quadrilateral (their boxes are loose if rotated)
    "magenta": np.array([[200, 30], [280, 140], [150, 120]], float),
    "cyan": np.array([[60, 170], [140, 150], [170, 230], [80, 270]], float),
}


def painted_photo() -> np.ndarray:
    image = np.array(Image.open(DATA / "chelsea.png").convert("RGB"))  # 451x300
    for name, (x0, y0, x1, y1) in RECTS.items():
        image[y0:y1, x0:x1] = COLOURS[name]
    for name, poly in POLYGONS.items():
        cv2.fillPoly(image, [np.round(poly).astype(np.int32)], COLOURS[name])
    return image


def colour_mask(pixels: np.ndarray, name: str, tol: int = 12) -> np.ndarray:
    return np.all(np.abs(pixels[..., :3].astype(int) - COLOURS[name]) <= tol, axis=-1)


@pytest.fixture()
def painted_coco(tmp_path: Path) -> Path:
    root = tmp_path / "painted"
    (root / "images").mkdir(parents=True)
    Image.fromarray(painted_photo()).save(root / "images" / "cat.png")
    h, w = 300, 451
    anns = []
    cats = [{"id": i + 1, "name": n} for i, n in enumerate(COLOURS)]
    cat_id = {c["name"]: c["id"] for c in cats}
    for name, (x0, y0, x1, y1) in RECTS.items():
        anns.append({"category_id": cat_id[name], "bbox": [x0, y0, x1 - x0, y1 - y0], "iscrowd": 0, "area": 1})
    for name, poly in POLYGONS.items():
        x0, y0 = poly.min(0)
        x1, y1 = poly.max(0)
        anns.append(
            {
                "category_id": cat_id[name],
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "segmentation": [poly.reshape(-1).tolist()],
                "keypoints": [v for x, y in poly for v in (x, y, 2)],
                "num_keypoints": len(poly),
                "iscrowd": 0,
                "area": 1,
            }
        )
    for i, ann in enumerate(anns, start=1):
        ann.update(id=i, image_id=1)
    doc = {
        "images": [{"id": 1, "file_name": "cat.png", "width": w, "height": h}],
        "annotations": anns,
        "categories": cats,
    }
    (root / "annotations.json").write_text(json.dumps(doc))
    return root


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_box_encloses_its_colour_and_polygon_boxes_are_tight(
    painted_coco: Path, tmp_path: Path, seed: int
) -> None:
    out = tmp_path / "out"
    run(write(tmp_path, GEOMETRY.format(seed=seed, copies=4)), painted_coco, out)
    doc = json.loads((out / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    by_image: dict[int, list[dict]] = {}
    for ann in doc["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    checked_tight = 0
    for image in doc["images"]:
        pixels = read_image(out / "images" / image["file_name"]).pixels
        assert pixels.shape[:2] == (image["height"], image["width"])
        present = {names[a["category_id"]]: a for a in by_image.get(image["id"], [])}
        for name in COLOURS:
            mask = colour_mask(pixels, name)
            if name not in present:
                # Dropped (min_visibility 0.3): at most a sliver of its colour is left in the image.
                assert mask.sum() < 0.35 * _area_of(name), (image["file_name"], name, int(mask.sum()))
                continue
            x, y, bw, bh = present[name]["bbox"]
            ys, xs = np.nonzero(mask)
            assert len(xs) > 0, (image["file_name"], name)
            tol = 2.5
            # The box encloses every pixel of its colour ...
            assert xs.min() >= x - tol and xs.max() + 1 <= x + bw + tol, (image["file_name"], name)
            assert ys.min() >= y - tol and ys.max() + 1 <= y + bh + tol, (image["file_name"], name)
            if name in POLYGONS:
                # ... and a polygon object's box is tight: recomputed from the moved polygon, not its corners
                # (the loose box of a rotated polygon is tens of pixels off; an acute vertex's anti-aliased
                # tip, enlarged by a crop, can hide a few pixels from the colour test).
                assert abs(xs.min() - x) <= 5 and abs(xs.max() + 1 - (x + bw)) <= 5, (image["file_name"], name)
                assert abs(ys.min() - y) <= 5 and abs(ys.max() + 1 - (y + bh)) <= 5, (image["file_name"], name)
                kps = np.array(present[name]["keypoints"], float).reshape(-1, 3)
                assert len(kps) == len(POLYGONS[name])  # never deleted
                for kx, ky, v in kps:
                    inside = 0 <= kx < image["width"] and 0 <= ky < image["height"]
                    assert v == 0 or inside
                checked_tight += 1
    assert checked_tight >= 4
    records = manifest(out)
    sources = {o["box_source"] for r in records for o in r["labels"]["objects"]}
    assert sources == {"box", "polygon"}


def _area_of(name: str) -> float:
    if name in RECTS:
        x0, y0, x1, y1 = RECTS[name]
        return (x1 - x0) * (y1 - y0)
    return polygon_area(POLYGONS[name])


def test_mask_pixels_match_their_colour_and_padding_is_void(tmp_path: Path) -> None:
    root = tmp_path / "seg"
    for d in ("JPEGImages", "SegmentationClass"):
        (root / d).mkdir(parents=True)
    image = painted_photo()
    Image.fromarray(image).save(root / "JPEGImages" / "cat.png")
    mask = np.zeros(image.shape[:2], np.uint8)
    for k, name in enumerate(COLOURS, start=1):
        mask[colour_mask(image, name, tol=0)] = k
    palette = [0, 0, 0] + [v for c in COLOURS.values() for v in c] + [0, 0, 0] * 250 + [255, 255, 255]
    im = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    im.putpalette(palette)
    im.save(root / "SegmentationClass" / "cat.png")
    out = tmp_path / "out"
    recipe = GEOMETRY.format(seed=5, copies=5)
    run(write(tmp_path, recipe), root, out)
    void_seen = 0
    for rec in manifest(out):
        pixels = read_image(out / rec["output"]).pixels
        indices, pal = read_index_mask(out / "SegmentationClass" / (Path(rec["output"]).stem + ".png"))
        assert pal is not None and pal[:15] == palette[:15]  # the palette is kept
        assert set(np.unique(indices)) <= {0, 1, 2, 3, 4, 255}  # nearest neighbour: no blended indices
        for k, name in enumerate(COLOURS, start=1):
            inner = cv2.erode((indices == k).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            if inner.sum() > 20:
                assert colour_mask(pixels, name, tol=30)[inner].mean() > 0.97, (rec["output"], name)
        void = indices == 255
        if void.any():  # padding: void in the mask where the image got the black fill
            void_seen += 1
            inner_void = cv2.erode(void.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            assert (pixels[inner_void] == 0).all()
    assert void_seen >= 3


# --------------------------------------------------------------------------- formats round trip


def test_voc_xml_rewritten_and_parses_back_to_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = run(write(tmp_path, GEOMETRY.format(seed=0, copies=2)), LABELS / "voc", out, 1)
    assert "labels (Pascal VOC" in text
    assert (out / "class_names.txt").read_text() == (LABELS / "voc" / "class_names.txt").read_text()
    records = manifest(out)
    assert len(records) == 9
    for rec in records:
        xml = out / "Annotations" / (Path(rec["output"]).stem + ".xml")
        root = ET.parse(xml).getroot()
        assert root.findtext("filename") == Path(rec["output"]).name
        assert [int(root.findtext("size/width")), int(root.findtext("size/height"))] == rec["size"]
        objects = root.findall("object")
        assert len(objects) == len(rec["labels"]["objects"])
        for el, obj in zip(objects, rec["labels"]["objects"], strict=True):
            assert el.findtext("name") == obj["class"]
            box = [float(el.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
            # VOC is 1-based with both ends included; the manifest has pixel edges (0..width)
            assert [box[0] - 1, box[1] - 1, box[2], box[3]] == pytest.approx(obj["box"], abs=0.01)
            assert el.find("difficult") is not None and el.find("truncated") is not None  # kept
            assert 1 <= box[0] <= box[2] <= rec["size"][0] and 1 <= box[1] <= box[3] <= rec["size"][1]


def test_satellite_tile_with_dozens_of_boxes_and_integer_coordinates(tmp_path: Path) -> None:
    out = tmp_path / "out"
    recipe = GEOMETRY.format(seed=0, copies=2).replace(
        "RandomResizedCrop: {size: [240, 320]", "RandomResizedCrop: {size: [400, 400]"
    )
    run(write(tmp_path, recipe), LABELS / "satellite", out)
    source = ET.parse(LABELS / "satellite" / "OSBS_029.xml").getroot()
    n_in = len(source.findall("object"))
    assert n_in > 30
    records = {r["copy"]: r for r in manifest(out)}
    assert len(records[0]["labels"]["objects"]) == n_in  # the original keeps every box
    for k in (1, 2):
        root = ET.parse(out / f"OSBS_029__aug00{k}.xml").getroot()
        boxes = [
            [el.findtext(f"bndbox/{c}") or "" for c in ("xmin", "ymin", "xmax", "ymax")] for el in root.iter("object")
        ]
        assert boxes and all(v.lstrip("-").isdigit() for b in boxes for v in b)  # integers in, integers out
        assert len(boxes) == len(records[k]["labels"]["objects"])
        assert n_in * 0.5 < len(boxes) <= n_in
        assert root.findtext("object/occluded") == "0"  # unknown elements kept


def test_coco_written_loads_with_pycocotools_ids_unique_and_images_exist(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    src = tmp_path / "coco"
    shutil.copytree(LABELS / "coco", src)
    doc = json.loads((src / "annotations.json").read_text())
    # A crowd region as RLE travels as a mask (pycocotools), and an image the JSON lists with no objects.
    from pycocotools import mask as mask_utils

    crowd = np.zeros((338, 500), np.uint8)
    crowd[250:330, 20:150] = 1
    rle = mask_utils.encode(np.asfortranarray(crowd))
    doc["annotations"].append(
        {
            "id": 999,
            "image_id": 0,
            "category_id": 15,
            "iscrowd": 1,
            "bbox": [20, 250, 130, 80],
            "area": 10400,
            "segmentation": {"size": [338, 500], "counts": rle["counts"].decode()},
        }
    )
    for ann in list(doc["annotations"]):
        if ann["image_id"] == 2:
            doc["annotations"].remove(ann)
    (src / "annotations.json").write_text(json.dumps(doc))
    out = tmp_path / "out"
    run(write(tmp_path, GEOMETRY.format(seed=4, copies=3)), src, out)
    coco = COCO(str(out / "annotations.json"))
    written = json.loads((out / "annotations.json").read_text())
    assert written["categories"] == doc["categories"]
    assert len({i["id"] for i in written["images"]}) == len(written["images"]) == 12
    assert len({a["id"] for a in written["annotations"]}) == len(written["annotations"])
    for ann in coco.anns.values():
        image = coco.imgs[ann["image_id"]]
        assert (out / image["file_name"]).is_file()  # labelme's root-relative file_name style kept
        x, y, w, h = ann["bbox"]
        assert x >= 0 and y >= 0 and x + w <= image["width"] + 0.01 and y + h <= image["height"] + 0.01
    crowds = [a for a in coco.anns.values() if a["iscrowd"]]
    assert len(crowds) >= 3 and all(isinstance(a["segmentation"], dict) for a in crowds)
    for a in crowds:
        m = coco.annToMask(a)
        ys, xs = np.nonzero(m)
        assert [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()] == pytest.approx(
            a["bbox"], abs=0.01
        )
    records = {r["output"]: r for r in manifest(out)}
    for image in written["images"]:
        rec = records[image["file_name"]]
        anns = coco.imgToAnns[image["id"]]
        assert len(anns) == len(rec["labels"]["objects"])
    background = [i for i in written["images"] if i["file_name"].startswith("JPEGImages/2011_000006")]
    assert background and all(not coco.imgToAnns[i["id"]] for i in background)  # kept as background


def make_yolo(root: Path) -> Path:
    """A YOLO dataset from the satellite tile's VOC boxes: train and val splits, a background image,
    a coordinate a hair above 1.0, data.yaml with an absolute path."""
    xml = ET.parse(LABELS / "satellite" / "OSBS_029.xml").getroot()
    lines = []
    for el in xml.iter("bndbox"):
        x0, y0, x1, y1 = (float(el.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        lines.append(f"0 {(x0 + x1) / 800:.6f} {(y0 + y1) / 800:.6f} {(x1 - x0) / 400:.6f} {(y1 - y0) / 400:.6f}")
    lines.append("0 0.950000 0.500000 0.100001 0.100000")  # right edge at 1.0000005
    lines.append("1 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3")  # a segmentation polygon
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        shutil.copy(LABELS / "satellite" / "OSBS_029.png", root / "images" / split / "tile.png")
        (root / "labels" / split / "tile.txt").write_text("\n".join(lines) + "\n")
    shutil.copy(LABELS / "satellite" / "OSBS_029.png", root / "images" / "train" / "empty.png")
    (root / "labels" / "train" / "empty.txt").write_text("")
    data = {"path": str(root), "train": "images/train", "val": "images/val", "names": {0: "tree", 1: "shrub"}}
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root


def parse_yolo(path: Path, width: int, height: int) -> list[tuple[int, list[float]]]:
    out = []
    for line in path.read_text().splitlines():
        cls, *vals = line.split()
        v = np.array(vals, float)
        if len(v) == 4:
            cx, cy, w, h = v
            box = [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]
        else:
            pts = v.reshape(-1, 2) * (width, height)
            box = [*pts.min(0), *pts.max(0)]
        out.append((int(cls), box))
    return out


def test_yolo_labels_parse_back_and_data_yaml_is_rewritten(tmp_path: Path) -> None:
    src = make_yolo(tmp_path / "yolo")
    out = tmp_path / "out"
    recipe = GEOMETRY.format(seed=2, copies=2).replace(
        "RandomResizedCrop: {size: [240, 320]", "RandomResizedCrop: {size: [400, 400]"
    )
    text = run(write(tmp_path, recipe), src, out)
    assert "2 clipped" in text  # the 1.0000005 edge, once per source image
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert "path" not in data and data["names"] == {0: "tree", 1: "shrub"} and data["val"] == "images/val"
    records = manifest(out)
    assert {r["output"] for r in records if r["split"] == "val"} == {"images/val/tile.png"}
    for rec in records:
        label = out / rec["output"].replace("images/", "labels/", 1).replace(".png", ".txt")
        parsed = parse_yolo(label, *rec["size"])
        objects = rec["labels"]["objects"]
        assert len(parsed) == len(objects)
        for (cls, box), obj in zip(parsed, objects, strict=True):
            assert ["tree", "shrub"][cls] == obj["class"]
            assert box == pytest.approx(obj["box"], abs=0.02)
        if "empty" in rec["output"]:
            assert label.read_text() == "" and rec["labels"]["objects"] == []
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["counts"]["labels"]["clipped"] == 2 and run_json["counts"]["labels"]["background_images"] == 3


def test_label_files_identical_with_one_and_two_workers(painted_coco: Path, tmp_path: Path) -> None:
    recipe = write(tmp_path, GEOMETRY.format(seed=9, copies=3))
    yolo = make_yolo(tmp_path / "yolo")
    for src in (painted_coco, yolo, LABELS / "voc_seg"):
        one, two = tmp_path / f"{src.name}_w1", tmp_path / f"{src.name}_w2"
        run(recipe, src, one, 1)
        run(recipe, src, two, 2)
        assert label_hashes(one) == label_hashes(two)
        assert (one / "manifest.jsonl").read_bytes() == (two / "manifest.jsonl").read_bytes()


def test_keypoints_that_leave_are_kept_with_v0(painted_coco: Path, tmp_path: Path) -> None:
    recipe = """\
augcli: 1
name: shift
copies: 1
keep_original: false
augment:
  - Affine: {translate_px: {x: [-150, -150], y: [0, 0]}, p: 1}
"""
    out = tmp_path / "out"
    text = run(write(tmp_path, recipe), painted_coco, out)
    doc = json.loads((out / "annotations.json").read_text())
    cyan = next(a for a in doc["annotations"] if a["category_id"] == 4)
    kps = np.array(cyan["keypoints"]).reshape(-1, 3)
    assert len(kps) == 4 and cyan["num_keypoints"] == int((kps[:, 2] > 0).sum())
    expected_inside = POLYGONS["cyan"][:, 0] - 150 >= 0
    assert list(kps[:, 2] > 0) == list(expected_inside) and (kps[~expected_inside] == 0).all()
    assert kps[expected_inside, 0] == pytest.approx(POLYGONS["cyan"][expected_inside, 0] - 150, abs=0.01)
    assert "keypoints outside (kept, v=0)" in text


# --------------------------------------------------------------------------- detection, dry run, preview


def test_layouts_are_detected_and_dry_run_says_so(painted_coco: Path, tmp_path: Path) -> None:
    assert discover_dataset(LABELS / "voc").layout == "voc"
    assert discover_dataset(LABELS / "voc_seg").layout == "voc"
    assert discover_dataset(LABELS / "satellite").layout == "voc"
    assert discover_dataset(LABELS / "coco").layout == "coco"
    assert discover_dataset(make_yolo(tmp_path / "y")).layout == "yolo"
    assert discover_dataset(DATA / "fundus").labels is None
    assert discover_dataset(LABELS / "voc", label_format="folders").labels is None
    found = discover_dataset(LABELS / "coco")
    pickle.loads(pickle.dumps(found.labels.codec))  # workers get the codec: it pickles, and holds no annotations
    assert len(pickle.dumps(found.labels.codec)) < 2000
    result = runner.invoke(
        app,
        [
            "run",
            str(write(tmp_path, GEOMETRY.format(seed=1, copies=1))),
            "-i",
            str(LABELS / "coco"),
            "-o",
            str(tmp_path / "o"),
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "labels: COCO (annotations.json)" in result.output


def test_an_explicit_format_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    recipe = write(tmp_path, GEOMETRY.format(seed=1, copies=1).replace("labels: {", "labels: {format: yolo, "))
    result = runner.invoke(app, ["run", str(recipe), "-i", str(LABELS / "voc"), "-o", str(tmp_path / "o"), "--dry-run"])
    assert result.exit_code == 2 and "no yolo labels found" in result.output


def test_preview_draws_the_labels_run_writes(tmp_path: Path) -> None:
    from augcli import preview as pv
    from augcli.recipe import load_recipe

    recipe = load_recipe(write(tmp_path, GEOMETRY.format(seed=3, copies=2)))
    result = pv.make_preview(recipe, options=pv.PreviewOptions(input=LABELS / "coco", images=1, copies=2))
    tiles = [t for row in result.preview.rows for t in row.tiles if t is not None]
    assert tiles and all(t.error is None for t in tiles)
    kinds = {o.kind for t in tiles for o in t.overlays}
    assert {"box", "polygon"} <= kinds
    seg = pv.make_preview(recipe, options=pv.PreviewOptions(input=LABELS / "voc_seg", images=1, copies=1))
    assert any(o.kind == "mask" for row in seg.preview.rows for t in row.tiles if t for o in t.overlays)
    assert seg.sheet.size[0] > 0


def test_sutherland_hodgman_clips_to_the_image() -> None:
    square = np.array([[-10, -10], [20, -10], [20, 20], [-10, 20]], float)
    clipped = clip_polygon(square, 10, 10)
    assert polygon_area(clipped) == pytest.approx(100)
    assert clipped.min() == 0 and clipped.max() == 10
    assert len(clip_polygon(square + 100, 10, 10)) == 0


@pytest.mark.parametrize("layout", ["instances", "roboflow"])
def test_coco_split_layouts_write_one_json_per_split(tmp_path: Path, layout: str) -> None:
    doc = json.loads((LABELS / "coco" / "annotations.json").read_text())
    src = tmp_path / "src"
    for split, ids in (("train", {0, 1}), ("valid", {2})):
        part = {**doc, "images": [], "annotations": [a for a in doc["annotations"] if a["image_id"] in ids]}
        folder = src / (f"{split}2017" if layout == "instances" else split)
        folder.mkdir(parents=True)
        for image in doc["images"]:
            if image["id"] in ids:
                name = Path(image["file_name"]).name
                shutil.copy(LABELS / "coco" / image["file_name"], folder / name)
                part["images"].append({**image, "file_name": name})
        json_path = (
            src / "annotations" / f"instances_{split}2017.json"
            if layout == "instances"
            else folder / "_annotations.coco.json"
        )
        json_path.parent.mkdir(exist_ok=True)
        json_path.write_text(json.dumps(part))
    out = tmp_path / "out"
    run(write(tmp_path, GEOMETRY.format(seed=1, copies=2)), src, out)
    from pycocotools.coco import COCO

    for split, n_images in (("train", 6), ("valid", 1)):  # val is not augmented
        folder = f"{split}2017" if layout == "instances" else split
        rel = f"annotations/instances_{folder}.json" if layout == "instances" else f"{folder}/_annotations.coco.json"
        coco = COCO(str(out / rel))
        assert len(coco.imgs) == n_images
        for image in coco.imgs.values():
            assert (out / folder / image["file_name"]).is_file()
    records = manifest(out)
    assert {r["split"] for r in records} == {"train", "val"}


# --------------------------------------------------------------------------- run --to: converting formats


def parsed_back(out: Path, to: str, rec: dict) -> list[tuple[str, list[float]]]:
    """(class, x0 y0 x1 y1) of every object in the label file(s) `--to` wrote for one output."""
    width, height = rec["size"]
    stem = Path(rec["output"]).stem
    if to == "voc":
        root = ET.parse(out / "Annotations" / f"{stem}.xml").getroot()
        assert root.findtext("filename") == Path(rec["output"]).name
        keys = ("xmin", "ymin", "xmax", "ymax")
        boxes = [
            (el.findtext("name") or "", [float(el.findtext(f"bndbox/{k}") or "") for k in keys])
            for el in root.iter("object")
        ]
        return [(name, [x0 - 1, y0 - 1, x1, y1]) for name, (x0, y0, x1, y1) in boxes]  # VOC is 1-based
    if to == "yolo":
        names = yaml.safe_load((out / "data.yaml").read_text())["names"]
        rows = parse_yolo(out / "labels" / rec["split"] / f"{stem}.txt", width, height)
        return [(names[cls], [float(v) for v in box]) for cls, box in rows]
    from pycocotools.coco import COCO

    coco = COCO(str(out / "annotations" / f"instances_{rec['split']}.json"))
    image = next(i for i in coco.imgs.values() if f"{rec['split']}/{i['file_name']}" == rec["output"])
    assert [image["width"], image["height"]] == rec["size"]
    return [
        (
            coco.cats[a["category_id"]]["name"],
            [a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]],
        )
        for a in coco.imgToAnns[image["id"]]
    ]


@pytest.mark.parametrize(
    ("source", "to"), [("voc", "coco"), ("voc", "yolo"), ("coco", "voc"), ("coco", "yolo"), ("voc_seg", "coco")]
)
def test_to_converts_and_the_labels_parse_back_to_the_manifest(tmp_path: Path, source: str, to: str) -> None:
    out = tmp_path / "out"
    lossy = ("--lossy",) if (source, to) == ("coco", "voc") else ()  # VOC cannot hold COCO's polygons
    text = run(write(tmp_path, GEOMETRY.format(seed=2, copies=2)), LABELS / source, out, 1, "--to", to, *lossy)
    assert "written as " + {"voc": "Pascal VOC", "coco": "COCO", "yolo": "YOLO"}[to] in text
    records = manifest(out)
    assert len(records) == 9
    where = {"voc": "JPEGImages/", "coco": "train/", "yolo": "images/train/"}[to]
    n_objects = 0
    for rec in records:
        assert rec["output"].startswith(where) and (out / rec["output"]).is_file()
        objects = parsed_back(out, to, rec)
        assert len(objects) == len(rec["labels"]["objects"])
        for (name, box), obj in zip(objects, rec["labels"]["objects"], strict=True):
            assert name == obj["class"]
            assert box == pytest.approx(obj["box"], abs=0.01)
        n_objects += len(objects)
    assert n_objects > 20
    if to == "yolo":
        data = yaml.safe_load((out / "data.yaml").read_text())
        assert source == "coco" or data["names"] == (LABELS / source / "class_names.txt").read_text().splitlines()
        assert data["train"] == "images/train" and "val" not in data  # a train-only dataset: no val split
    if to == "voc":
        assert (out / "ImageSets" / "Main" / "train.txt").read_text().split() == sorted(
            Path(r["output"]).stem for r in records
        )


def test_coco_category_order_becomes_yolo_class_order(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(write(tmp_path, GEOMETRY.format(seed=2, copies=1)), LABELS / "coco", out, 1, "--to", "yolo")
    cats = json.loads((LABELS / "coco" / "annotations.json").read_text())["categories"]
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == [
        c["name"] for c in sorted(cats, key=lambda c: c["id"])
    ]


def test_coco_to_yolo_to_coco_keeps_boxes_within_a_pixel(tmp_path: Path) -> None:
    recipe = write(tmp_path, "augcli: 1\nname: same\nseed: 0\ncopies: 1\noutput: {format: same}\naugment: []\n")
    run(recipe, LABELS / "coco", tmp_path / "yolo", 1, "--to", "yolo")
    for copy in (tmp_path / "yolo").rglob("*__aug001.*"):  # the copies would be sources next time
        copy.unlink()
    run(recipe, tmp_path / "yolo", tmp_path / "back", 1, "--to", "coco")
    source = json.loads((LABELS / "coco" / "annotations.json").read_text())
    back = json.loads((tmp_path / "back" / "annotations" / "instances_train.json").read_text())
    names = {c["id"]: c["name"] for c in source["categories"]}
    back_names = {c["id"]: c["name"] for c in back["categories"]}
    assert list(back_names.values()) == list(names.values())
    for image in source["images"]:
        stem = Path(image["file_name"]).name
        (mine,) = [i for i in back["images"] if i["file_name"] == stem]
        # A YOLO segmentation line has no box of its own: an object's box is its polygon's.
        want = sorted(
            (names[a["category_id"]], _polygon_box(a["segmentation"][0]), a["segmentation"][0])
            for a in source["annotations"]
            if a["image_id"] == image["id"]
        )
        got = sorted(
            (back_names[a["category_id"]], a["bbox"], a["segmentation"][0])
            for a in back["annotations"]
            if a["image_id"] == mine["id"]
        )
        assert [n for n, *_ in got] == [n for n, *_ in want] and len(got) >= 3
        for (_, box, poly), (_, box_in, poly_in) in zip(got, want, strict=True):
            assert box == pytest.approx(box_in, abs=1.0)
            assert poly == pytest.approx(poly_in, abs=1.0)


def _polygon_box(flat: list[float]) -> list[float]:
    pts = np.array(flat).reshape(-1, 2)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    return [x0, y0, x1 - x0, y1 - y0]


def test_to_needs_labels_and_a_known_format(tmp_path: Path) -> None:
    recipe = write(tmp_path, GEOMETRY.format(seed=1, copies=1))
    result = runner.invoke(
        app, ["run", str(recipe), "-i", str(LABELS / "voc"), "-o", str(tmp_path / "o"), "--to", "yolov8"]
    )
    assert result.exit_code == 2 and "unknown --to format 'yolov8'" in result.output
    result = runner.invoke(
        app, ["run", str(recipe), "-i", str(DATA / "fundus"), "-o", str(tmp_path / "o"), "--to", "coco"]
    )
    assert result.exit_code == 2 and "the input has none" in result.output


# --------------------------------------------------------------------------- validate-recipe knows the labels


class _BoxBlindShift:
    """A spatial transform that declares no boxes or keypoints (a user's custom transform, say)."""

    @staticmethod
    def make() -> type:
        from albumentations.core.transforms_interface import DualTransform
        from albumentations.core.type_definitions import Targets

        class BoxBlindShift(DualTransform):
            _targets = (Targets.IMAGE, Targets.MASK)

            def apply(self, img: np.ndarray, **params: object) -> np.ndarray:
                return np.roll(img, 10, axis=1)

            def apply_to_mask(self, mask: np.ndarray, **params: object) -> np.ndarray:
                return np.roll(mask, 10, axis=1)

        return BoxBlindShift


def test_validate_reports_steps_that_cannot_carry_the_inputs_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from augcli import registry

    catalogue = {**registry.catalogue(), "BoxBlindShift": _BoxBlindShift.make()}
    monkeypatch.setattr(registry, "catalogue", lambda: catalogue)
    recipe = write(
        tmp_path,
        f"augcli: 1\nname: t\nseed: 0\ncopies: 1\ninput: {LABELS / 'coco'}\n"
        "augment:\n  - Blur: {p: 0.5}\n  - OneOf:\n      transforms:\n"
        "        - HorizontalFlip: {}\n        - BoxBlindShift: {}\n",
    )
    result = runner.invoke(app, ["validate-recipe", str(recipe)])
    assert result.exit_code == 2, result.output
    assert "BoxBlindShift cannot move boxes or polygons, and the input's labels have them" in result.output
    assert result.output.count("error:") == 1 and ":11:11: error: augment[1].OneOf.transforms[1]" in result.output
    assert "labels: COCO (annotations.json): 3 of 3 images labelled; boxes, polygons" in result.output
    seg = write(tmp_path, recipe.read_text().replace("labels/coco", "labels/voc_seg"), "seg.yaml")
    result = runner.invoke(app, ["validate-recipe", str(seg)])
    assert result.exit_code == 0, result.output  # masks it can move
    assert "3 of 3 images labelled; masks" in result.output


def test_dry_run_says_how_many_images_have_labels(tmp_path: Path) -> None:
    recipe = write(tmp_path, GEOMETRY.format(seed=1, copies=1))
    result = runner.invoke(app, ["run", str(recipe), "-i", str(LABELS / "voc"), "-o", str(tmp_path / "o"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "labels: Pascal VOC (JPEGImages/ with Annotations/): 3 of 3 images labelled; boxes" in result.output


# --------------------------------------------------------------------------- pose keypoints: YOLO kpt_shape, left/right


FLIP = "augcli: 1\nname: flip\nseed: 0\ncopies: 1\noutput: {format: png}\naugment:\n  - HorizontalFlip: {p: 1}\n"


def make_yolo_pose(root: Path) -> Path:
    """One cat as a 'pose' dataset: nose, left eye, right eye (the right one occluded, v=1)."""
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    shutil.copy(DATA / "chelsea.png", root / "images" / "train" / "cat.png")
    (root / "labels" / "train" / "cat.txt").write_text(
        "0 0.5 0.5 0.6 0.6 0.500000 0.500000 2 0.300000 0.400000 2 0.700000 0.400000 1\n"
    )
    data = {"path": "/elsewhere", "train": "images/train", "val": "images/train", "kpt_shape": [3, 3]}
    (root / "data.yaml").write_text(yaml.safe_dump({**data, "flip_idx": [0, 2, 1], "names": ["cat"]}))
    return root


def pose_line(path: Path) -> list[float]:
    (line,) = path.read_text().splitlines()
    return [float(v) for v in line.split()]


def test_yolo_pose_keypoints_move_and_swap_left_right_on_a_flip(tmp_path: Path) -> None:
    src = make_yolo_pose(tmp_path / "pose")
    out = tmp_path / "out"
    run(write(tmp_path, FLIP), src, out)
    original = pose_line(out / "labels" / "train" / "cat.txt")
    assert original == pytest.approx([0, 0.5, 0.5, 0.6, 0.6, 0.5, 0.5, 2, 0.3, 0.4, 2, 0.7, 0.4, 1], abs=1e-4)
    flipped = pose_line(out / "labels" / "train" / "cat__aug001.txt")
    assert flipped[5:8] == pytest.approx([0.5, 0.5, 2], abs=0.005)
    assert flipped[8:11] == pytest.approx([0.3, 0.4, 1], abs=0.005)  # the right eye, mirrored, is now the left
    assert flipped[11:14] == pytest.approx([0.7, 0.4, 2], abs=0.005)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["kpt_shape"] == [3, 3] and data["flip_idx"] == [0, 2, 1] and "path" not in data
    shifted = write(
        tmp_path, FLIP.replace("HorizontalFlip: {p: 1}", "Affine: {translate_px: {x: [200, 200], y: 0}, p: 1}")
    )
    run(shifted, src, tmp_path / "shifted")
    line = pose_line(tmp_path / "shifted" / "labels" / "train" / "cat__aug001.txt")
    assert line[8:11] == pytest.approx([0.3 + 200 / 451, 0.4, 2], abs=0.005)
    assert line[11:14] == [0, 0, 0]  # left the image: kept, invisible


def test_coco_left_right_keypoints_swap_on_a_flip(tmp_path: Path) -> None:
    src = tmp_path / "coco"
    shutil.copytree(LABELS / "coco", src)
    doc = json.loads((src / "annotations.json").read_text())
    person = next(c for c in doc["categories"] if c["name"] == "person")
    person["keypoints"] = ["nose", "left_eye", "right_eye"]
    ann = next(a for a in doc["annotations"] if a["image_id"] == 0 and a["category_id"] == person["id"])
    ann["keypoints"], ann["num_keypoints"] = [250, 150, 2, 230, 140, 2, 270, 140, 1], 3
    (src / "annotations.json").write_text(json.dumps(doc))
    out = tmp_path / "out"
    run(write(tmp_path, FLIP), src, out)
    written = json.loads((out / "annotations.json").read_text())
    image = next(i for i in written["images"] if i["file_name"].endswith("2011_000003__aug001.png"))
    (kps,) = [a["keypoints"] for a in written["annotations"] if a["image_id"] == image["id"] and a.get("keypoints")]
    width = image["width"]
    assert kps == pytest.approx([width - 250, 150, 2, width - 270, 140, 1, width - 230, 140, 2], abs=1.01)
