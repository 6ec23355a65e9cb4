"""`run --to FORMAT`: read labels in the detected format, write them in another format's layout.

A `Converter` is a codec like the others (it pickles, workers read and write with it): it reads with
the source's codec, reshapes each image's labels into what the target can hold, and writes and
finishes with a target codec. Images move to where the target layout puts them:

* yolo: `images/<split>/x.jpg` + `labels/<split>/x.txt`, `data.yaml` (names in class order);
* coco: `<split>/x.jpg` + `annotations/instances_<split>.json` (categories numbered from 1);
* voc: `JPEGImages/x.jpg` + `Annotations/x.xml`, `ImageSets/Main/<split>.txt`.

Boxes always convert. Polygons go to COCO and YOLO (segmentation); a mask (COCO RLE, VOC instance
mask) becomes polygons there; VOC keeps only boxes (made tight from the polygon or mask first).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from augcli import registry
from augcli.datasets.coco import CocoCodec, CocoFile
from augcli.datasets.folders import Dataset
from augcli.datasets.formats import Codec, LabelSet
from augcli.datasets.labels import VOID, ImageLabels, LabelObject, mask_box
from augcli.datasets.voc import VocCodec
from augcli.datasets.yolo import YoloCodec, label_rel
from augcli.errors import UsageError

TARGETS = ("same", "voc", "coco", "yolo")
_VOC_SKELETON = "<annotation><folder>JPEGImages</folder><filename /><size><depth>3</depth></size></annotation>"


def _place_yolo(rel: str, split: str) -> str:
    return f"images/{split}/{PurePosixPath(rel).name}"


def _place_coco(rel: str, split: str) -> str:
    return f"{split}/{PurePosixPath(rel).name}"


def _place_voc(rel: str, split: str) -> str:
    return f"JPEGImages/{PurePosixPath(rel).name}"


PLACES: dict[str, Callable[[str, str], str]] = {"yolo": _place_yolo, "coco": _place_coco, "voc": _place_voc}
CONVERTED = {  # what the run summary says a conversion writes
    "yolo": "YOLO (images/<split>/ + labels/<split>/, data.yaml)",
    "coco": "COCO (<split>/ + annotations/instances_<split>.json)",
    "voc": "Pascal VOC (JPEGImages/ + Annotations/, ImageSets/Main)",
}


# --------------------------------------------------------------------------- per image: what the target holds


def mask_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """Outer contours of a mask's regions (pixel corners), largest first; specks under 3 vertices dropped."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = [c.reshape(-1, 2).astype(np.float64) for c in contours if len(c) >= 3]
    return sorted(polys, key=len, reverse=True)


def _shapes(labels: ImageLabels, obj: LabelObject) -> tuple[list[np.ndarray], np.ndarray | None]:
    """An object's polygons, and its mask (its own, or its region of a VOC instance mask)."""
    mask = obj.mask
    instance = labels.masks.get("SegmentationObject")
    if mask is None and instance is not None and obj.instance is not None:
        mask = instance.indices == obj.instance
    return list(obj.polygons), mask


def _mask_objects(labels: ImageLabels, names: list[str]) -> list[LabelObject]:
    """Objects of a VOC segmentation-only image: one per instance of SegmentationObject, its class the
    most common SegmentationClass index under it (class_names.txt order, index 0 = background)."""
    if labels.objects or not {"SegmentationObject", "SegmentationClass"} <= set(labels.masks):
        return labels.objects
    instances, classes = labels.masks["SegmentationObject"].indices, labels.masks["SegmentationClass"].indices
    objects = []
    for value in np.unique(instances):
        if value in (0, VOID):
            continue
        region = instances == value
        cls = int(np.bincount(classes[region]).argmax())
        if cls in (0, VOID):
            continue
        box = mask_box(region)
        objects.append(LabelObject(names[cls] if cls < len(names) else str(cls), box, instance=int(value)))
    return objects


def _to_voc(labels: ImageLabels, converter: Converter) -> ImageLabels:
    objects = []
    for obj in _mask_objects(labels, converter.names):
        if obj.box is None:
            continue  # VOC holds boxes only; a keypoint-only object has nothing to write
        polygons, mask = _shapes(labels, obj)
        objects.append(LabelObject(obj.category, obj.box, polygons=polygons, mask=mask))
    return ImageLabels(objects, {}, {"xml": _VOC_SKELETON, "int_coords": True}, labels.counts)


def _to_polygon_format(
    labels: ImageLabels, converter: Converter, extra: Callable[[str], dict[str, Any]]
) -> ImageLabels:
    objects = []
    for obj in _mask_objects(labels, converter.names):
        polygons, mask = _shapes(labels, obj)
        if not polygons and mask is not None:
            polygons = mask_polygons(mask)
        objects.append(
            LabelObject(obj.category, obj.box, polygons=polygons, keypoints=obj.keypoints, extra=extra(obj.category))
        )
    return ImageLabels(objects, {}, {}, labels.counts)


def _to_coco(labels: ImageLabels, converter: Converter) -> ImageLabels:
    ids = {name: i for i, name in enumerate(converter.names, start=1)}
    out = _to_polygon_format(labels, converter, lambda name: {"category_id": ids[name], "iscrowd": 0})
    out.meta = {"image": {}}
    return out


