"""The label-format registry: one table for names, choices and help; a new format is one file's worth of code."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from augcli.cli import app
from augcli.datasets import (
    conversion_help,
    conversion_targets,
    discover_dataset,
    format_names,
    get_format,
    label_format_choices,
    register_format,
)
from augcli.datasets import registry as formats
from augcli.datasets.base import Dataset, LabelSet, Sample, is_image, labelled, read_text
from augcli.datasets.labels import ImageLabels, LabelObject, objects_record
from augcli.errors import UsageError
from augcli.store import Store

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = DATA / "labels"
runner = CliRunner()


def test_every_list_of_formats_comes_from_the_registry() -> None:
    assert format_names() == ("voc", "coco", "yolo", "labelme", "cvat", "yolo-obb", "dota", "masks", "folders")
    assert label_format_choices() == (
        "auto",
        "voc",
        "coco",
        "yolo",
        "labelme",
        "cvat",
        "yolo-obb",
        "dota",
        "masks",
        "folders",
    )
    assert conversion_targets() == ("same", "voc", "coco", "yolo", "labelme", "cvat", "yolo-obb", "dota")
    assert (
        conversion_help() == "Label format to write: same, voc, coco, yolo, labelme, cvat, yolo-obb or dota (converts)."
    )
    assert [f.name for f in formats.detection_order()] == [
        "coco",
        "cvat",
        "dota",
        "yolo-obb",
        "yolo",
        "labelme",
        "voc",
        "masks",
        "folders",
    ]


def test_a_name_is_registered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))
    with pytest.raises(ValueError, match="a label format named 'coco' is already registered"):
        register_format(get_format("coco"))
    with pytest.raises(ValueError, match="'auto' is reserved"):
        register_format(_renamed("auto"))
    with pytest.raises(ValueError, match=r"unknown kinds of label \['meshes'\]"):
        register_format(_renamed("meshes", kinds=frozenset({"boxes", "meshes"})))
    assert format_names() == ("voc", "coco", "yolo", "labelme", "cvat", "yolo-obb", "dota", "masks", "folders")


def test_an_unknown_name_lists_the_formats_and_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as caught:
        get_format("yolov8")
    assert caught.value.message == (
        "unknown label format 'yolov8' (formats: voc, coco, yolo, labelme, cvat, yolo-obb, dota, masks, folders); "
        "did you mean yolo?"
    )
    with pytest.raises(
        UsageError,
        match=r"\(formats: auto, voc, coco, yolo, labelme, cvat, yolo-obb, dota, masks, folders\); did you mean coco\?",
    ):
        discover_dataset(LABELS / "coco", label_format="cocoo")


# --------------------------------------------------------------------------- a format defined in a test file


class CsvBoxCodec:
    """One `boxes.csv` for the whole dataset: `image,class,x_min,y_min,x_max,y_max` per object."""

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        return ImageLabels([LabelObject(cls, box) for cls, box in payload or []])

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        rows = [[image_rel, o.category, *(round(v, 1) for v in o.box)] for o in labels.objects if o.box is not None]
        return {"objects": objects_record(labels), "files": [], "rows": rows}

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        for record in sorted(records, key=lambda r: r["output"]):
            writer.writerows(record["labels"]["rows"])
        outputs.put("boxes.csv", text.getvalue().encode("utf-8"))
        return ["boxes.csv"]


class CsvBoxes:
    name = "csvboxes"
    title = "CSV boxes"
    kinds = frozenset({"boxes"})
    priority = 5
    target = None
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        if "boxes.csv" not in files:
            return None
        payloads: dict[str, list[Any]] = {}
        for image, cls, *box in csv.reader(io.StringIO(read_text(inputs, "boxes.csv"))):
            payloads.setdefault(image, []).append((cls, tuple(float(v) for v in box)))
        samples = [Sample(f, "train", None) for f in files if is_image(f)]
        ignored = [f for f in files if not is_image(f) and f != "boxes.csv"]
        return labelled(inputs, LabelSet(self.name, CsvBoxCodec(), samples, payloads, ignored, "CSV boxes (boxes.csv)"))

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        assert dataset.labels is not None
        count = sum(1 for s in dataset.samples if dataset.labels.payloads.get(s.rel))
        return count, {"boxes"} if count else set()

    def class_names(self, dataset: Dataset) -> list[str]:
        assert dataset.labels is not None
        return sorted({cls for rows in dataset.labels.payloads.values() for cls, _ in rows})


def _renamed(name: str, **changes: Any) -> CsvBoxes:
    copy = CsvBoxes()
    for key, value in {"name": name, **changes}.items():
        setattr(copy, key, value)
    return copy


@pytest.fixture()
def csv_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(formats, "_FORMATS", dict(formats._FORMATS))
    register_format(CsvBoxes())
    src = tmp_path / "src"
    src.mkdir()
    Image.open(DATA / "chelsea.png").convert("RGB").save(src / "cat.png")  # 451x300
    Image.open(DATA / "chelsea.png").convert("RGB").resize((64, 48)).save(src / "empty.png")
    (src / "boxes.csv").write_text("cat.png,eye,30,40,120,110\ncat.png,ear,300,20,420,90\n", encoding="utf-8")
    return src


def _run(tmp_path: Path, src: Path, out: Path, *extra: str) -> str:
    recipe = tmp_path / "flip.yaml"
    recipe.write_text(
        "augcli: 1\nname: flip\nseed: 0\ncopies: 1\noutput: {format: png}\naugment:\n  - HorizontalFlip: {p: 1}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["run", str(recipe), "-i", str(src), "-o", str(out), "--workers", "1", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_format_registered_from_a_test_file_is_detected_and_written_by_a_run(
    csv_dataset: Path, tmp_path: Path
) -> None:
    assert "csvboxes" in label_format_choices() and "csvboxes" not in conversion_targets()
    dry = _run(tmp_path, csv_dataset, tmp_path / "dry", "--dry-run")
    assert "labels: CSV boxes (boxes.csv): 1 of 2 images labelled; boxes" in dry
    out = tmp_path / "out"
    _run(tmp_path, csv_dataset, out)
    rows = (out / "boxes.csv").read_text(encoding="utf-8").splitlines()
    assert rows == [
        "cat.png,eye,30.0,40.0,120.0,110.0",
        "cat.png,ear,300.0,20.0,420.0,90.0",
        "cat__aug001.png,eye,331.0,40.0,421.0,110.0",  # mirrored: x -> 451 - x
        "cat__aug001.png,ear,31.0,20.0,151.0,90.0",
    ]
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["output"]: len(r["labels"]["objects"]) for r in records} == {
        "cat.png": 2,
        "cat__aug001.png": 2,
        "empty.png": 0,
        "empty__aug001.png": 0,
    }


def test_a_registered_format_converts_to_the_built_in_ones(csv_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "voc"
    _run(tmp_path, csv_dataset, out, "--to", "voc")
    xml = ET.parse(out / "Annotations" / "cat__aug001.xml").getroot()
    boxes = {
        el.findtext("name"): [int(el.findtext(f"bndbox/{k}") or -1) for k in ("xmin", "ymin", "xmax", "ymax")]
        for el in xml.iter("object")
    }
    assert boxes == {"eye": [332, 41, 421, 110], "ear": [32, 21, 151, 90]}  # VOC's 1-based pixel numbers
    assert (out / "ImageSets" / "Main" / "train.txt").read_text().split() == [
        "cat",
        "cat__aug001",
        "empty",
        "empty__aug001",
    ]
