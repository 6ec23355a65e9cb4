"""No silent loss: the numbers each format writes are the ones its own readers (globox, pycocotools) expect,
and whatever a run cannot carry is refused or counted (issue 14's defects)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from augcli.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "labels"
runner = CliRunner()
SAME = "augcli: 1\nname: same\nseed: 0\ncopies: 1\noutput: {format: same}\naugment: []\n"


def run(tmp_path: Path, src: Path, out: Path, *extra: str, recipe: str = SAME) -> str:
    """`augcli run`; with the recipe that changes nothing, only the originals are kept (the next run's input)."""
    path = tmp_path / "recipe.yaml"
    path.write_text(recipe, encoding="utf-8")
    result = runner.invoke(app, ["run", str(path), "-i", str(src), "-o", str(out), "--workers", "1", *extra])
    assert result.exit_code == 0, result.output
    if recipe == SAME:
        for copy in out.rglob("*__aug001.*"):
            copy.unlink()
    return result.output


def voc_boxes(path: Path) -> list[tuple[str, list[float]]]:
    root = ET.parse(path).getroot()
    return [
        (el.findtext("name") or "", [float(el.findtext(f"bndbox/{k}") or "") for k in ("xmin", "ymin", "xmax", "ymax")])
        for el in root.iter("object")
    ]


def _voc_tile(root: Path, boxes: list[tuple[int, int, int, int]], size: tuple[int, int] = (64, 48)) -> Path:
    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    Image.open(DATA / "chelsea.png").convert("RGB").resize(size).save(root / "JPEGImages" / "a.png")
    objects = "".join(
        f"<object><name>cat</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
        "</bndbox></object>"
        for x0, y0, x1, y1 in boxes
    )
    (root / "Annotations" / "a.xml").write_text(f"<annotation>{objects}</annotation>", encoding="utf-8")
    return root


# --------------------------------------------------------------------------- VOC is 1-based (defect 2)


def test_voc_whole_image_box_is_1_to_width_and_coco_reads_it_from_0(tmp_path: Path) -> None:
    """A box over the whole 64x48 image is 1..64 x 1..48 in VOC and 0,0,64,48 in COCO, both ways."""
    from pycocotools.coco import COCO

    src = _voc_tile(tmp_path / "voc", [(1, 1, 64, 48), (11, 6, 20, 15)])
    run(tmp_path, src, tmp_path / "coco", "--to", "coco")
    coco = COCO(str(tmp_path / "coco" / "annotations" / "instances_train.json"))
    (image,) = [i for i in coco.imgs.values() if i["file_name"] == "a.png"]
    assert sorted(a["bbox"] for a in coco.imgToAnns[image["id"]]) == [[0, 0, 64, 48], [10, 5, 10, 10]]
    run(tmp_path, tmp_path / "coco", tmp_path / "back", "--to", "voc")
    assert voc_boxes(tmp_path / "back" / "Annotations" / "a.xml") == [
        ("cat", [1, 1, 64, 48]),
        ("cat", [11, 6, 20, 15]),
    ]
    run(tmp_path, src, tmp_path / "voc_again")  # VOC in, VOC out: the numbers it read
    assert voc_boxes(tmp_path / "voc_again" / "Annotations" / "a.xml") == voc_boxes(src / "Annotations" / "a.xml")


def test_voc_to_coco_to_voc_round_trips_the_aerial_tile(tmp_path: Path) -> None:
    import globox

    run(tmp_path, LABELS / "satellite", tmp_path / "coco", "--to", "coco")
    run(tmp_path, tmp_path / "coco", tmp_path / "voc", "--to", "voc")
    source = voc_boxes(LABELS / "satellite" / "OSBS_029.xml")
    back = globox.AnnotationSet.from_pascal_voc(folder=tmp_path / "voc" / "Annotations")
    (annotation,) = list(back)
    got = [(b.label, list(b.ltrb)) for b in annotation.boxes]
    assert len(got) == len(source) > 30
    for (name, box), (want_name, want) in zip(sorted(got), sorted(source), strict=True):
        assert name == want_name and box == pytest.approx(want, abs=0.5)
    assert min(b[0] for _, b in got) >= 1 and max(b[2] for _, b in got) <= 400  # 1-based, inside the image


def test_yolo_to_voc_to_yolo_keeps_boxes_within_half_a_pixel(tmp_path: Path) -> None:
    src = tmp_path / "yolo"
    (src / "images" / "train").mkdir(parents=True)
    (src / "labels" / "train").mkdir(parents=True)
    shutil.copy(LABELS / "satellite" / "OSBS_029.png", src / "images" / "train" / "tile.png")  # 400x400
    rows = [(0.0, 0.0, 0.1, 0.05), (0.9, 0.95, 1.0, 1.0), (0.3012, 0.4551, 0.4237, 0.5016)]
    (src / "labels" / "train" / "tile.txt").write_text(
        "".join(f"0 {(a + c) / 2:.6f} {(b + d) / 2:.6f} {c - a:.6f} {d - b:.6f}\n" for a, b, c, d in rows)
    )
    run(tmp_path, src, tmp_path / "voc", "--to", "voc")
    voc = voc_boxes(tmp_path / "voc" / "Annotations" / "tile.xml")
    assert voc[0][1] == [1, 1, 40, 20] and voc[1][1] == [361, 381, 400, 400]  # 1-based, inclusive
    run(tmp_path, tmp_path / "voc", tmp_path / "back", "--to", "yolo")
    lines = (tmp_path / "back" / "labels" / "train" / "tile.txt").read_text().splitlines()
    for line, want in zip(lines, rows, strict=True):
        cx, cy, w, h = (float(v) for v in line.split()[1:])
        got = [(cx - w / 2) * 400, (cy - h / 2) * 400, (cx + w / 2) * 400, (cy + h / 2) * 400]
        assert got == pytest.approx([v * 400 for v in want], abs=0.5)


def test_voc_written_by_augcli_loads_in_globox_at_the_manifest_boxes(tmp_path: Path) -> None:
    """globox reads VOC numbers as they are: each is the manifest's pixel-edge box, xmin and ymin plus one."""
    import globox

    recipe = SAME.replace("copies: 1", "copies: 2").replace(
        "augment: []", "augment:\n  - Affine: {rotate: [-30, 30], translate_percent: [-0.2, 0.2], p: 1}"
    )
    out = tmp_path / "out"
    run(tmp_path, LABELS / "voc", out, recipe=recipe)
    loaded = {a.image_id: a for a in globox.AnnotationSet.from_pascal_voc(folder=out / "Annotations")}
    for line in (out / "manifest.jsonl").read_text().splitlines():
        rec = json.loads(line)
        boxes = [list(b.ltrb) for b in loaded[Path(rec["output"]).name].boxes]
        want = [[o["box"][0] + 1, o["box"][1] + 1, o["box"][2], o["box"][3]] for o in rec["labels"]["objects"]]
        assert boxes == want
        assert all(1 <= b[0] <= b[2] <= rec["size"][0] and 1 <= b[1] <= b[3] <= rec["size"][1] for b in boxes)


# --------------------------------------------------------------------------- no degenerate box written (defect 1)


def test_a_box_rounded_to_no_width_is_dropped_and_counted(tmp_path: Path) -> None:
    """A one-pixel column shrunk 4x is a quarter pixel wide: above min_area (it is tall), but VOC writes
    integers and it rounds to no width. It must not be written, and the run must say it was dropped."""
    src = _voc_tile(tmp_path / "voc", [(13, 6, 13, 45), (11, 6, 40, 45)])
    recipe = SAME.replace("augment: []", "augment:\n  - Resize: {height: 12, width: 16}")
    out = tmp_path / "out"
    text = run(tmp_path, src, out, recipe=recipe)
    boxes = voc_boxes(out / "Annotations" / "a__aug001.xml")
    assert boxes == [("cat", [3, 2, 10, 11])]  # the wide one, scaled: pixel edges 2.5..10, 1.25..11.25
    (copy,) = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines() if "aug001" in line]
    assert len(copy["labels"]["objects"]) == 1 and copy["labels"]["counts"]["dropped"] == 1
    counts = json.loads((out / "run.json").read_text())["counts"]["labels"]
    assert counts["dropped"] == 1 and counts["objects"] == 3
    assert "1 dropped" in text