def _to_yolo(labels: ImageLabels, converter: Converter) -> ImageLabels:
    index = {name: i for i, name in enumerate(converter.names)}
    out = _to_polygon_format(labels, converter, lambda name: {"class_id": index[name]})
    for obj in out.objects:
        obj.keypoints = None  # YOLO detection/segmentation lines hold no keypoints
        if obj.polygons:  # a segmentation line has no box of its own: the polygon's is the one written
            pts = max(obj.polygons, key=len)
            obj.box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            obj.box_source = "polygon"
    out.meta = {"had_file": True}
    return out


ADAPT: dict[str, Callable[[ImageLabels, Converter], ImageLabels]] = {"voc": _to_voc, "coco": _to_coco, "yolo": _to_yolo}


@dataclass
class Converter:
    """A codec that reads with `source` and writes with `target` (format `to`)."""

    source: Codec
    target: Codec
    to: str
    names: list[str]
    name: str = "convert"

    def read(self, root: Path, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        labels = self.source.read(root, rel, payload, width, height)
        unknown = sorted({o.category for o in labels.objects} - set(self.names))
        if unknown:
            raise ValueError(f"class {unknown[0]!r} is not among the dataset's class names")
        return ADAPT[self.to](labels, self)

    def write(self, out_root: Path, out_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        if self.to == "coco":
            labels = replace(labels, meta={**labels.meta, "json": _coco_json(PurePosixPath(out_rel).parts[0])})
        return self.target.write(out_root, out_rel, labels, width, height)

    def finish(self, out_root: Path, records: list[dict[str, Any]]) -> list[str]:
        return self.target.finish(out_root, records)


def _coco_json(split: str) -> str:
    return f"annotations/instances_{split}.json"


# --------------------------------------------------------------------------- the dataset: names and target codec


def class_names(label_set: LabelSet, root: Path) -> list[str]:
    """Every class name the source knows, in its own order: COCO category order, data.yaml's `names`,
    VOC's class_names.txt; then names only the label files use (sorted)."""
    codec: Any = label_set.codec
    names: list[str] = []
    if label_set.format == "coco":
        for coco_file in codec.files:
            for cat in sorted(coco_file.header.get("categories", []), key=lambda c: c["id"]):
                names.append(str(cat["name"]))
    elif label_set.format == "yolo":
        names = list(codec.names)
        if not names:
            top = -1
            for sample in label_set.samples:
                path = root / label_rel(sample.rel)
                if path.is_file():
                    for line in path.read_text(encoding="utf-8").splitlines():
                        if line.split():
                            top = max(top, int(line.split()[0]))
            names = [str(i) for i in range(top + 1)]
    elif label_set.format == "voc":
        for text in codec.extra_files.values():
            names.extend(line.strip() for line in text.splitlines() if line.strip())
        used: set[str] = set()
        for sample in label_set.samples:
            xml = root / codec._beside(sample.rel, "Annotations", ".xml")
            if xml.is_file():
                used.update((el.text or "").strip() for el in ET.parse(xml).getroot().findall("object/name"))
        names.extend(sorted(used - set(names)))
    return list(dict.fromkeys(names))


def _target_codec(to: str, names: list[str], splits: list[str]) -> Codec:
    if to == "yolo":
        data: dict[str, Any] = {s: f"images/{s}" for s in splits}
        if "val" not in data:
            data["val"] = f"images/{splits[0]}"  # Ultralytics requires `val:`; this dataset has no val split
        return YoloCodec(list(names), "data.yaml", {**data, "names": list(names)})
    if to == "coco":
        header = {
            "info": {"description": "converted by augcli"},
            "licenses": [],
            "categories": [{"id": i, "name": n, "supercategory": ""} for i, n in enumerate(names, start=1)],
        }
        return CocoCodec([CocoFile(_coco_json(s), s, s, header) for s in splits])
    return VocCodec(image_sets=True)


def converter(dataset: Dataset, to: str) -> Converter | None:
    """The codec that writes `dataset`'s labels as `to`; None when there is nothing to convert."""
    if to not in TARGETS:
        hint = registry.suggest(to, list(TARGETS))
        extra = f"; did you mean {hint[0]}?" if hint else ""
        raise UsageError(f"unknown --to format '{to}' (formats: {', '.join(TARGETS)}){extra}")
    label_set: LabelSet | None = dataset.labels
    if to == "same" or (label_set is not None and label_set.format == to):
        return None
    if label_set is None:
        raise UsageError(f"--to {to} converts labels, and the input has none (classification folders)", dataset.root)
    if label_set.format == "masks":
        raise UsageError(
            f"--to {to}: generic masks have no objects to convert (masks would be lost); run without --to",
            dataset.root,
        )
    names = class_names(label_set, dataset.root)
    splits = sorted({s.split for s in label_set.samples})
    return Converter(label_set.codec, _target_codec(to, names, splits), to, names)


def relocate(plans: list[tuple[Any, list[Any]]], to: str) -> list[tuple[Any, list[Any]]]:
    """Output plans moved to the target layout's image folders; two outputs on one path is an error."""
    place = PLACES[to]
    seen: dict[str, str] = {}
    out = []
    for sample, outs in plans:
        moved = [replace(o, rel=place(o.rel, sample.split)) for o in outs]
        for o in moved:
            if o.rel in seen:
                raise UsageError(
                    f"--to {to}: {sample.rel} and {seen[o.rel]} would both be written as {o.rel}; rename one"
                )
            seen[o.rel] = sample.rel
        out.append((sample, moved))
    return out
