"""`run --to`: class names in the source's order, the converter each target gets, and what labels become."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from augcli.datasets import Sample, discover_dataset
from augcli.datasets.coco import to_coco
from augcli.datasets.convert import class_names, converter, relocate
from augcli.datasets.labels import ImageLabels, IndexMask, LabelObject
from augcli.datasets.voc import to_voc
from augcli.datasets.yolo import to_yolo
from augcli.errors import UsageError
from augcli.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "labels"
VOC_NAMES = (LABELS / "voc" / "class_names.txt").read_text(encoding="utf-8").splitlines()


def _image(path: Path, size: tuple[int, int] = (64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.open(DATA / "chelsea.png").convert("RGB").resize(size).save(path)


def _voc(root: Path, objects: dict[str, list[str]], class_names: str | None = None) -> Path:
    for stem, names in objects.items():
        _image(root / "JPEGImages" / f"{stem}.jpg")
        xml = "".join(
            f"<object><name>{n}</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
            for n in names
        )
        (root / "Annotations").mkdir(exist_ok=True)
        (root / "Annotations" / f"{stem}.xml").write_text(f"<annotation>{xml}</annotation>", encoding="utf-8")
    if class_names is not None:
        (root / "class_names.txt").write_text(class_names, encoding="utf-8")
    return root


def _yolo(root: Path, lines: str, names: object = None) -> Path:
    _image(root / "images" / "train" / "a.jpg")
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text(lines, encoding="utf-8")
    if names is not None:
        (root / "data.yaml").write_text(yaml.safe_dump({"names": names}), encoding="utf-8")
    return root


# --------------------------------------------------------------------------- class names: the order of class ids


def test_class_names_keep_each_formats_own_order(tmp_path: Path) -> None:
    assert class_names(discover_dataset(LABELS / "coco")) == VOC_NAMES  # category id order
    assert class_names(discover_dataset(LABELS / "voc")) == VOC_NAMES  # class_names.txt
    voc = _voc(tmp_path / "voc", {"a": ["zebra", "cat"], "b": ["ant", "cat"]}, class_names="cat\r\ndog\r\n")
    assert class_names(discover_dataset(voc)) == ["cat", "dog", "ant", "zebra"]  # then names only XML uses, sorted
    named = _yolo(tmp_path / "yolo", "0 0.5 0.5 0.2 0.2\n", names={1: "shrub", 0: "tree"})
    assert class_names(discover_dataset(named)) == ["tree", "shrub"]
    unnamed = _yolo(tmp_path / "ids", "3 0.5 0.5 0.2 0.2\n\n1 0.1 0.1 0.2 0.2\n")
    assert class_names(discover_dataset(unnamed)) == ["0", "1", "2", "3"]  # no data.yaml: ids as names


def test_class_names_from_several_coco_files_are_listed_once(tmp_path: Path) -> None:
    for split in ("train", "valid"):
        _image(tmp_path / split / "a.jpg")
        doc = {"images": [], "annotations": [], "categories": [{"id": 2, "name": "b"}, {"id": 1, "name": "a"}]}
        (tmp_path / split / "_annotations.coco.json").write_text(json.dumps(doc), encoding="utf-8")
    assert class_names(discover_dataset(tmp_path)) == ["a", "b"]


# --------------------------------------------------------------------------- which converter, or why none


def test_no_converter_when_the_labels_are_already_in_the_target_format() -> None:
    voc = discover_dataset(LABELS / "voc")
    assert converter(voc, "same") is None
    assert converter(voc, "voc") is None


def test_refusals_say_why() -> None:
    with pytest.raises(UsageError) as caught:
        converter(discover_dataset(LABELS / "voc"), "yolov8")
    assert (
        caught.value.message
        == "unknown --to format 'yolov8' (formats: same, voc, coco, yolo, labelme, cvat, yolo-obb, dota); "
        "did you mean yolo?"
    )
    with pytest.raises(UsageError, match=r"^--to coco converts labels, and the input has none \(classification"):
        converter(discover_dataset(DATA / "fundus"), "coco")


def test_masks_are_not_converted(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.jpg")
    (tmp_path / "masks").mkdir()
    Image.new("L", (64, 48), 1).save(tmp_path / "masks" / "a.png")
    with pytest.raises(UsageError) as caught:
        converter(discover_dataset(tmp_path), "yolo")
    assert caught.value.message == (
        "--to yolo: generic masks have no objects to convert (masks would be lost); run without --to"
    )


@pytest.mark.parametrize(
    ("to", "written_as"),
    [
        ("yolo", "YOLO (images/<split>/ + labels/<split>/, data.yaml)"),
        ("coco", "COCO (<split>/ + annotations/instances_<split>.json)"),
    ],
)
def test_a_converter_travels_to_workers_and_says_what_it_writes(to: str, written_as: str) -> None:
    made = converter(discover_dataset(LABELS / "voc"), to)
    assert made is not None and made.written_as == written_as and made.names == VOC_NAMES
    copy = pickle.loads(pickle.dumps(made))
    labels = copy.read(open_store(LABELS / "voc"), "JPEGImages/2011_000003.jpg", None, 500, 338)
    assert [o.category for o in labels.objects] == ["person", "person"]


def test_coco_to_voc_says_what_it_writes() -> None:
    made = converter(discover_dataset(LABELS / "coco"), "voc", lossy=True)
    assert made is not None and made.written_as == "Pascal VOC (JPEGImages/ + Annotations/, ImageSets/Main)"


def test_a_class_outside_the_names_fails_the_image(tmp_path: Path) -> None:
    src = _voc(tmp_path / "voc", {"a": ["cat"]}, class_names="cat\n")
    made = converter(discover_dataset(src), "yolo")
    assert made is not None
    (src / "Annotations" / "a.xml").write_text(
        "<annotation><object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>"
        "</bndbox></object></annotation>",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="class 'dog' is not among the dataset's class names"):
        made.read(open_store(src), "JPEGImages/a.jpg", None, 64, 48)


# --------------------------------------------------------------------------- where images go


@dataclass(frozen=True)
class _Out:
    rel: str
    copy: int


def test_relocate_places_images_where_the_target_layout_wants_them() -> None:
    plans = [
        (Sample("JPEGImages/a.jpg", "val", None), [_Out("JPEGImages/a.jpg", 0), _Out("JPEGImages/a__aug001.jpg", 1)])
    ]
    assert [o.rel for o in relocate(plans, "yolo")[0][1]] == ["images/val/a.jpg", "images/val/a__aug001.jpg"]
    assert [o.rel for o in relocate(plans, "coco")[0][1]] == ["val/a.jpg", "val/a__aug001.jpg"]
    moved = relocate([(Sample("images/train/b.png", "train", None), [_Out("images/train/b.png", 0)])], "voc")
    assert moved[0][1] == [_Out("JPEGImages/b.png", 0)]


def test_two_images_on_one_path_is_an_error() -> None:
    plans = [(Sample(f"{d}/a.jpg", "train", None), [_Out(f"{d}/a.jpg", 0)]) for d in ("x", "y")]
    with pytest.raises(UsageError, match=r"--to voc: y/a\.jpg and x/a\.jpg would both be written as JPEGImages/a\.jpg"):
        relocate(plans, "voc")


# --------------------------------------------------------------------------- what each target holds


def _square_mask() -> np.ndarray:
    mask = np.zeros((40, 60), bool)
    mask[10:20, 5:25] = True
    return mask


def test_voc_keeps_boxes_only() -> None:
    labels = ImageLabels(
        [
            LabelObject("cat", (1.0, 2.0, 30.0, 20.0), keypoints=np.array([[5.0, 5.0, 2.0]])),
            LabelObject("dog", None, keypoints=np.array([[5.0, 5.0, 2.0]])),  # keypoints only: nothing to write
        ]
    )
    out = to_voc(labels, ["cat", "dog"])
    assert [(o.category, o.box) for o in out.objects] == [("cat", (1.0, 2.0, 30.0, 20.0))]
    assert out.counts.lost_keypoints == 1 and labels.counts.lost_keypoints == 0  # the writer counts the cat's
    assert out.meta["int_coords"] is True and out.meta["xml"].startswith("<annotation>")


def test_coco_gets_a_mask_as_its_outline_and_categories_from_one() -> None:
    labels = ImageLabels([LabelObject("dog", (5.0, 10.0, 25.0, 20.0), mask=_square_mask())])
    (obj,) = to_coco(labels, ["cat", "dog"]).objects
    assert obj.extra == {"category_id": 2, "iscrowd": 0} and obj.mask is None
    (outline,) = obj.polygons
    assert outline.min(axis=0).tolist() == [5, 10] and outline.max(axis=0).tolist() == [24, 19]


def test_yolo_boxes_follow_the_polygon_and_keypoints_go_to_the_writer() -> None:
    poly = np.array([[10.0, 10.0], [30.0, 12.0], [20.0, 35.0]])
    labels = ImageLabels([LabelObject("dog", (0.0, 0.0, 50.0, 50.0), [poly], np.array([[5.0, 5.0, 2.0]]))])
    (obj,) = to_yolo(labels, ["cat", "dog"]).objects
    assert obj.extra == {"class_id": 1} and obj.keypoints is not None  # a pose line holds them, or they are counted
    assert obj.box == (10.0, 10.0, 30.0, 35.0) and obj.box_source == "polygon"


def test_a_segmentation_only_voc_image_becomes_one_object_per_instance() -> None:
    instances = np.zeros((40, 60), np.uint8)
    classes = np.zeros((40, 60), np.uint8)
    instances[5:15, 5:15], classes[5:15, 5:15] = 1, 2
    instances[20:30, 30:50], classes[20:30, 30:50] = 2, 1
    classes[20:22, 30:50] = 2  # a few pixels of another class under the second instance: the majority wins
    instances[0, :], classes[0, :] = 255, 255  # void
    labels = ImageLabels(masks={"SegmentationObject": IndexMask(instances), "SegmentationClass": IndexMask(classes)})
    out = to_yolo(labels, ["background", "cat", "dog"])
    assert [(o.category, o.box) for o in out.objects] == [
        ("dog", (5.0, 5.0, 14.0, 14.0)),
        ("cat", (30.0, 20.0, 49.0, 29.0)),
    ]