# --------------------------------------------------------------------------- YOLO stays inside [0, 1] (defect 7)


def _coco_boxes(root: Path, boxes: list[list[float]], size: tuple[int, int] = (64, 48)) -> Path:
    (root / "images").mkdir(parents=True)
    Image.open(DATA / "chelsea.png").convert("RGB").resize(size).save(root / "images" / "a.jpg")
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": size[0], "height": size[1]}],
        "annotations": [
            {"id": i, "image_id": 1, "category_id": 1, "bbox": box, "iscrowd": 0, "area": box[2] * box[3]}
            for i, box in enumerate(boxes, start=1)
        ],
        "categories": [{"id": 1, "name": "cat"}],
    }
    (root / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    return root


def test_yolo_rows_stay_inside_the_image_exactly_and_read_back_unclipped(tmp_path: Path) -> None:
    """Boxes from a third of the width to the right edge: cx and w rounded on their own made cx + w/2
    1.0000005, which a reader (augcli's own included) then clips. Every edge must be in [0, 1] exactly."""
    from decimal import Decimal

    import globox

    w, h = 64, 48
    boxes = [[w * k / 97, h * k / 89, w - w * k / 97, h - h * k / 89] for k in range(1, 40)]
    boxes += [[0, 0, w * k / 97, h * k / 89] for k in range(3, 40)]
    src = _coco_boxes(tmp_path / "coco", boxes)
    run(tmp_path, src, tmp_path / "yolo", "--to", "yolo")
    rows = (tmp_path / "yolo" / "labels" / "train" / "a.txt").read_text().splitlines()
    assert len(rows) == len(boxes)
    for row in rows:
        cx, cy, bw, bh = (Decimal(v) for v in row.split()[1:])
        assert min(cx - bw / 2, cy - bh / 2) >= 0 and max(cx + bw / 2, cy + bh / 2) <= 1, row
    loaded = globox.AnnotationSet.from_yolo_v5(
        folder=tmp_path / "yolo" / "labels" / "train", image_folder=tmp_path / "yolo" / "images" / "train"
    )
    got = sorted(v for a in loaded for b in a.boxes for v in b.ltrb)
    want = sorted(v for x, y, bw, bh in boxes for v in (x, y, x + bw, y + bh))
    assert got == pytest.approx(want, abs=0.001)
    again = tmp_path / "again"
    run(tmp_path, tmp_path / "yolo", again)
    assert json.loads((again / "run.json").read_text())["counts"]["labels"]["clipped"] == 0


# --------------------------------------------------------------------------- what counts as clipped (defect 6)


README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_clipped_counts_what_the_readme_says(tmp_path: Path) -> None:
    """VOC's last pixel is xmax = width (1-based), so the aerial tile's boxes that reach the edge are inside;
    xmin = 0 and xmax = width + 1 are a pixel outside, clipped and counted, as the README says."""
    assert "(YOLO 1.0000005, VOC `xmin=0` or `xmax=width+1`) are clipped and counted" in README
    out = tmp_path / "aerial"
    run(tmp_path, LABELS / "satellite", out)
    source = voc_boxes(LABELS / "satellite" / "OSBS_029.xml")
    assert sum(box[2] == 400 or box[3] == 400 for _, box in source) >= 6
    assert json.loads((out / "run.json").read_text())["counts"]["labels"]["clipped"] == 0
    src = _voc_tile(tmp_path / "voc", [(0, 5, 20, 30), (30, 5, 65, 30), (30, 5, 64, 48)])  # a 64x48 image
    text = run(tmp_path, src, tmp_path / "out", "--to", "coco")
    assert json.loads((tmp_path / "out" / "run.json").read_text())["counts"]["labels"]["clipped"] == 2
    assert "2 clipped" in text
    doc = json.loads((tmp_path / "out" / "annotations" / "instances_train.json").read_text())
    (image,) = [i for i in doc["images"] if i["file_name"] == "a.png"]
    boxes = sorted(a["bbox"] for a in doc["annotations"] if a["image_id"] == image["id"])
    assert boxes == [[0, 4, 20, 26], [29, 4, 35, 26], [29, 4, 35, 44]]


# --------------------------------------------------------------------------- ImageSets names with spaces (defect 3)


def test_image_sets_lines_are_whole_names_and_the_two_column_form_still_reads(tmp_path: Path) -> None:
    src = _voc_tile(tmp_path / "voc", [(11, 6, 40, 45)])
    name = "AWPE Pigeon Lake 2020 DJI_0005"
    for stem in (name, "b", "c"):
        shutil.copy(src / "JPEGImages" / "a.png", src / "JPEGImages" / f"{stem}.png")
        shutil.copy(src / "Annotations" / "a.xml", src / "Annotations" / f"{stem}.xml")
    (src / "ImageSets" / "Main").mkdir(parents=True)
    (src / "ImageSets" / "Main" / "train.txt").write_text("a\nb  1\n", encoding="utf-8")  # "name flag" too
    (src / "ImageSets" / "Main" / "val.txt").write_text(f"{name}\nc -1\n", encoding="utf-8")
    out = tmp_path / "out"
    run(tmp_path, src, out, recipe=SAME.replace("augment: []", "augment:\n  - HorizontalFlip: {p: 1}"))
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    splits = {r["output"]: r["split"] for r in records}
    assert splits == {
        f"JPEGImages/{name}.png": "val",  # a val image: not augmented
        "JPEGImages/c.png": "val",
        "JPEGImages/a.png": "train",
        "JPEGImages/a__aug001.png": "train",
        "JPEGImages/b.png": "train",
        "JPEGImages/b__aug001.png": "train",
    }
    assert (out / "ImageSets" / "Main" / "val.txt").read_text(encoding="utf-8") == f"{name}\nc\n"


# --------------------------------------------------------------------------- COCO images not on disk (defect 4)


def test_coco_images_missing_on_disk_are_warned_and_counted_and_case_is_forgiven(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    src = _coco_boxes(tmp_path / "coco", [[1, 1, 10, 10]])
    shutil.copy(src / "images" / "a.jpg", src / "images" / "terrain2.png")
    doc = json.loads((src / "annotations.json").read_text())
    doc["images"] += [
        {"id": 2, "file_name": "gone.jpg", "width": 64, "height": 48},
        {"id": 3, "file_name": "terrain2.PNG", "width": 64, "height": 48},  # terrain2.png on disk
    ]
    box = {"category_id": 1, "bbox": [5, 5, 20, 20], "iscrowd": 0, "area": 400}
    doc["annotations"] += [{**box, "id": 10 + i, "image_id": image_id} for i, image_id in enumerate((2, 2, 3, 3, 3))]
    (src / "annotations.json").write_text(json.dumps(doc))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(SAME, encoding="utf-8")
    dry = runner.invoke(app, ["run", str(recipe), "-i", str(src), "-o", str(tmp_path / "dry"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    lost = "annotations.json lists 1 image not on disk; their 2 objects are not written: gone.jpg (2)"
    case = "annotations.json: 1 file_name matched a file only ignoring case"
    assert f"warning: {lost}" in dry.output and case in dry.output
    assert "terrain2.PNG -> images/terrain2.png" in dry.output
    out = tmp_path / "out"
    text = run(tmp_path, src, out)
    assert lost in text and case in text
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["counts"]["labels"]["missing_images"] == 1 and run_json["counts"]["labels"]["missing_objects"] == 2
    assert any(lost in w for w in run_json["warnings"])
    coco = COCO(str(out / "annotations.json"))
    (terrain,) = [i for i in coco.imgs.values() if i["file_name"] == "terrain2.png"]
    assert len(coco.imgToAnns[terrain["id"]]) == 3  # every object of the case-mismatched image kept


# --------------------------------------------------------------------------- keypoints: YOLO pose, or refused (5)

KEYPOINTS = [250, 150, 2, 230, 140, 2, 270, 140, 1]  # nose, left eye, right eye (occluded) of one person


def _coco_keypoints(root: Path, polygons: bool) -> Path:
    """The labelme COCO sample with one person given three keypoints; its polygons kept or removed."""
    shutil.copytree(LABELS / "coco", root)
    doc = json.loads((root / "annotations.json").read_text())
    person = next(c for c in doc["categories"] if c["name"] == "person")
    person["keypoints"] = ["nose", "left_eye", "right_eye"]
    ann = next(a for a in doc["annotations"] if a["image_id"] == 0 and a["category_id"] == person["id"])
    ann["keypoints"], ann["num_keypoints"] = KEYPOINTS, 3
    for a in doc["annotations"]:
        if not polygons:
            a.pop("segmentation")
    (root / "annotations.json").write_text(json.dumps(doc))
    return root


def test_keypoints_convert_to_yolo_pose_and_back(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    src = _coco_keypoints(tmp_path / "coco", polygons=False)
    flip = SAME.replace("augment: []", "augment:\n  - HorizontalFlip: {p: 1}")
    out = tmp_path / "yolo"
    run(tmp_path, src, out, "--to", "yolo", recipe=flip)
    data = yaml_load(out / "data.yaml")
    assert data["kpt_shape"] == [3, 3] and data["flip_idx"] == [0, 2, 1]
    rows = [line.split() for line in (out / "labels" / "train" / "2011_000003.txt").read_text().splitlines()]
    assert {len(r) for r in rows} == {5 + 9}  # every line a box and three keypoints (0 0 0 for those without)
    person = [r for r in rows if r[5:] != ["0.000000", "0.000000", "0"] * 3]
    assert len(person) == 1
    values = [float(v) for v in person[0][5:]]
    want = [250 / 500, 150 / 338, 2, 230 / 500, 140 / 338, 2, 270 / 500, 140 / 338, 1]
    assert values == pytest.approx(want, abs=1e-6)
    flipped = [line.split() for line in (out / "labels" / "train" / "2011_000003__aug001.txt").read_text().splitlines()]
    (mirrored,) = [r for r in flipped if r[5:] != ["0.000000", "0.000000", "0"] * 3]
    assert [float(v) for v in mirrored[8:14]] == pytest.approx(  # left and right eyes swapped back
        [1 - 270 / 500, 140 / 338, 1, 1 - 230 / 500, 140 / 338, 2],
        abs=1.01 / 500,  # Albumentations: x -> W-1-x
    )
    for copy in out.rglob("*__aug001.*"):
        copy.unlink()
    run(tmp_path, out, tmp_path / "back", "--to", "coco")
    coco = COCO(str(tmp_path / "back" / "annotations" / "instances_train.json"))
    (image,) = [i for i in coco.imgs.values() if i["file_name"] == "2011_000003.jpg"]
    kps = [a["keypoints"] for a in coco.imgToAnns[image["id"]] if a.get("num_keypoints")]
    assert kps == [pytest.approx(KEYPOINTS, abs=0.01)]


def yaml_load(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("to", "lost"),
    [
        ("voc", "keypoints (dropped) and polygons (written as their boxes)"),
        ("yolo", "polygons (a pose line holds a box and keypoints: written as their boxes)"),
    ],
)
def test_a_conversion_that_cannot_carry_a_kind_refuses_unless_lossy(tmp_path: Path, to: str, lost: str) -> None:
    src = _coco_keypoints(tmp_path / "coco", polygons=True)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(SAME, encoding="utf-8")
    refused = runner.invoke(app, ["run", str(recipe), "-i", str(src), "-o", str(tmp_path / "no"), "--to", to])
    assert refused.exit_code == 2
    assert f"--to {to} cannot carry the input's {lost}; pass --lossy to convert anyway" in refused.output
    assert not (tmp_path / "no").exists()
    out = tmp_path / "out"
    text = run(tmp_path, src, out, "--to", to, "--lossy")
    counts = json.loads((out / "run.json").read_text())["counts"]["labels"]
    with_polygons = 12  # objects, each written twice (original and copy)
    assert counts["lost_polygons"] == 2 * with_polygons and counts["objects"] == 2 * 12
    assert counts["lost_keypoints"] == (2 if to == "voc" else 0) and counts["lost_masks"] == 0
    assert f"not carried by --to (--lossy): polygons of {2 * with_polygons}" in text


# --------------------------------------------------------------------------- .mpo is an image (defect 8)


def test_an_mpo_from_a_phone_is_an_image_its_first_picture_written_as_jpeg(tmp_path: Path) -> None:
    from augcli.datasets.base import is_image
    from augcli.imageio import IMAGE_SUFFIXES, read_image

    src = tmp_path / "photos"
    src.mkdir()
    first = Image.open(DATA / "chelsea.png").convert("RGB")
    second = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    first.save(src / "IMG_0001.MPO", save_all=True, append_images=[second])
    assert Image.open(src / "IMG_0001.MPO").format == "MPO"
    assert is_image("IMG_0001.MPO") and ".mpo" in IMAGE_SUFFIXES
    out = tmp_path / "out"
    text = run(tmp_path, src, out)
    assert "ignored" not in text
    assert Image.open(out / "IMG_0001.jpg").format == "JPEG"  # output.format: same; one picture, not an MPO
    written = read_image(out / "IMG_0001.jpg").pixels
    assert np.abs(written.astype(int) - np.asarray(first, int)).mean() < 3  # the first picture, not the second
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    recipe = tmp_path / "recipe.yaml"
    result = runner.invoke(app, ["run", str(recipe), "-i", str(empty), "-o", str(tmp_path / "o2")])
    assert result.exit_code == 2 and ".mpo" in result.output  # the message lists the image extensions


# --------------------------------------------------------------------------- data.yaml and --to layouts (defect 9)


def test_data_yaml_names_only_the_splits_the_output_has(tmp_path: Path) -> None:
    """A train-only dataset gets no `val:` (pointing it at the training images would validate on them)."""
    run(tmp_path, LABELS / "voc", tmp_path / "train_only", "--to", "yolo")
    data = yaml_load(tmp_path / "train_only" / "data.yaml")
    assert data["train"] == "images/train" and "val" not in data and "test" not in data
    src = tmp_path / "voc"
    shutil.copytree(LABELS / "voc", src)
    (src / "ImageSets" / "Main").mkdir(parents=True)
    (src / "ImageSets" / "Main" / "train.txt").write_text("2011_000003\n2011_000006\n")
    (src / "ImageSets" / "Main" / "val.txt").write_text("2011_000025\n")
    run(tmp_path, src, tmp_path / "with_val", "--to", "yolo")
    data = yaml_load(tmp_path / "with_val" / "data.yaml")
    assert (data["train"], data["val"]) == ("images/train", "images/val") and "test" not in data
    assert (tmp_path / "with_val" / "labels" / "val" / "2011_000025.txt").is_file()


def test_to_the_inputs_own_format_keeps_its_layout_as_the_readme_says(tmp_path: Path) -> None:
    assert "`--to` naming the input's own format is `--to same`" in README
    out = tmp_path / "out"
    run(tmp_path, LABELS / "coco", out, "--to", "coco")
    assert (out / "annotations.json").is_file() and (out / "JPEGImages" / "2011_000003.jpg").is_file()
    assert not (out / "annotations").exists()


def test_a_class_mask_no_object_carries_is_counted_when_converted(tmp_path: Path) -> None:
    """VOC boxes with a SegmentationClass mask but no SegmentationObject: the class mask has no instances
    to become polygons, so converting refuses; with --lossy COCO gets the boxes and the masks are counted."""
    src = _voc_tile(tmp_path / "voc", [(11, 6, 40, 45)])
    (src / "SegmentationClass").mkdir()
    Image.new("P", (64, 48), 1).save(src / "SegmentationClass" / "a.png")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(SAME, encoding="utf-8")
    refused = runner.invoke(app, ["run", str(recipe), "-i", str(src), "-o", str(tmp_path / "no"), "--to", "yolo"])
    assert refused.exit_code == 2 and "cannot carry the input's masks (SegmentationClass without" in refused.output
    out = tmp_path / "out"
    text = run(tmp_path, src, out, "--to", "coco", "--lossy")
    counts = json.loads((out / "run.json").read_text())["counts"]["labels"]
    assert counts["objects"] == 2 and counts["lost_masks"] == 2  # the original and its copy
    assert "not carried by --to (--lossy): masks of 2 objects" in text
