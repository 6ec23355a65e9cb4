"""YOLO-OBB (Ultralytics oriented boxes): YOLO's layout (`images/` + `labels/`, `data.yaml`), a line
per object `class x1 y1 x2 y2 x3 y3 x4 y4`, the four corners normalised to 0..1.

Detected before plain YOLO when every line of the first label files has exactly nine fields; a YOLO
segmentation set whose polygons all have four vertices looks the same, so such a set is read as
plain YOLO only when the recipe says `labels: {format: yolo}`. Corners are written clockwise (on
screen) inside 0..1 (Ultralytics drops a label file with a value outside): a rectangle that reaches
past the image edge (a box cut by it at an angle) is written as the four-corner shape closest to
its part inside (`inside_quad`), which Ultralytics fits with a rectangle when it loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from augcli.datasets.base import Codec, ConversionTarget, Dataset, LabelReadError, LabelSet, put_text_labels, read_text
from augcli.datasets.labels import ImageLabels, LabelObject, clip_polygon, polygon_area
from augcli.datasets.obb import lost, to_oriented, written_corners
from augcli.datasets.oriented import bounds, clockwise
from augcli.datasets.yolo import FORMAT as YOLO
from augcli.datasets.yolo import YoloCodec, label_rel
from augcli.store import Store

SAMPLED_FILES = 20  # label files detection reads: every line of them must have nine fields


@dataclass
class YoloObbCodec(YoloCodec):
    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        txt = label_rel(rel)
        had_file = inputs.is_file(txt)
        labels = ImageLabels(meta={"had_file": had_file})
        if not had_file:
            return labels
        path = inputs.where(txt)
        for n, line in enumerate(read_text(inputs, txt).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 9:
                raise LabelReadError(
                    f"line {n}: YOLO-OBB has class and 8 corner values, got {len(fields)} fields", path
                )
            try:
                cls, values = int(fields[0]), np.array([float(v) for v in fields[1:]])
            except ValueError:
                raise LabelReadError(f"line {n}: not numbers: {line.strip()!r}", path) from None
            corners = values.reshape(4, 2) * (width, height)
            name = self.names[cls] if 0 <= cls < len(self.names) else str(cls)
            labels.objects.append(LabelObject(name, bounds(corners), extra={"class_id": cls}, corners=corners))
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        lines, kept = [], []
        for obj in labels.objects:
            corners = written_corners(obj, width, height, labels.counts)
            if corners is None:
                labels.counts.dropped += 1  # a keypoint-only object: YOLO-OBB has no place for it
                continue
            cls = obj.extra.get("class_id", self.names.index(obj.category) if obj.category in self.names else 0)
            corners = inside_quad(corners, width, height)
            obj.corners = corners
            norm = np.clip(corners / (width, height), 0.0, 1.0)
            lines.append(f"{cls} " + " ".join(f"{v:.6f}" for v in norm.reshape(-1)))
            kept.append(obj)
        labels.objects = kept
        return put_text_labels(outputs, label_rel(image_rel), lines, labels)


def inside_quad(corners: np.ndarray, width: int, height: int) -> np.ndarray:
    """Four corners inside the image for a rectangle that reaches past its edge: the rectangle cut to
    the image, then the vertex whose triangle with its neighbours is smallest dropped until four are
    left (DOTA's devkit does the same when it tiles). A rectangle inside is returned as it is."""
    c = np.asarray(corners, np.float64)
    if c[:, 0].min() >= 0 and c[:, 1].min() >= 0 and c[:, 0].max() <= width and c[:, 1].max() <= height:
        return c
    poly = [p for p in clip_polygon(c, width, height)]
    while len(poly) > 4:
        n = len(poly)
        areas = [polygon_area(np.array([poly[i - 1], poly[i], poly[(i + 1) % n]])) for i in range(n)]
        poly.pop(int(np.argmin(areas)))
    while len(poly) < 4:  # a sliver: a triangle (or less) inside
        poly.append(poly[-1])
    return clockwise(np.array(poly), c[0])


# --------------------------------------------------------------------------- conversion into YOLO-OBB


def _place(rel: str, split: str) -> str:
    return f"images/{split}/{PurePosixPath(rel).name}"


def _target_codec(names: list[str], splits: list[str]) -> Codec:
    data: dict[str, Any] = {s: f"images/{s}" for s in splits}
    if "val" not in data:
        data["val"] = f"images/{splits[0]}"  # Ultralytics requires `val:`; this dataset has no val split
    return YoloObbCodec(list(names), "data.yaml", {**data, "names": list(names)})


def to_yolo_obb(labels: ImageLabels, names: list[str]) -> ImageLabels:
    index = {name: i for i, name in enumerate(names)}
    out = to_oriented(labels, names)
    for obj in out.objects:
        obj.extra = {"class_id": index[obj.category]}
    out.meta = {"had_file": True}
    return out


# --------------------------------------------------------------------------- the format


def _all_obb(inputs: Store, dataset: Dataset) -> bool:
    """Whether the first label files hold lines, all of nine fields."""
    seen = read = 0
    for sample in dataset.samples:
        txt = label_rel(sample.rel)
        if not inputs.is_file(txt):
            continue
        rows = [line.split() for line in read_text(inputs, txt).splitlines() if line.strip()]
        if any(len(r) != 9 for r in rows):
            return False
        seen += len(rows)
        read += 1
        if read >= SAMPLED_FILES:
            break
    return seen > 0


class YoloObbFormat:
    name = "yolo-obb"
    title = "YOLO-OBB"
    kinds = frozenset({"oriented boxes"})
    priority = 19  # YOLO's layout, tried just before plain YOLO: nine fields a line decide
    target = ConversionTarget("images/<split>/ + labels/<split>/, data.yaml", _place, _target_codec, to_yolo_obb, lost)
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        found = YOLO.detect(inputs, files, layout)
        if found is None or found.labels is None or not _all_obb(inputs, found):
            return None
        codec = found.labels.codec
        assert isinstance(codec, YoloCodec)
        if codec.data.get("kpt_shape"):
            return None
        where = codec.data_yaml or "no data.yaml: class ids kept as numbers"
        label_set = LabelSet(
            self.name,
            YoloObbCodec(codec.names, codec.data_yaml, codec.data),
            found.samples,
            ignored=found.ignored,
            description=f"{self.title} (images/ + labels/, {where})",
        )
        return Dataset(inputs, self.name, found.samples, found.ignored, label_set)

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        count = sum(
            1
            for s in dataset.samples
            if dataset.inputs.is_file(label_rel(s.rel)) and dataset.inputs.size(label_rel(s.rel)) > 0
        )
        return count, {"oriented boxes"} if count else set()

    def class_names(self, dataset: Dataset) -> list[str]:
        return YOLO.class_names(dataset)


FORMAT = YoloObbFormat()
