"""DOTA: `images/x.png` with `labelTxt/x.txt` (also `<split>/images` + `<split>/labelTxt`), a line
per object `x1 y1 x2 y2 x3 y3 x4 y4 category difficult`, corners in pixels.

Header lines (`imagesource:...`, `gsd:...`) are written back as they were; `difficult` (0 when a
line has none) stays with its object. A label file's corners are read as they are (DOTA's
quadrilaterals need not be rectangles); a moved object is written as the rectangle fitted to its
moved corners, clockwise from where its first corner went.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from augcli.datasets.base import (
    Codec,
    ConversionTarget,
    Dataset,
    LabelReadError,
    LabelSet,
    Sample,
    is_image,
    labelled,
    put_text_labels,
    read_text,
    split_of,
)
from augcli.datasets.labels import ImageLabels, LabelObject
from augcli.datasets.obb import lost, to_oriented, written_corners
from augcli.datasets.oriented import bounds
from augcli.store import Store

LABELS = "labelTxt"
SAMPLED_FILES = 50


def label_rel(image_rel: str) -> str:
    """The last `images` folder becomes `labelTxt`, the suffix `.txt`."""
    parts = list(PurePosixPath(image_rel).parts)
    i = max(k for k, p in enumerate(parts[:-1]) if p == "images")
    parts[i] = LABELS
    return PurePosixPath(*parts).with_suffix(".txt").as_posix()


@dataclass
class DotaCodec:
    names: list[str] = field(default_factory=list)

    def read(self, inputs: Store, rel: str, payload: Any, width: int, height: int) -> ImageLabels:
        txt = label_rel(rel)
        had_file = inputs.is_file(txt)
        labels = ImageLabels(meta={"had_file": had_file, "header": []})
        if not had_file:
            return labels
        path = inputs.where(txt)
        for n, line in enumerate(read_text(inputs, txt).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 9 and ":" in line:
                labels.meta["header"].append(line.rstrip())
                continue
            if len(fields) not in (9, 10):
                raise LabelReadError(f"line {n}: expected 8 corner values, a category and difficult: {line!r}", path)
            try:
                corners = np.array([float(v) for v in fields[:8]]).reshape(4, 2)
                difficult = int(fields[9]) if len(fields) == 10 else 0
            except ValueError:
                raise LabelReadError(f"line {n}: not numbers: {line.strip()!r}", path) from None
            obj = LabelObject(fields[8], bounds(corners), extra={"difficult": difficult}, corners=corners)
            labels.objects.append(obj)
        return labels

    def write(self, outputs: Store, image_rel: str, labels: ImageLabels, width: int, height: int) -> dict[str, Any]:
        lines = list(labels.meta.get("header", []))
        kept = []
        for obj in labels.objects:
            corners = written_corners(obj, width, height, labels.counts)
            if corners is None:
                labels.counts.dropped += 1  # a keypoint-only object: DOTA has no place for it
                continue
            coords = " ".join(f"{round(float(v), 2):g}" for v in corners.reshape(-1))
            lines.append(f"{coords} {obj.category} {int(obj.extra.get('difficult', 0))}")
            kept.append(obj)
        labels.objects = kept
        return put_text_labels(outputs, label_rel(image_rel), lines, labels)

    def finish(self, outputs: Store, records: list[dict[str, Any]]) -> list[str]:
        return []


# --------------------------------------------------------------------------- conversion into DOTA


def _place(rel: str, split: str) -> str:
    return f"{split}/images/{PurePosixPath(rel).name}"


def _target_codec(names: list[str], splits: list[str]) -> Codec:
    return DotaCodec(list(names))


def to_dota(labels: ImageLabels, names: list[str]) -> ImageLabels:
    out = to_oriented(labels, names)
    for obj in out.objects:
        obj.extra = {"difficult": 0}
    out.meta = {"had_file": True, "header": []}
    return out


# --------------------------------------------------------------------------- the format


class DotaFormat:
    name = "dota"
    title = "DOTA"
    kinds = frozenset({"oriented boxes"})
    priority = 18  # a labelTxt/ folder beside images/ is DOTA's own mark
    target = ConversionTarget("<split>/images/ + <split>/labelTxt/", _place, _target_codec, to_dota, lost)
    no_conversion = ""

    def detect(self, inputs: Store, files: list[str], layout: str) -> Dataset | None:
        images = [f for f in files if is_image(f) and "images" in PurePosixPath(f).parts[:-1]]
        has_labels = any(f.endswith(".txt") and LABELS in PurePosixPath(f).parts[:-1] for f in files)
        if not images or not has_labels:
            return None
        label_files = {label_rel(f) for f in images}
        samples = [Sample(rel, split_of(list(PurePosixPath(rel).parts[:-1])), None) for rel in images]
        ignored = [f for f in files if not is_image(f) and f not in label_files]
        label_set = LabelSet(
            self.name, DotaCodec(), samples, ignored=ignored, description=f"{self.title} (images/ + {LABELS}/)"
        )
        return labelled(inputs, label_set)

    def survey(self, dataset: Dataset) -> tuple[int, set[str]]:
        count = sum(1 for s in dataset.samples if dataset.inputs.is_file(label_rel(s.rel)))
        return count, {"oriented boxes"} if count else set()

    def class_names(self, dataset: Dataset) -> list[str]:
        """Categories in order of first appearance, file by file."""
        names: dict[str, None] = {}
        for sample in dataset.samples:
            txt = label_rel(sample.rel)
            if dataset.inputs.is_file(txt):
                for line in read_text(dataset.inputs, txt).splitlines():
                    fields = line.split()
                    if len(fields) in (9, 10) and ":" not in fields[0]:
                        names[fields[8]] = None
        return list(names)


FORMAT = DotaFormat()
